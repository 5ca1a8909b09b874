"""Typed evaluation results: per-network accuracies, mean ± std, and the protocol used."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from dclab.eval.protocol import EvalProtocol


@dataclass(frozen=True)
class EvalResult:
    accs: tuple[float, ...]  # test accuracy (0..1) of each of the K networks
    protocol: EvalProtocol
    dataset: str
    method: str
    ipc: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accs)

    @property
    def std(self) -> float:
        return statistics.pstdev(self.accs) if len(self.accs) > 1 else 0.0

    @property
    def protocol_text(self) -> str:
        """The protocol line, with the CPU thread count the evaluation ran on (when on CPU)."""
        return self.protocol.describe(threads=self.extra.get("threads"))

    def summary(self) -> str:
        return f"{100 * self.mean:.2f} ± {100 * self.std:.2f} %  [{self.protocol_text}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "std": self.std,
            "accs": list(self.accs),
            "protocol": self.protocol.to_dict(),
            "protocol_text": self.protocol_text,
            "dataset": self.dataset,
            "method": self.method,
            "ipc": self.ipc,
            "seconds": self.seconds,
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalResult:
        """The inverse of `to_dict` (the payoff's cached whole-set bar is stored this way)."""
        return cls(accs=tuple(float(a) for a in d["accs"]), protocol=EvalProtocol(**d["protocol"]),
                   dataset=str(d["dataset"]), method=str(d["method"]), ipc=int(d["ipc"]),
                   seconds=float(d["seconds"]), extra=dict(d.get("extra", {})))

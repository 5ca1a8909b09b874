"""The published accuracy tables as data: (method, data set, IPC) -> accuracy ± std, with its source.

Numbers are ConvNet test accuracies (%) as printed in the papers; the protocol that produced
them is the method's `published_protocol` (see `dclab.eval.published`). Where a paper's number
is not a ConvNet-trained-on-the-set accuracy, `note` says what it is.
"""
from __future__ import annotations

from dataclasses import dataclass

DC_TABLE1 = "DC paper (Zhao et al., ICLR 2021) Table 1"
DM_TABLE1 = "DM paper (Zhao & Bilen, WACV 2023) Table 1"
DSA_TABLE = "DSA paper (Zhao & Bilen, ICML 2021) Table 2 (as reprinted in DM Table 1)"


@dataclass(frozen=True)
class PublishedResult:
    method: str
    dataset: str
    ipc: int
    accuracy: float  # percent
    std: float | None
    source: str
    note: str = ""

    def text(self) -> str:
        std = f" ± {self.std:.1f}" if self.std is not None else ""
        return f"{self.accuracy:.1f}{std} %"


def _rows(method: str, dataset: str, source: str, values: dict[int, tuple[float, float | None]],
          note: str = "") -> list[PublishedResult]:
    return [PublishedResult(method, dataset, ipc, acc, std, source, note) for ipc, (acc, std) in values.items()]


PUBLISHED: tuple[PublishedResult, ...] = tuple(
    _rows("dc", "mnist", DC_TABLE1, {1: (91.7, 0.5), 10: (97.4, 0.2), 50: (98.8, 0.2)})
    + _rows("dc", "fashion_mnist", DC_TABLE1, {1: (70.5, 0.6), 10: (82.3, 0.4), 50: (83.6, 0.4)})
    + _rows("dc", "svhn", DC_TABLE1, {1: (31.2, 1.4), 10: (76.1, 0.6), 50: (82.3, 0.3)})
    + _rows("dc", "cifar10", DC_TABLE1, {1: (28.3, 0.5), 10: (44.9, 0.5), 50: (53.9, 0.5)})
    + _rows("dsa", "mnist", DSA_TABLE, {1: (88.7, 0.6), 10: (97.8, 0.1), 50: (99.2, 0.1)})
    + _rows("dsa", "cifar10", DSA_TABLE, {1: (28.8, 0.7), 10: (52.1, 0.5), 50: (60.6, 0.5)})
    + _rows("dsa", "cifar100", DSA_TABLE, {1: (13.9, 0.3), 10: (32.3, 0.3), 50: (42.8, 0.4)})
    + _rows("dm", "mnist", DM_TABLE1, {1: (89.7, 0.6), 10: (97.5, 0.1), 50: (98.6, 0.1)})
    + _rows("dm", "cifar10", DM_TABLE1, {1: (26.0, 0.8), 10: (48.9, 0.6), 50: (63.0, 0.4)})
    + _rows("dm", "cifar100", DM_TABLE1, {1: (11.4, 0.3), 10: (29.7, 0.3), 50: (43.6, 0.4)})
    + _rows("mtt", "cifar10", "MTT paper (Cazenavette et al., CVPR 2022) Table 1",
            {1: (46.3, 0.8), 10: (65.3, 0.7), 50: (71.6, 0.2)})
    + _rows("dd", "mnist", f"{DM_TABLE1} (DD†, from the DD paper)", {10: (79.5, 8.1)},
            note="DD's own replay protocol with random init (LeNet)")
    + _rows("dd", "cifar10", f"{DM_TABLE1} (DD†, from the DD paper)", {10: (36.8, 1.2)},
            note="DD's own replay protocol with random init (AlexCifarNet)")
    + _rows("kip", "cifar10", "KIP-ConvNet paper (Nguyen et al., NeurIPS 2021)", {10: (62.7, None)},
            note="finite ConvNet trained on a set learned with a ConvNet kernel; dclab's KIP uses an FC kernel")
    + _rows("mdc", "cifar10", "MDC paper (He et al., ICLR 2024)", {10: (59.55, None)},
            note="mean over subset sizes 1..10 of one IPC-10 set, on IDC (factor 2)")
    + _rows("random", "mnist", DC_TABLE1, {1: (64.9, 3.5), 10: (95.1, 0.9), 50: (97.9, 0.2)})
    + _rows("herding", "mnist", DC_TABLE1, {1: (89.2, 1.6), 10: (93.7, 0.3), 50: (94.9, 0.2)})
    + _rows("kcenter", "mnist", DC_TABLE1, {1: (89.3, 1.5), 10: (84.4, 1.7), 50: (97.4, 0.3)})
    + _rows("forgetting", "mnist", DC_TABLE1, {1: (35.5, 5.6), 10: (68.1, 3.3), 50: (88.2, 1.2)})
    + _rows("random", "cifar10", DC_TABLE1, {1: (14.4, 2.0), 10: (26.0, 1.2), 50: (43.4, 1.0)})
    + _rows("herding", "cifar10", DC_TABLE1, {1: (21.5, 1.2), 10: (31.6, 0.7), 50: (40.4, 0.6)})
    + _rows("kcenter", "cifar10", DC_TABLE1, {1: (21.5, 1.3), 10: (14.7, 0.9), 50: (27.0, 1.4)})
    + _rows("forgetting", "cifar10", DC_TABLE1, {1: (13.5, 1.2), 10: (23.3, 1.0), 50: (23.3, 1.1)})
)


def find_published(method: str, dataset: str, ipc: int) -> PublishedResult:
    """The published entry; a one-line ValueError naming what is tabulated otherwise."""
    for row in PUBLISHED:
        if (row.method, row.dataset, row.ipc) == (method, dataset.lower(), ipc):
            return row
    have = sorted({f"{r.dataset} IPC {r.ipc}" for r in PUBLISHED if r.method == method})
    listed = ", ".join(have) if have else "nothing"
    raise ValueError(f"no published number for {method} on {dataset} at IPC {ipc}; tabulated for {method}: {listed}")

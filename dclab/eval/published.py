"""`resolve_protocol`: the evaluation protocol a set is judged by, by default its paper's own.

The preset `published` stands for the protocol behind the method's published numbers
(`CondensationMethod.published_protocol`, or `coreset_published_protocol` for a coreset). On a
CPU (`budget="cpu"`) it is scaled to fewer networks/epochs, and the scaling is written into the
protocol's `source`, so `describe()` says it beside every number. Any other preset is built as is.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from dclab.eval.protocol import PUBLISHED, EvalProtocol
from dclab.presets import resolve_budget

CPU_MODELS = 3  # networks K on a CPU (papers: 20 per set, here a mean over 3)
CPU_EPOCHS = 300  # epochs per network on a CPU (papers: 300 or 1000)
BN_AUG = ("crop_noise", 1000, "authors' get_daparam: ConvNetBN evaluated with crop_noise, 1000 epochs")


def published_fields(method: str, dataset: str, ipc: int) -> tuple[dict[str, Any], str]:
    """(EvalProtocol overrides, source) of `method` (a registered method or coreset) on (dataset, ipc)."""
    from dclab.coresets.registry import CORESETS, coreset_published_protocol
    from dclab.methods._base import METHODS, CondensationMethod

    if method in METHODS.names():
        return METHODS.get(method).published_protocol(dataset, ipc)
    if method in CORESETS.names():
        return coreset_published_protocol(method, dataset, ipc)
    fields, source = CondensationMethod.published_protocol(dataset, ipc)
    return fields, f"{source} (no published protocol for {method!r}: the plain one)"


def resolve_protocol(
    preset: str | None,
    *,
    method: str,
    dataset: str,
    ipc: int,
    overrides: Mapping[str, Any] | None = None,
    budget: str = "auto",
    device: str | torch.device = "auto",
) -> EvalProtocol:
    """The protocol named by `preset` for a set of `method` on (dataset, ipc); `overrides` win last.

    preset `published`: the method's own protocol (BatchNorm nets with DC's crop_noise when the
    method's protocol has no augmentation, as the authors' code does), scaled on a CPU budget.
    """
    overrides = dict(overrides or {})
    if preset != PUBLISHED:
        return EvalProtocol.build(preset, overrides)
    fields, source = published_fields(method, dataset, ipc)
    values: dict[str, Any] = {**fields}
    norm = overrides.get("norm", values.get("norm"))
    net = str(overrides.get("net", values.get("net", "")))
    if (norm == "batchnorm" or net.endswith("_bn")) and values.get("augment", "none") == "none":
        values["augment"], values["epochs"] = BN_AUG[0], BN_AUG[1]
        source = f"{source}; {BN_AUG[2]}"
    full = EvalProtocol.build(PUBLISHED, values)
    if resolve_budget(budget, device) == "cpu":
        models, epochs = min(full.models, CPU_MODELS), min(full.epochs, CPU_EPOCHS)
        cuts = [f"K {full.models}->{models}"] if models != full.models else []
        cuts += [f"{full.epochs}->{epochs} ep"] if epochs != full.epochs else []
        if cuts:
            source = f"{source}; scaled for CPU: {', '.join(cuts)}"
        values.update(models=models, epochs=epochs)
    changed = [f"{k}={v}" for k, v in overrides.items() if k not in ("seed", "source")]
    if changed:
        source = f"{source}; changed: {', '.join(changed)}"
    values.update(overrides)
    values.setdefault("source", source)
    return EvalProtocol.build(PUBLISHED, values)


def protocol_for_set(
    synthetic: Any, preset: str | None, *, overrides: Mapping[str, Any] | None = None,
    budget: str = "auto", device: str | torch.device = "auto",
) -> EvalProtocol:
    """`resolve_protocol` for a SyntheticSet (its method, data set and IPC)."""
    return resolve_protocol(preset, method=synthetic.method, dataset=synthetic.dataset, ipc=synthetic.ipc,
                            overrides=overrides, budget=budget, device=device)


def resolve_settings(
    settings: Mapping[str, Any], *, method: str, dataset: str, ipc: int, default_preset: str = PUBLISHED,
    device: str | torch.device = "auto",
) -> EvalProtocol:
    """A protocol from form/CLI settings {"preset": name, **field overrides} for one set."""
    values = dict(settings)
    preset = values.pop("preset", None) or default_preset
    return resolve_protocol(preset, method=method, dataset=dataset, ipc=ipc, overrides=values, device=device)

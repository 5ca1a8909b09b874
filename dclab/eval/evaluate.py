"""`evaluate_synthetic`: the evaluation protocol end to end (K fresh nets -> accuracies on real test).

Net i's initial weights, batch order and augmentation draws all come from one generator seeded by
(protocol.seed, i), so the batched and the loop path compute the same K networks, and a
result is reproducible from its protocol.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor, nn

from dclab.augment.dc import DC_STRATEGIES, dc_augment
from dclab.augment.dsa import dsa_augment, resolve_dsa_strategy
from dclab.data.bundle import DatasetBundle
from dclab.device import prefers_batched, resolve_device
from dclab.eval.batched import can_batch, test_accuracies_batched, train_classifiers_batched
from dclab.eval.protocol import EvalProtocol
from dclab.eval.result import EvalResult
from dclab.eval.train import Augment, test_accuracy, train_classifier
from dclab.nets import get_net, net_option_names
from dclab.nets.layers import has_batchnorm
from dclab.progress import Progress
from dclab.seeding import derive_seed, make_generator
from dclab.synthetic import SyntheticSet
from dclab.threads import threads_in_use


def model_generator(seed: int, index: int) -> torch.Generator:
    """The generator of net `index`: seeds its init, then its batch order and augmentation."""
    digest = hashlib.sha256(f"dclab-eval:{seed}:{index}".encode()).digest()
    return make_generator(int.from_bytes(digest[:8], "little") >> 1)


def build_eval_net(
    data: DatasetBundle, protocol: EvalProtocol, seed: int, *, pass_norm: bool = True,
    net_options: dict[str, Any] | None = None,
) -> nn.Module:
    """protocol.net with protocol.norm.

    Nets without a `norm` option, and `*_bn` variants (whose name fixes BatchNorm), are built with
    their own norm; `infer_norm` then names it. net_options: further architecture options, e.g.
    {"width": 32} for a smaller ConvNet.
    """
    options = dict(net_options or {})
    if pass_norm and not protocol.net.endswith("_bn") and "norm" in net_option_names(protocol.net):
        options["norm"] = protocol.norm
    return get_net(protocol.net, channels=data.channels, num_classes=data.num_classes,
                   image_size=data.image_size, seed=seed, **options)


def _check_fits(synthetic: SyntheticSet, data: DatasetBundle) -> None:
    if tuple(synthetic.images.shape[1:]) != data.shape:
        raise ValueError(f"images of shape {tuple(synthetic.images.shape[1:])} do not fit {data.name} {data.shape}")
    if synthetic.num_classes != data.num_classes:
        raise ValueError(f"set has {synthetic.num_classes} classes, {data.name} has {data.num_classes}")


def _targets(synthetic: SyntheticSet) -> Tensor:
    """(N,) int labels, or (N, classes) soft targets when the set learned its labels."""
    return synthetic.labels if synthetic.soft_labels is None else transfer_targets(synthetic.soft_labels)


TRANSFER_LOSS = "soft cross-entropy on learned labels clipped at 0 and renormalised per row (bounded below by 0)"


def transfer_targets(soft: Tensor) -> Tensor:
    """Learned labels (N, classes) -> probability rows for training a finite net.

    Learned labels (KIP) may go negative; cross-entropy −Σ y log p against a negative y is
    unbounded below (the net drives that p to 0). Clipping at 0 and renormalising makes every row
    a distribution, so the loss is ≥ its entropy ≥ 0. A row with no positive entry becomes uniform.
    """
    pos = soft.clamp_min(0.0)
    total = pos.sum(1, keepdim=True)
    uniform = torch.full_like(pos, 1.0 / pos.shape[1])
    return torch.where(total > 0, pos / total.clamp_min(1e-12), uniform)


def training_lr(synthetic: SyntheticSet, protocol: EvalProtocol) -> float:
    """protocol.lr, or with lr_source 'learned' the step size the method learned (extras['syn_lr'])."""
    if protocol.lr_source != "learned":
        return protocol.lr
    lr = synthetic.extras.get("syn_lr")
    if lr is None:
        raise ValueError(f"the protocol trains with the learned lr, but this {synthetic.method} set has none "
                         f"(extras['syn_lr']); use lr_source=fixed")
    return float(lr)


def evaluate_synthetic(
    synthetic: SyntheticSet,
    data: DatasetBundle,
    protocol: EvalProtocol,
    device: str | torch.device = "auto",
    progress: Progress | None = None,
    batched: bool | None = None,
    stop: threading.Event | None = None,
    *,
    net_options: dict[str, Any] | None = None,
) -> EvalResult:
    """Train protocol.models fresh nets on `synthetic`, test each on data's test set.

    batched: True trains the K nets at once with torch.func when the net allows (else one by one,
    automatically); False one by one (the loop); None (default) = the device rule
    (`dclab.device.prefers_batched`: batched on an accelerator, the loop on CPU).
    progress(done, total) counts net-epochs; a set `stop` ends early (extra["stopped"] = True; only
    finished nets are tested, or the partly trained ones when none finished).
    net_options: extra architecture options for get_net (e.g. {"width": 32}); kept in result.extra.
    """
    return _evaluate(synthetic, data, protocol, device, progress, batched, stop, pass_norm=True,
                     net_options=net_options)


def _evaluate(
    synthetic: SyntheticSet,
    data: DatasetBundle,
    protocol: EvalProtocol,
    device: str | torch.device,
    progress: Progress | None,
    batched: bool | None,
    stop: threading.Event | None,
    *,
    pass_norm: bool,
    net_options: dict[str, Any] | None,
) -> EvalResult:
    protocol.validate()
    _check_fits(synthetic, data)
    synthetic = synthetic.decoded()  # multi-formation sets (IDC) train on their decoded images
    dev = resolve_device(device)
    started = time.perf_counter()
    x = synthetic.images.detach().to(dev)  # (N, C, H, W)
    y = _targets(synthetic).detach().to(dev)
    x_test, y_test = data.x_test.to(dev), data.y_test.to(dev)
    strategy = resolve_dsa_strategy(protocol.dsa_strategy, data.name) if protocol.augment == "dsa" else None
    lr = training_lr(synthetic, protocol)

    k_models, epochs = protocol.models, protocol.epochs
    gens = [model_generator(protocol.seed, i) for i in range(k_models)]
    nets = [build_eval_net(data, protocol, derive_seed(g), pass_norm=pass_norm,
                           net_options=net_options).to(dev) for g in gens]
    protocol = replace(protocol, norm=infer_norm(nets[0]))  # state the norm actually trained
    augments: list[Augment] | None = None
    if strategy is not None:
        augments = [_dsa(strategy, g) for g in gens]
    elif protocol.augment in DC_STRATEGIES:
        augments = [_dc(protocol.augment, g) for g in gens]
    total = k_models * epochs
    report = progress or (lambda done, tot: None)
    report(0, total)
    opt = dict(lr=lr, momentum=protocol.momentum, weight_decay=protocol.weight_decay,
               batch_size=protocol.batch_size)

    if batched is None:
        batched = prefers_batched(dev)
    batched = bool(batched) and k_models > 1 and can_batch(nets[0], x[:2])
    if batched:
        train_classifiers_batched(
            nets, x, y, epochs=epochs, generators=gens, augments=augments, stop=stop,
            on_epoch=lambda e, _: report(e * k_models, total), **opt,
        )
        stopped = stop is not None and stop.is_set()
        accs = test_accuracies_batched(nets, x_test, y_test)
    else:
        accs, stopped = [], False
        for i, net in enumerate(nets):
            train_classifier(
                net, x, y, epochs=epochs, generator=gens[i], stop=stop,
                augment=None if augments is None else augments[i],
                on_epoch=lambda e, _, i=i: report(i * epochs + e, total), **opt,
            )
            stopped = stop is not None and stop.is_set()
            if stopped and accs:
                break  # net i is unfinished; report the finished ones
            accs.append(test_accuracy(net, x_test, y_test))
            if stopped:
                break
    if not stopped:
        report(total, total)
    extra: dict[str, Any] = {"batched": batched, "device": str(dev)}
    if dev.type == "cpu":
        extra["threads"] = threads_in_use()
    if net_options:
        extra["net_options"] = dict(net_options)
    if stopped:
        extra["stopped"] = True
    if strategy is not None:
        extra["dsa_strategy"] = strategy
    if protocol.lr_source == "learned":
        extra["learned_lr"] = lr
    if synthetic.soft_labels is not None:
        extra["transfer_loss"] = TRANSFER_LOSS
    return EvalResult(
        accs=tuple(accs), protocol=protocol, dataset=data.name, method=synthetic.method,
        ipc=synthetic.ipc, seconds=time.perf_counter() - started, extra=extra,
    )


def _dsa(strategy: str, generator: torch.Generator) -> Augment:
    return lambda xb: dsa_augment(xb, strategy, generator)


def _dc(strategy: str, generator: torch.Generator) -> Augment:
    return lambda xb: dc_augment(xb, strategy, generator)


def infer_norm(net: nn.Module) -> str:
    """The protocol name of the normalisation layer a built net uses (for describing results)."""
    if has_batchnorm(net):
        return "batchnorm"
    for m in net.modules():
        if isinstance(m, nn.GroupNorm):
            return "instancenorm" if m.num_groups == m.num_channels else "groupnorm"
        if isinstance(m, nn.LayerNorm):
            return "layernorm"
    return "none"


def evaluate_cross_arch(
    synthetic: SyntheticSet,
    data: DatasetBundle,
    protocol: EvalProtocol,
    nets: list[str],
    device: str | torch.device = "auto",
    progress: Progress | None = None,
    *,
    batched: bool | None = None,
    net_options: dict[str, dict[str, Any]] | None = None,
) -> dict[str, EvalResult]:
    """`evaluate_synthetic` with each net in `nets`.

    protocol.norm applies to protocol.net only; other names keep their own default norm (e.g.
    convnet_bn stays BatchNorm), and each result's protocol states the norm actually used.
    batched: as in `evaluate_synthetic`; net_options: per-net options, {net name: {option: value}}.
    """
    results: dict[str, EvalResult] = {}
    total = len(nets) * protocol.models * protocol.epochs
    for j, name in enumerate(nets):
        same = name == protocol.net
        opts = (net_options or {}).get(name)
        proto = replace(protocol, net=name)
        offset = j * protocol.models * protocol.epochs
        sub = None if progress is None else (lambda d, _t, o=offset: progress(o + d, total))
        results[name] = _evaluate(synthetic, data, proto, device, sub, batched, None, pass_norm=same,
                                  net_options=opts)
    return results

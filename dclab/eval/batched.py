"""Batched path: train K networks at once with `torch.func` (one forward/backward for all K).

Parameters of the K nets are stacked (`stack_module_state`); `vmap(grad(functional_call))` gives
every net's gradient on its own mini-batch; the SGD update is written on the stacked tensors and
matches `torch.optim.SGD` (dampening 0, no Nesterov) step for step, including the momentum reset
at the lr drop. Nets vmap cannot run (BatchNorm running statistics, dropout, ...) are detected by
`can_batch` and the caller falls back to the loop in `dclab/eval/train.py`.
"""
from __future__ import annotations

import copy
import threading
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, stack_module_state, vmap

from dclab.eval.train import Augment, batch_order, classification_loss, lr_at_epoch, momentum_resets_at
from dclab.nets.layers import has_batchnorm


def can_batch(net: nn.Module, sample: Tensor) -> bool:
    """True when `net` has no running-statistics buffers and one vmapped grad step works on `sample`.

    sample: (B, C, H, W) a few inputs on the net's device.
    """
    if has_batchnorm(net):
        return False  # train-mode BN updates buffers in place: not expressible under vmap
    try:
        params, buffers = stack_module_state([net, net])
        base = copy.deepcopy(net).to("meta")

        def loss(p, b, xb):
            return functional_call(base, (p, b), (xb,)).sum()

        vmap(grad(loss), in_dims=(0, 0, None))(params, buffers, sample)
    except Exception:  # any op vmap does not support -> sequential path
        return False
    return True


def _sgd_step(
    params: dict[str, Tensor], grads: dict[str, Tensor], bufs: dict[str, Tensor],
    lr: float, momentum: float, weight_decay: float,
) -> None:
    """torch.optim.SGD on stacked params (K, ...): d = g + wd*p; buf = m*buf + d; p -= lr*buf."""
    for name, p in params.items():
        d = grads[name] + weight_decay * p
        bufs[name].mul_(momentum).add_(d)  # first step: buf = d, as torch initialises it
        p.sub_(lr * bufs[name])


def train_classifiers_batched(
    nets: list[nn.Module],
    x: Tensor,
    y: Tensor,
    *,
    epochs: int,
    generators: list[torch.Generator],
    augments: list[Augment] | None = None,
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    batch_size: int = 256,
    on_epoch: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> list[nn.Module]:
    """Train K same-architecture nets in place, net k with its own batch order (generators[k])
    and augmentation (augments[k]); same maths as K calls of `train_classifier`.

    x: (N, C, H, W) on the nets' device; y: (N,) int labels or (N, classes) soft targets.
    """
    k_models = len(nets)
    if len(generators) != k_models or (augments is not None and len(augments) != k_models):
        raise ValueError("need one generator (and one augment) per network")
    for net in nets:
        net.train()
    params, buffers = stack_module_state(nets)  # name -> (K, ...)
    params = {n: p.detach().clone() for n, p in params.items()}
    base = copy.deepcopy(nets[0]).to("meta")

    def loss_fn(p: dict[str, Tensor], b: dict[str, Tensor], xb: Tensor, yb: Tensor) -> Tensor:
        return classification_loss(functional_call(base, (p, b), (xb,)), yb)

    grad_fn = vmap(grad(loss_fn), in_dims=(0, 0, 0, 0))  # each net gets its own batch
    bufs = {n: torch.zeros_like(p) for n, p in params.items()}
    stopped = False
    for epoch in range(epochs):
        if momentum_resets_at(epoch, epochs):
            for b in bufs.values():
                b.zero_()
        lr_now = lr_at_epoch(epoch, epochs, lr)
        orders = [batch_order(x.shape[0], batch_size, g) for g in generators]  # K x [(B,) ...]
        for step in range(len(orders[0])):
            if stop is not None and stop.is_set():
                stopped = True
                break
            batches = []
            for k in range(k_models):
                xb = x[orders[k][step].to(x.device)]
                batches.append(augments[k](xb) if augments is not None else xb)
            xb = torch.stack(batches)  # (K, B, C, H, W)
            yb = torch.stack([y[o[step].to(y.device)] for o in orders])  # (K, B) or (K, B, classes)
            grads = grad_fn(params, buffers, xb, yb)
            with torch.no_grad():
                _sgd_step(params, grads, bufs, lr_now, momentum, weight_decay)
        if stopped:
            break
        if on_epoch is not None:
            on_epoch(epoch + 1, epochs)
    _unstack_into(nets, params)
    return nets


@torch.no_grad()
def _unstack_into(nets: list[nn.Module], params: dict[str, Tensor]) -> None:
    """Copy stacked params (K, ...) back into the K modules."""
    for k, net in enumerate(nets):
        for name, p in net.named_parameters():
            p.copy_(params[name][k])


@torch.no_grad()
def test_accuracies_batched(nets: list[nn.Module], x: Tensor, y: Tensor, batch_size: int = 1000) -> list[float]:
    """Accuracy of each of K same-architecture nets on (x, y): one vmapped forward per test batch."""
    for net in nets:
        net.eval()
    params, buffers = stack_module_state(nets)
    base = copy.deepcopy(nets[0]).to("meta")

    def forward(p: dict[str, Tensor], b: dict[str, Tensor], xb: Tensor) -> Tensor:
        return functional_call(base, (p, b), (xb,))

    device = next(nets[0].parameters()).device
    correct = torch.zeros(len(nets), dtype=torch.long, device=device)
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size].to(device)
        yb = y[start:start + batch_size].to(device)
        logits = vmap(forward, in_dims=(0, 0, None))(params, buffers, xb)  # (K, B, classes)
        correct += (logits.argmax(dim=2) == yb.unsqueeze(0)).sum(dim=1)
    for net in nets:
        net.train()
    return [int(c) / max(int(x.shape[0]), 1) for c in correct.tolist()]

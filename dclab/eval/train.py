"""Sequential reference path: train one classifier with the evaluation-protocol optimiser, test it.

The batched path (`dclab/eval/batched.py`) must compute exactly what this file computes; the
tests compare the two.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dclab.device import conv_layout

Augment = Callable[[Tensor], Tensor]


def lr_at_epoch(epoch: int, epochs: int, lr: float) -> float:
    """Protocol schedule: lr until epochs // 2, then lr x 0.1 (for runs of 2+ epochs)."""
    return lr * 0.1 if epochs > 1 and epoch >= epochs // 2 else lr


def momentum_resets_at(epoch: int, epochs: int) -> bool:
    """The reference code builds a new optimiser at the lr drop, which clears the momentum."""
    return epochs > 1 and epoch == epochs // 2


def classification_loss(logits: Tensor, y: Tensor) -> Tensor:
    """Cross-entropy; y is (B,) int labels or (B, classes) soft targets (soft CE -sum y log p)."""
    return F.cross_entropy(logits, y)


def batch_order(n: int, batch_size: int, generator: torch.Generator) -> list[Tensor]:
    """One epoch's shuffled mini-batches of indices (CPU), drawn from `generator`."""
    perm = torch.randperm(n, generator=generator)
    return list(perm.split(batch_size))


def train_classifier(
    net: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    epochs: int,
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    batch_size: int = 256,
    generator: torch.Generator,
    augment: Augment | None = None,
    on_epoch: Callable[[int, int], None] | None = None,
    on_batch: Callable[[Tensor, Tensor], None] | None = None,
    stop: threading.Event | None = None,
) -> nn.Module:
    """Train `net` in place on (x, y) with SGD (momentum, weight decay), lr x0.1 at epochs // 2.

    x: (N, C, H, W) on the net's device; y: (N,) int64 or (N, classes) soft targets.
    augment(batch) is applied to every mini-batch; on_epoch(epoch_done, epochs) after each epoch;
    on_batch(batch_indices, logits) after each step (e.g. forgetting counts); a set `stop` returns early.
    """
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    for epoch in range(epochs):
        if momentum_resets_at(epoch, epochs):
            opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
        for group in opt.param_groups:
            group["lr"] = lr_at_epoch(epoch, epochs, lr)
        for idx in batch_order(x.shape[0], batch_size, generator):
            if stop is not None and stop.is_set():
                return net
            dev_idx = idx.to(x.device)
            xb, yb = x[dev_idx], y[dev_idx]
            if augment is not None:
                xb = augment(xb)
            logits = net(xb)  # (B, classes)
            loss = classification_loss(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if on_batch is not None:
                on_batch(idx, logits.detach())
        if on_epoch is not None:
            on_epoch(epoch + 1, epochs)
    return net


@torch.inference_mode()
def test_accuracy(net: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1000) -> float:
    """Fraction of (x, y) classified correctly (eval mode; the net's previous mode is restored).

    Under inference_mode: no autograd bookkeeping at all (its rate: benchmarks/roofline.py, "test pass")."""
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    layout = conv_layout(device) if x.dim() == 4 else torch.contiguous_format
    net.to(memory_format=layout)
    correct = 0
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size].to(device).contiguous(memory_format=layout)
        yb = y[start:start + batch_size].to(device)
        correct += int((net(xb).argmax(dim=1) == yb).sum().item())
    net.to(memory_format=torch.contiguous_format)
    net.train(was_training)
    return correct / max(int(x.shape[0]), 1)

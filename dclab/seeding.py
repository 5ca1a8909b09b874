"""Explicit random state: every random draw in dclab goes through a seeded torch.Generator."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator seeded with `seed`. CPU generators are used for index sampling everywhere."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def derive_seed(generator: torch.Generator) -> int:
    """Draw a fresh 63-bit seed from `generator` (e.g. to initialise a new network)."""
    return int(torch.randint(0, 2**62, (1,), generator=generator).item())


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's global RNG seeded, restoring the outer RNG state afterwards.

    Parameter initialisation in torch.nn uses the global RNG; this makes it explicit and local.
    """
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield

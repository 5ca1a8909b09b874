"""Benchmarks (`python -m benchmarks.<name>`): they measure dclab as its entry points run it, so the
process gets the same set-up as the CLI and the app (the memory policy of `dclab/allocator.py`)."""
from dclab.allocator import retain_freed_memory

retain_freed_memory()

"""`python -m dclab`: argparse front end that discovers every `dclab/cli/*_cmd.py` sub-command.

A sub-command module has `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`.
User errors become one line `error: ...` on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from dclab.errors import USER_ERROR_EXIT, guarded


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (`error: ...`), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USER_ERROR_EXIT, f"error: {message} (see {self.prog} --help)\n")


def discover_commands() -> list[ModuleType]:
    """Every `*_cmd` module of this package, sorted by command name."""
    import dclab.cli as package

    mods = [importlib.import_module(f"{package.__name__}.{m.name}")
            for m in pkgutil.iter_modules(package.__path__) if m.name.endswith("_cmd")]
    return sorted(mods, key=lambda m: m.NAME)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m dclab", description="dclab: dataset condensation lab (CLI)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for mod in discover_commands():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from dclab.allocator import retain_freed_memory

    args = build_parser().parse_args(argv)
    retain_freed_memory()  # freed activations stay in the process for the next step (dclab/allocator.py)
    return guarded(lambda: args._run(args))


"""`python -m dclab`: argparse front end that discovers every `dclab/cli/*_cmd.py` sub-command.

A sub-command module has `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`.
User errors become one line `error: ...` on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from dclab.errors import USER_ERROR_EXIT, guarded, one_line


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
    return guarded(lambda: _run_in_world(args))


def _run_in_world(args: argparse.Namespace) -> int:
    """The command, inside torchrun's process group when launched by torchrun (else as it is)."""
    from dclab.distributed import RankLostError, world_session

    with world_session(getattr(args, "device", "auto")):
        try:
            return int(args._run(args) or 0)
        except RankLostError as e:  # another rank died: one line, exit 1 (the run folder keeps its checkpoint)
            print(f"error: {one_line(e)}", file=sys.stderr)
            return 1


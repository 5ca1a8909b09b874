"""`python -m dclab`: argparse front end that discovers every `dclab/cli/*_cmd.py` sub-command.

A sub-command module has `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`.
User errors become one line `error: ...` on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import NoReturn

from dclab.distributed.collectives import RankLostError

USER_ERROR_EXIT = 2


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (`error: ...`), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USER_ERROR_EXIT, f"error: {message} (see {self.prog} --help)\n")


def user_error_types() -> tuple[type[BaseException], ...]:
    from dclab.config import ConfigError
    from dclab.data.errors import DatasetUnavailableError
    from dclab.registry import UnknownNameError
    from dclab.runs.store import RunNotFoundError

    # OSError: an --out that is a file, unwritable, a name too long, a full disk: the user's to fix
    return (ConfigError, UnknownNameError, DatasetUnavailableError, RunNotFoundError, ValueError, OSError)


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


def one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"
    return " ".join(text.split())


def guarded(entry: Callable[[], int | None]) -> int:
    """Run a command's body: a user error prints one line and exits 2, never a traceback.
    (Benchmark scripts use it too.)"""
    try:
        return int(entry() or 0)
    except user_error_types() as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return USER_ERROR_EXIT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except RankLostError as e:  # torchrun: another rank died; the run folder says what was kept
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    from dclab.allocator import retain_freed_memory

    args = build_parser().parse_args(argv)
    retain_freed_memory()  # freed activations stay in the process for the next step (dclab/allocator.py)
    return guarded(lambda: _run_in_world(args))


def _run_in_world(args: argparse.Namespace) -> int:
    """The command, inside torchrun's process group when launched by torchrun (else as it is)."""
    from dclab.distributed import world_session

    with world_session(getattr(args, "device", "auto")):
        return int(args._run(args) or 0)


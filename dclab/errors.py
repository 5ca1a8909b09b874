"""User errors: the exception types a user can fix, and how each front end shows one (one line).

The CLI (`dclab.cli.main`), the benchmarks and the app (`ui/state.py`) share this list, so a bad
setting reads the same everywhere: one line, never a traceback (CLI and benchmarks exit 2).
"""
from __future__ import annotations

import sys
from collections.abc import Callable

USER_ERROR_EXIT = 2


def user_error_types() -> tuple[type[BaseException], ...]:
    """ConfigError, UnknownNameError, DatasetUnavailableError, RunNotFoundError, ValueError, OSError."""
    from dclab.config import ConfigError
    from dclab.data.errors import DatasetUnavailableError
    from dclab.registry import UnknownNameError
    from dclab.runs.store import RunNotFoundError

    # OSError: an --out that is a file, unwritable, a name too long, a full disk: the user's to fix
    return (ConfigError, UnknownNameError, DatasetUnavailableError, RunNotFoundError, ValueError, OSError)


def one_line(exc: BaseException) -> str:
    """The message of a user error on one line (an OSError as 'reason: file')."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"
    return " ".join(text.split())


def guarded(entry: Callable[[], int | None]) -> int:
    """Run a command's body (CLI sub-command or benchmark): a user error prints one line
    `error: ...` on stderr and returns 2, never a traceback; Ctrl-C returns 130."""
    try:
        return int(entry() or 0)
    except user_error_types() as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return USER_ERROR_EXIT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130

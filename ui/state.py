"""Server-wide state every page shares: the job registries, the runs folder, and error display.

The registries live in `st.cache_resource`, so jobs survive a browser reload and are visible
from every tab. Worker threads never call `st.*`; pages read their snapshots.
(Not a page: `ui/` sits beside app.py, so Streamlit never lists it.)
"""
from __future__ import annotations

import contextlib
import os
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamlit as st

from dclab.errors import one_line, user_error_types
from dclab.jobs import JobManager
from dclab.jobs.eval_job import EvalBoard
from dclab.runs import RunDir, RunNotFoundError
from dclab.runs.record import read_record

RUNS_ENV, MAX_JOBS_ENV = "DCLAB_RUNS", "DCLAB_MAX_JOBS"
LIVE_JOB_STATUSES = ("queued", "running", "paused")
CURRENT_RUN = "current_run"  # session_state key: the run the Condense page shows

# every registry handed out, so tests can stop their threads before clearing the cache
OPEN_REGISTRIES: weakref.WeakSet[Any] = weakref.WeakSet()


def runs_root() -> str:
    return os.environ.get(RUNS_ENV) or "runs"


@st.cache_resource(show_spinner=False)
def _job_manager(root: str, max_jobs: int) -> JobManager:
    manager = JobManager(Path(root), max_running_per_device=max_jobs)
    OPEN_REGISTRIES.add(manager)
    return manager


def job_manager() -> JobManager:
    """The process-wide JobManager rooted at $DCLAB_RUNS (or ./runs); $DCLAB_MAX_JOBS jobs at once (2)."""
    try:
        max_jobs = max(1, int(os.environ.get(MAX_JOBS_ENV, "2")))
    except ValueError:
        max_jobs = 2
    return _job_manager(runs_root(), max_jobs)


@st.cache_resource(show_spinner=False)
def _eval_board(root: str) -> EvalBoard:
    board = EvalBoard()
    OPEN_REGISTRIES.add(board)
    return board


def session_task_key(name: str) -> str:
    """An EvalBoard key private to this browser session: a second tab has its own evaluation."""
    return f"{name}@{st.session_state.setdefault('_task_session', uuid.uuid4().hex)}"


def eval_board() -> EvalBoard:
    """Background evaluations (t-SNE, accuracy, subset curves) of this server process."""
    return _eval_board(runs_root())


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Show a user-fixable error as one st.error line instead of a traceback."""
    try:
        yield
    except user_error_types() as e:
        st.error(one_line(e))


def all_runs() -> list[RunDir]:
    return RunDir.list(runs_root())


def readable_runs() -> list[RunDir]:
    """The runs whose config.json can be read (a broken one is listed, with its error, on Runs only)."""
    out = []
    for run in all_runs():
        try:
            read_record(run)
        except ValueError:
            continue
        out.append(run)
    return out


def open_run(run_id: str) -> RunDir | None:
    try:
        return RunDir.open(Path(runs_root()) / run_id)
    except RunNotFoundError:
        return None


def live_job(run_id: str | None):
    """The manager's job for run_id (queued, running, paused or ended in this process), or None."""
    return None if not run_id else job_manager().get(run_id)

"""Background condensation runs: `JobManager` queues `Job`s that step a method in a thread.

The same loop (`run_condensation`) drives the foreground CLI, so app and CLI write identical
run folders.
"""
from dclab.jobs.job import Job, JobSnapshot
from dclab.jobs.manager import JobManager
from dclab.jobs.runner import TERMINAL, RunControl, RunOutcome, run_condensation
from dclab.jobs.spec import PreparedRun, RunSpec, build_protocol, prepare

__all__ = [
    "TERMINAL",
    "Job",
    "JobManager",
    "JobSnapshot",
    "PreparedRun",
    "RunControl",
    "RunOutcome",
    "RunSpec",
    "build_protocol",
    "prepare",
    "run_condensation",
]

"""torchrun: ranks > 0 follow rank 0's run (its config, its checkpoint) and write nothing.

Rank 0 runs the CLI as one process would (run folder, lock, status, progress bar) and, as the first
thing its loop does, announces the run: its config.json and whether it resumes. Every other rank
waits for that announcement, prepares the same run from it and runs the same loop against a
`MuteRunDir`; the loop's collectives (gradients, stop agreement, checkpoint) keep the ranks in step.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from dclab.distributed import MuteRunDir, active_world, share_from_rank0
from dclab.jobs.spec import PreparedRun, RunSpec, prepare

if TYPE_CHECKING:
    from dclab.jobs.runner import RunControl, RunOutcome


def announce_run(prepared: PreparedRun, resume: bool) -> None:
    """Rank 0: tell the other ranks what to run (nothing in a single process)."""
    world = active_world()
    if world is not None and world.rank == 0:
        share_from_rank0({"config": prepared.config_json(), "resume": resume})


def follow_rank0(control: RunControl) -> tuple[PreparedRun, RunOutcome]:
    """Rank > 0: wait for rank 0's announcement, then run the same condensation, writing nothing."""
    from dclab.jobs.runner import run_condensation  # the runner imports this module

    message = share_from_rank0(None)
    config = message["config"]
    prepared = prepare(RunSpec.from_dict(config["spec"]), stored=config)
    return prepared, run_condensation(prepared, MuteRunDir(), control, resume=bool(message["resume"]))  # type: ignore[arg-type]

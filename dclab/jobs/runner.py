"""The one condensation loop, shared by background jobs (app) and the foreground CLI.

`run_condensation` steps a method to its end, writing the run folder as it goes: one metrics
record per step, snapshots every `snapshot_every` iterations (plus 0 and the last), a checkpoint
every `checkpoint_every` iterations and on pause/stop, and final.pt on finish and on stop.
Pause and stop are honoured between steps (`RunControl`). A NaN/inf loss or image, or an
exception, ends the run as "failed" and leaves the last good checkpoint untouched; so do images
that diverge far outside the data range (`DIVERGENCE_LIMIT` in normalised units, where real data
lie within about ±5).
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from dclab.distributed import active_world, agree_any, share_from_rank0, status_fields
from dclab.distributed.collectives import comm_totals
from dclab.eval.result import EvalResult
from dclab.jobs.follower import announce_run
from dclab.jobs.spec import PreparedRun
from dclab.methods import CondensationMethod, StepMetrics
from dclab.runs import RunDir
from dclab.threads import rebalance, threads_in_use

TERMINAL = ("stopped", "finished", "failed")
DIVERGENCE_LIMIT = 1e3  # |pixel| in normalised units; real images lie within about ±5


class RunControl:
    """Pause/stop requests from other threads, read by the loop between steps."""

    def __init__(self) -> None:
        self.stop_event = threading.Event()  # also handed to evaluation, so it stops early
        self._go = threading.Event()  # cleared while paused
        self._go.set()

    def stop(self) -> None:
        self.stop_event.set()
        self._go.set()  # wake a paused loop so it can stop

    def pause(self) -> None:
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    @property
    def stop_requested(self) -> bool:
        return self.stop_event.is_set()

    @property
    def pause_requested(self) -> bool:
        return not self._go.is_set()

    def wait_until_resumed(self) -> None:
        self._go.wait()


class RunListener(Protocol):
    """Receives progress from the loop (called in the loop's thread)."""

    def on_start(self, method: CondensationMethod, history: list[dict[str, Any]]) -> None: ...

    def on_status(self, status: str, message: str, method: CondensationMethod | None) -> None: ...

    def on_step(self, metrics: StepMetrics, method: CondensationMethod) -> None: ...

    def on_eval(self, iteration: int, result: EvalResult) -> None: ...


@dataclass(frozen=True)
class RunOutcome:
    status: str  # finished | stopped | failed
    message: str
    iteration: int


class NonFiniteError(RuntimeError):
    """The loss or the images became NaN/inf."""


def run_condensation(
    prepared: PreparedRun,
    run_dir: RunDir,
    control: RunControl | None = None,
    listener: RunListener | None = None,
    resume: bool = False,
) -> RunOutcome:
    """Run (or, with `resume`, continue from run_dir's checkpoint) to the end, a stop, or a failure."""
    control = control or RunControl()
    loop = _Loop(prepared, run_dir, control, listener)
    return loop.run(resume)


class _Loop:
    def __init__(self, prepared: PreparedRun, run_dir: RunDir, control: RunControl,
                 listener: RunListener | None) -> None:
        self.p = prepared
        self.run_dir = run_dir
        self.control = control
        self.listener = listener
        self.method: CondensationMethod | None = None
        self._comm_mark = comm_totals()  # bytes of collectives so far (torchrun), for per-step records

    # ---- status ----------------------------------------------------------------
    def _status(self, status: str, message: str = "") -> None:
        it = self.method.iteration if self.method is not None else 0
        self.run_dir.write_status(status, message, iteration=it, total_iterations=self.p.total_iterations,
                                  threads=threads_in_use(), **status_fields())
        if self.listener is not None:
            self.listener.on_status(status, message, self.method)

    def _end(self, status: str, message: str) -> RunOutcome:
        self._status(status, message)
        return RunOutcome(status, message, self.method.iteration if self.method is not None else 0)

    # ---- the loop --------------------------------------------------------------
    def run(self, resume: bool) -> RunOutcome:
        try:
            announce_run(self.p, resume)  # torchrun: the other ranks run what rank 0 runs
            self.method = method = self.p.build_method()
            history = self._restore() if resume else []
            if self.listener is not None:
                self.listener.on_start(method, history)
            self._status("running")
            if method.iteration == 0:
                self.run_dir.save_snapshot(0, method.images)
                self.run_dir.save_checkpoint(method.state_dict())  # a crash can resume from 0
            while not method.done:
                if agree_any(self.control.stop_requested):  # torchrun: all ranks stop at the same step
                    break
                if self.control.pause_requested:
                    self._pause()
                    continue
                self._one_step()
        except NonFiniteError as e:
            return self._end("failed", str(e))
        except Exception as e:  # noqa: BLE001 - any crash ends the job with a readable line
            return self._end("failed", f"{type(e).__name__}: {e}".splitlines()[0])
        return self._finish()

    def _restore(self) -> list[dict[str, Any]]:
        """Load the checkpoint (if any) and drop metrics/snapshots written after it."""
        method = self.method
        assert method is not None
        state = self.run_dir.load_checkpoint() if self.run_dir.has_checkpoint() else None
        state = share_from_rank0(state)  # torchrun: ranks > 0 resume from rank 0's checkpoint
        if state is not None:
            method.load_state_dict(state)
        self.run_dir.drop_final()  # the run goes on: an older final.pt would shadow newer snapshots
        self.run_dir.truncate_metrics(method.iteration)
        self.run_dir.truncate_snapshots(method.iteration)
        return self.run_dir.read_metrics()

    def _one_step(self) -> None:
        method = self.method
        assert method is not None
        rebalance()  # a fair share of the cores while other jobs run (dclab/threads.py)
        m = method.step()
        it = m.iteration
        if not math.isfinite(m.loss) or not bool(torch.isfinite(method.images).all()):
            what = "loss" if not math.isfinite(m.loss) else "synthetic images"
            raise NonFiniteError(
                f"{what} became {m.loss if what == 'loss' else 'non-finite'} at iteration {it}; "
                f"lower lr_img or check the settings (last good checkpoint kept)"
            )
        peak = float(method.images.detach().abs().max())
        if peak > DIVERGENCE_LIMIT:
            raise NonFiniteError(
                f"synthetic images diverged at iteration {it} (|pixel| {peak:.3g}, data lie within about ±5); "
                f"lower lr_img (last good checkpoint kept)"
            )
        self.run_dir.append_metrics({**m.to_dict(), **self._comm_record()})
        if self.listener is not None:
            self.listener.on_step(m, method)
        if it % self.p.snapshot_every == 0:
            self.run_dir.save_snapshot(it, method.images)
            self.run_dir.write_status("running", "", iteration=it, total_iterations=self.p.total_iterations,
                                      threads=threads_in_use(), **status_fields())
        if it % self.p.checkpoint_every == 0:
            self.run_dir.save_checkpoint(method.state_dict())
        every = self.p.spec.eval_every
        if every > 0 and (it % every == 0 or method.done):
            self._evaluate(it)

    def _comm_record(self) -> dict[str, int]:
        """Bytes handed to collectives since the last record (torchrun only; nothing in one process)."""
        spent, self._comm_mark = comm_totals() - self._comm_mark, comm_totals()
        return {"comm_bytes": spent.bytes, "comm_calls": spent.calls} if active_world() is not None else {}

    def _pause(self) -> None:
        method = self.method
        assert method is not None
        self.run_dir.save_checkpoint(method.state_dict())
        self._status("paused")
        self.control.wait_until_resumed()
        if not self.control.stop_requested:
            self._status("running")

    def _evaluate(self, iteration: int) -> None:
        from dclab.eval.evaluate import evaluate_synthetic  # heavy; only when evaluation is on

        assert self.method is not None
        result = evaluate_synthetic(self.method.synthetic_set(), self.p.data, self.p.protocol,
                                    device=self.p.device, stop=self.control.stop_event)
        if self.control.stop_requested:  # cut short: not a valid measurement
            return
        self.run_dir.append_metrics({"kind": "eval", "iteration": iteration, **result.to_dict()})
        if self.listener is not None:
            self.listener.on_eval(iteration, result)

    def _finish(self) -> RunOutcome:
        """Finished or stopped: the state is good, so keep everything (snapshot, checkpoint, final)."""
        method = self.method
        assert method is not None
        try:
            it = method.iteration
            if it not in self.run_dir.snapshot_iterations():
                self.run_dir.save_snapshot(it, method.images)
            self.run_dir.save_checkpoint(method.state_dict())
            self.run_dir.save_final(method.synthetic_set())
        except Exception as e:  # noqa: BLE001 - e.g. disk full
            return self._end("failed", f"could not save results: {type(e).__name__}: {e}".splitlines()[0])
        if method.done:
            return self._end("finished", f"finished {method.iteration} iterations")
        return self._end("stopped", f"stopped at iteration {method.iteration} of {self.p.total_iterations}")

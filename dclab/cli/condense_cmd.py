"""`python -m dclab condense`: run a condensation in the foreground, writing a run folder.

It drives the same `Job` the app uses (a worker thread running `run_condensation`) and polls its
snapshot for the progress bar, so Ctrl-C is a clean stop between steps: checkpoint and final set
are kept and the run can be continued with `JobManager.resume`.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any, TextIO

from dclab.cli.common import add_data_args, add_device_arg
from dclab.cli.progress import ProgressBar
from dclab.config import parse_assignments
from dclab.device import describe_device
from dclab.eval.protocol import PUBLISHED, EvalProtocol
from dclab.jobs import Job, JobManager, JobSnapshot, PreparedRun, RunSpec
from dclab.runs import DEFAULT_RUNS_ROOT
from dclab.threads import apply_threads

NAME = "condense"
HELP = "condense a data set with a method (foreground, with a progress bar; Ctrl-C or SIGTERM stops cleanly)"
POLL_S = 0.2
EXIT_STOPPED = 130  # as a shell reports a SIGINT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_args(parser)
    parser.add_argument("--method", help="condensation method (see `python -m dclab methods`)")
    parser.add_argument("--ipc", type=int, help="synthetic images per class")
    parser.add_argument("--resume", metavar="RUN_DIR", default=None,
                        help="continue a stopped/failed run from its checkpoint (its own settings)")
    parser.add_argument("--iterations", type=int, default=None, help="override the method's iterations")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same images)")
    add_device_arg(parser)
    parser.add_argument("--out", default=str(DEFAULT_RUNS_ROOT), help="runs root; the run folder is created inside")
    parser.add_argument("--preset", default=None,
                        help="method preset (paper|cpu|classroom, see `methods NAME`); default: cpu on a CPU, paper on a GPU")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="override one method setting (repeatable)")
    parser.add_argument("--eval", action="store_true", help="evaluate the final set at the end")
    parser.add_argument("--eval-every", type=int, default=0, metavar="K",
                        help="also evaluate every K iterations (recorded in metrics.jsonl)")
    parser.add_argument("--eval-preset", default=PUBLISHED, choices=EvalProtocol.preset_names(),
                        help="evaluation protocol preset (default published: the method's own paper protocol, "
                        "scaled on a CPU; quick = seconds)")
    parser.add_argument("--label", default="", help="suffix of the run folder name")


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    return RunSpec(
        dataset=args.dataset,
        method=args.method,
        ipc=args.ipc,
        seed=args.seed,
        device=args.device,
        preset=args.preset,
        overrides=parse_assignments(args.settings),
        iterations=args.iterations,
        eval_every=args.eval_every,
        eval_protocol={"preset": args.eval_preset},
        data_root=args.data_root,
        label=args.label,
    )


def describe_run(prepared: PreparedRun) -> str:
    """Every config value with where it came from (default / preset / --set)."""
    s = prepared.spec
    head = (f"{prepared.method_class.name} on {prepared.data.name}, IPC {s.ipc}, seed {s.seed}, "
            f"device {describe_device(prepared.device)}, preset {prepared.preset or '(none)'}")
    lines = [head]
    sources = prepared.value_sources()
    config = prepared.config.to_dict()
    width = max(len(k) for k in config)
    for key, value in config.items():
        lines.append(f"  {key:<{width}} = {value!r:<14} [{sources[key]}]")
    lines.append(f"  snapshots every {prepared.snapshot_every} it, checkpoint every {prepared.checkpoint_every} it")
    if s.eval_every:
        lines.append(f"  evaluation every {s.eval_every} it: {prepared.protocol.describe()}")
    return "\n".join(lines)


def follow(job: Job, stream: TextIO) -> None:
    """Draw the job's progress until it ends; Ctrl-C asks it to stop after the current step."""
    bar = ProgressBar(job.prepared.total_iterations, label="condense", stream=stream)
    shown_evals = len(job.snapshot().evals)
    while not job.ended:
        try:
            job.wait(POLL_S)
            snap = job.snapshot()
            stream.writelines(f"\neval at iteration {e['iteration']}: {100 * e['mean']:.2f} ± "
                              f"{100 * e['std']:.2f} %  [{e['protocol_text']}]\n"
                              for e in snap.evals[shown_evals:])
            shown_evals = len(snap.evals)
            bar.update(snap.iteration, rate=snap.its_per_s, eta=snap.eta_s, suffix=_suffix(snap))
        except KeyboardInterrupt:
            stream.write("\nstopping after the current step (checkpoint and final set are kept)...\n")
            job.stop()
    snap = job.snapshot()
    bar.close(snap.iteration, suffix=_suffix(snap))


def _suffix(snap: JobSnapshot) -> str:
    loss = f"loss {snap.losses[-1][1]:.4g}" if snap.losses else ""
    return loss if snap.status == "running" else f"{loss} [{snap.status}]".strip()


def evaluate_final(job: Job, stream: TextIO) -> dict[str, Any]:
    """Evaluate final.pt with the run's protocol (reusing an eval at the last iteration if any)."""
    from dclab.eval.evaluate import evaluate_synthetic

    prepared, run_dir = job.prepared, job.run_dir
    synthetic = run_dir.load_final()
    iteration = job.snapshot().iteration
    for rec in reversed(run_dir.read_metrics()):
        if rec.get("kind") == "eval" and int(rec["iteration"]) == iteration:
            return rec
    bar = ProgressBar(prepared.protocol.models, label="evaluate", stream=stream)
    result = evaluate_synthetic(synthetic, prepared.data, prepared.protocol, device=prepared.device,
                                progress=bar.callback)
    bar.close()
    record = {"kind": "eval", "iteration": iteration, **result.to_dict()}
    run_dir.append_metrics(record)
    return record


def start_job(manager: JobManager, args: argparse.Namespace) -> Job:
    """Submit a new run, or resume one; a bad input raises a one-line user error here."""
    given = [f"--{k}" for k in ("dataset", "method", "ipc") if getattr(args, k) is not None]
    if args.resume:
        if given:
            raise ValueError(f"--resume continues with the run's own settings; drop {', '.join(given)}")
        return manager.resume(args.resume)
    if len(given) < 3:
        raise ValueError("--dataset, --method and --ipc are required (or --resume RUN_DIR)")
    return manager.submit(spec_from_args(args))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops like Ctrl-C: checkpoint, final set, status "stopped"


def run(args: argparse.Namespace) -> int:
    apply_threads(args.threads)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    manager = JobManager(args.out)
    job = start_job(manager, args)
    print(describe_run(job.prepared), flush=True)
    print(f"run folder: {job.run_dir.path}", flush=True)
    try:
        follow(job, sys.stderr)
    finally:
        manager.shutdown()
    snap = job.snapshot()
    if snap.status == "failed":
        print(f"error: run failed: {snap.message} ({job.run_dir.path})", file=sys.stderr, flush=True)
        return 1
    print(f"{snap.status}: {snap.message}", flush=True)
    if args.eval:
        try:
            rec = evaluate_final(job, sys.stderr)
        except KeyboardInterrupt:
            print(f"\nevaluation interrupted; the run is kept in {job.run_dir.path}", file=sys.stderr, flush=True)
            return EXIT_STOPPED
        print(f"accuracy (iteration {rec['iteration']}): {100 * rec['mean']:.2f} ± {100 * rec['std']:.2f} %  "
              f"[{rec['protocol_text']}]", flush=True)
    print(job.run_dir.path, flush=True)
    return 0 if snap.status == "finished" else EXIT_STOPPED

"""Streamlit pieces of the classroom views (not a page): initial vs now, runs from one start side by side,
loss curves on one chart, per-class losses, the method's algorithm box, the payoff chart, the coverage
animation and the HTML export. Widgets and layout only; the numbers come from `dclab`.
"""
from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import streamlit as st
import torch

from dclab.coresets import list_coresets
from dclab.analysis.cost import iteration_costs
from dclab.data import load_dataset
from dclab.device import resolve_device
from dclab.eval.published import resolve_settings
from dclab.runs import RunDir
from dclab.runs.reader import split_metrics, synthetic_from_run
from dclab.runs.record import DatasetInfo, RunRecord, read_record
from dclab.viz.analysis_figures import (
    class_losses_figure,
    coverage_lines_figure,
    losses_figure,
    payoff_figure,
    timeline_figure,
)
from dclab.viz.difference import SCALE_QUANTILE, difference_rgb
from dclab.viz.grid import denormalize, grid_image, snapshot_grid
from ui.state import eval_board, open_run, runs_root, session_task_key, user_errors
from ui.widgets import protocol_settings, show_grid, task_panel

INITIAL_CACHE = 16  # run folders whose initial images are kept in memory
_INITIAL: dict[str, torch.Tensor] = {}  # helper cache of initial_images
DIFF_HELP = "white = unchanged, red = brighter than at the start, blue = darker"
SCALE_HELP = f"{100 * SCALE_QUANTILE:.0f} % of the changes are smaller; the rest show at full colour"


# ---- helpers -----------------------------------------------------------------------------------------
def change_per_class(initial: torch.Tensor, now: torch.Tensor, ds: DatasetInfo, ipc: int) -> list[float]:
    """Mean |pixel change| of each class's images (class-major sets): how far each class moved."""
    change = denormalize(now, ds.mean, ds.std) - denormalize(initial, ds.mean, ds.std)
    return change.abs().reshape(change.shape[0] // ipc, -1).mean(dim=1).tolist()


# ---- reading a run (live job or folder) ------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class RunView:
    """What the views draw of one run: its folder, config, current images and where they are from."""

    run_id: str
    run: RunDir
    record: RunRecord
    images: torch.Tensor | None
    iteration: int
    where: str  # "running, iteration 12/100"
    losses: tuple[tuple[int, float], ...]

    @property
    def dataset(self) -> DatasetInfo:
        return self.record.dataset

    @property
    def ipc(self) -> int:
        return self.record.ipc

    @property
    def method(self) -> str:
        return self.record.method

    def grid(self, images: torch.Tensor):
        ds = self.dataset
        return snapshot_grid(images, ds.mean, ds.std, self.ipc, ds.class_names)


def run_view(run_id: str, manager) -> RunView | None:
    """The run's newest images and losses: from its live job in this process, else from its folder."""
    run = open_run(run_id)
    if run is None:
        return None
    record = read_record(run)
    job = manager.get(run_id)
    if job is not None:
        s = job.snapshot()
        return RunView(run_id, run, record, s.images, s.iteration,
                       f"{s.status}, iteration {s.iteration}/{s.total_iterations}", tuple(s.losses))
    its = run.snapshot_iterations()
    images = None
    try:
        images = run.load_snapshot(its[-1]) if its else None
    except ValueError as e:  # a cut or tampered snapshot
        st.error(str(e))
    losses = split_metrics(run.read_metrics()).losses
    return RunView(run_id, run, record, images, its[-1] if its else 0,
                   f"{run.read_status().get('status')}, iteration {its[-1] if its else 0}", tuple(losses))


def initial_images(run: RunDir) -> torch.Tensor | None:
    """The images the run started from (its snapshot at iteration 0), or None before it is written.
    Read once per run folder: a live view redraws every second, and the start never changes."""
    key = str(run.path.resolve())
    if key not in _INITIAL:
        if 0 not in run.snapshot_iterations():
            return None
        try:
            _INITIAL[key] = run.load_snapshot(0)
        except ValueError as e:
            st.error(str(e))
            return None
        while len(_INITIAL) > INITIAL_CACHE:
            _INITIAL.pop(next(iter(_INITIAL)))
    return _INITIAL[key]


# ---- the preset of runs started together -----------------------------------------------------------
CLASSROOM = "classroom"


def pair_preset(methods: Sequence[str], key: str) -> tuple[str | None, str]:
    """A preset every method has (`classroom` by default on a CPU, else the device default) and a note:
    what that preset is for each method (for `classroom`: what it gives up against `paper`)."""
    from dclab.device import resolve_device
    from dclab.methods import get_method
    from dclab.presets import default_preset

    classes = [get_method(m).config_class for m in methods]
    common = [p for p in classes[0].preset_names() if all(p in c.PRESETS for c in classes[1:])]
    if not common:
        return None, ""
    device = resolve_device("auto")
    wanted = CLASSROOM if device.type == "cpu" and CLASSROOM in common else default_preset(device, classes[0])
    preset = st.selectbox("preset", common, index=common.index(wanted) if wanted in common else 0, key=key,
                          help="classroom = a visible result within minutes on a laptop CPU; cpu = small "
                          "settings for a CPU; paper = the published settings (meant for a GPU)")
    notes = [f"**{m}**: {c.PRESET_SOURCES[preset]}" for m, c in zip(methods, classes) if preset in c.PRESET_SOURCES]
    return preset, (f"`{preset}` preset — " + " · ".join(notes) if notes else "")


# ---- what changed ------------------------------------------------------------------------------------
def _moved_caption(initial: torch.Tensor, view: RunView) -> str:
    moved = change_per_class(initial, view.images, view.dataset, view.ipc)
    names = view.dataset.class_names
    order = sorted(range(len(moved)), key=lambda c: moved[c], reverse=True)
    return (f"mean |change| per pixel: most in class {names[order[0]]} ({moved[order[0]]:.3f}), "
            f"least in class {names[order[-1]]} ({moved[order[-1]]:.3f})")


def initial_vs_now(view: RunView) -> None:
    """Three grids of one run: the initial images, the images now, and the difference map."""
    initial = initial_images(view.run)
    if initial is None or view.images is None:
        st.caption("initial vs now: waiting for the first snapshot")
        return
    ds = view.dataset
    rgb, limit = difference_rgb(initial, view.images, ds.mean, ds.std)
    diff = grid_image(rgb, view.ipc, ds.class_names)
    cols = st.columns(3)
    with cols[0]:
        show_grid(view.grid(initial), caption="initial images (iteration 0)")
    with cols[1]:
        show_grid(view.grid(view.images), caption=f"now (iteration {view.iteration})")
    with cols[2]:
        show_grid(diff, caption=f"difference now − initial ({DIFF_HELP}; full colour at ±{limit:.2f}: "
                                     f"{SCALE_HELP})")
    st.caption(_moved_caption(initial, view))


def side_by_side(views: Sequence[RunView]) -> None:
    """Runs from the same initial images: that start shown once, each run's images beside it, and one
    row of difference maps on one colour scale. Runs from different starts: each against its own."""
    initials = [initial_images(v.run) for v in views]
    same = all(i is not None and i.shape == initials[0].shape and torch.equal(i, initials[0]) for i in initials)
    if not same:
        st.caption("these runs start from different images: each is shown against its own start")
        cols = st.columns(len(views))
        for col, v in zip(cols, views):
            with col:
                st.markdown(f"**{v.record.describe()}**")
                if v.images is not None:
                    show_grid(v.grid(v.images), caption=f"{v.run_id} ({v.where})")
        return
    first = views[0]
    st.markdown(f"**Same start:** {first.dataset.name} · IPC {first.ipc} · seed {first.record.seed} · "
                f"initial images shown once, each method's images beside them")
    cols = st.columns(1 + len(views))
    with cols[0]:
        st.markdown("**initial (shared)**")
        show_grid(first.grid(initials[0]), caption="iteration 0, the same for every run")
    for col, v in zip(cols[1:], views):
        with col:
            st.markdown(f"**{v.method}**")
            if v.images is not None:
                show_grid(v.grid(v.images), caption=f"{v.run_id} ({v.where})")
            else:
                st.info("waiting for the first images…")
    moved = [v for v in views if v.images is not None]
    if not moved:
        return
    ds = first.dataset
    # one colour scale for all runs, so their maps can be compared
    limit = max(difference_rgb(initials[0], v.images, ds.mean, ds.std)[1] for v in moved) or 1.0
    cols = st.columns(1 + len(views))
    cols[0].caption(f"difference maps: {DIFF_HELP}; one scale for all runs, full colour at ±{limit:.2f} "
                    f"(the largest of the runs' scales; {SCALE_HELP})")
    for col, v in zip(cols[1:], views):
        if v.images is not None:
            with col:
                rgb, _ = difference_rgb(initials[0], v.images, ds.mean, ds.std, scale=limit)
                show_grid(grid_image(rgb, v.ipc, ds.class_names), caption=f"{v.method}: now − initial")
                st.caption(_moved_caption(initials[0], v))


def names(views: Sequence[RunView]) -> list[str]:
    """A short name per run for legends: its method, with the run id where two share a method."""
    methods = [v.method for v in views]
    return [v.method if methods.count(v.method) == 1 else f"{v.method} ({v.run_id})" for v in views]


def loss_curves(views: Sequence[RunView], key: str) -> None:
    """Every run's loss on one chart (each relative to its start), then per-class losses per run."""
    st.plotly_chart(losses_figure({n: v.losses for n, v in zip(names(views), views)}), key=f"{key}_losses")
    st.caption("each loss divided by its first value (the methods' losses have different units): both start "
               "at 1, and the chart shows how far each has fallen; hover for the raw value")
    class_losses(views, key)


def class_losses(views: Sequence[RunView], key: str) -> None:
    """Per-class loss curves of each run (from its metrics), one chart per run side by side."""
    records = {n: v.run.read_metrics() for n, v in zip(names(views), views)}
    records = {n: rs for n, rs in records.items() if any(r.get("class_losses") for r in rs)}
    if records:
        for col, (n, rs) in zip(st.columns(len(records)), records.items()):
            with col:
                st.markdown(f"**{n}**: loss per class")
                st.plotly_chart(class_losses_figure(rs, views[0].dataset.class_names),
                                key=f"{key}_class_losses_{n}")
        st.caption("per-class loss: the matching loss of each class's images (one colour per class). A class "
                   "whose curve stays high is the one its images struggle to represent.")


# ---- explain the method ------------------------------------------------------------------------------
def explanation(method: str, compact: bool = False) -> None:
    """The algorithm box of `method`: objective (LaTeX), the loop, what to watch, its cost per iteration
    on this device (from the recorded runs, per preset) and the paper; `compact`: loop and notes side by side."""
    from dclab.methods.explain import get_explanation

    e = get_explanation(method)
    st.markdown(f"**{e.title}** — the objective")
    st.latex(e.objective)
    loop, notes = st.columns([1, 1]) if compact else (st.container(), st.container())
    loop.markdown("\n".join(f"{i}. {line}" for i, line in enumerate(e.loop, start=1)))
    with notes:
        st.markdown(f"**What to watch:** {e.watch}")
        costs = iteration_costs(runs_root(), method, resolve_device("auto").type)
        st.markdown("**Cost here:** " + ("; ".join(c.describe() for c in costs) if costs else
                                         "shown once a run of it has stepped on this machine"))
        st.caption(f"Paper: {e.paper}")


# ---- the payoff -----------------------------------------------------------------------------------
def task_key(key: str, run_ids: Sequence[str]) -> str:
    """The background task of widget group `key` for these runs, private to this browser session."""
    return session_task_key(f"{key}:{'+'.join(run_ids)}")


def payoff_panel(run_ids: Sequence[str], key: str) -> None:
    """Protocol controls, a button, and the payoff bar chart of the runs (one data set and IPC)."""
    with st.container(key=key):
        st.subheader("The payoff: what these few images are worth")
        st.caption("Test accuracy of networks trained only on the synthetic images, next to random real images of "
                   "the same size, a coreset of the same size and the whole training set (cached once per data set "
                   "and protocol), all under the one protocol printed under the chart; error bars: std over the K "
                   "networks.")
        settings = protocol_settings(f"{key}_protocol", default_preset="quick")
        coresets = [c for c in list_coresets() if c != "random"]
        coreset = st.selectbox("coreset baseline", coresets, key=f"{key}_coreset",
                               index=coresets.index("herding") if "herding" in coresets else 0)
        if st.button("Compute the payoff chart", key=f"{key}_go", type="primary"):
            with user_errors():
                sets = {rid: synthetic_from_run(open_run(rid)) for rid in run_ids}
                kinds = {(s.dataset, s.ipc) for s in sets.values()}
                if len(kinds) > 1:
                    raise ValueError("the payoff chart needs runs of one data set and one IPC; choose such runs")
                first = next(iter(sets.values()))
                protocol = resolve_settings(settings, method=first.method, dataset=first.dataset, ipc=first.ipc)

                def task(progress, stop):
                    from dclab.analysis.payoff import payoff

                    return payoff(list(sets.values()), load_dataset(first.dataset), protocol, "auto",
                                  coreset=coreset, seed=0, progress=lambda f, _msg: progress(int(1000 * f), 1000))

                eval_board().submit(task_key(key, run_ids), "payoff chart", task)
        task_panel(task_key(key, run_ids), show_payoff)


def show_payoff(result: Any) -> None:
    st.plotly_chart(payoff_figure(result), key="payoff_chart")
    whole = result.bars[-1].result.protocol
    st.caption(f"protocol: {result.protocol} · whole training set (class-balanced): {whole.epochs} epochs of its "
               f"{whole.models} networks (capped so that a CPU finishes it; cached once per data set and protocol)")


def finished_result(key: str) -> Any:
    """The result of background task `key` if it has finished, else None."""
    job = eval_board().get(key)
    snap = job.snapshot() if job is not None else None
    return snap.result if snap is not None and snap.status == "finished" else None


# ---- coverage over time ----------------------------------------------------------------------------
def coverage_panel(run_ids: Sequence[str], key: str) -> None:
    """A button and the coverage animation of the runs (one joint embedding) with coverage/MMD lines."""
    with st.container(key=key):
        st.subheader("Coverage over time")
        st.caption("One embedding fitted once over real features and every snapshot of the runs, so the points "
                   "are comparable over time: press Play (or drag the slider) to watch the synthetic images "
                   "(large symbols) spread over the real data (small dots), coloured by class.")
        if st.button("Compute the coverage animation", key=f"{key}_go"):
            with user_errors():
                runs = [open_run(rid) for rid in run_ids]
                names = {read_record(r).dataset.name for r in runs}
                if len(names) > 1:
                    raise ValueError(f"the runs use different data sets ({', '.join(sorted(names))}); "
                                     "choose runs of one")
                dataset = names.pop()

                def task(progress, stop):
                    from dclab.analysis.coverage_timeline import coverage_timeline

                    return coverage_timeline([r.path for r in runs], load_dataset(dataset), "auto",
                                             progress=lambda f, _msg: progress(int(1000 * f), 1000))

                eval_board().submit(task_key(key, run_ids), "coverage animation", task)
        task_panel(task_key(key, run_ids), show_coverage)


def show_coverage(timeline: Any) -> None:
    st.plotly_chart(timeline_figure(timeline), key="coverage_animation")
    st.plotly_chart(coverage_lines_figure(timeline), key="coverage_lines")
    st.caption(timeline.projection)


# ---- hand-out --------------------------------------------------------------------------------------
def html_export(run_ids: Sequence[str], payoff_key: str, coverage_key: str, key: str) -> None:
    """One self-contained HTML file of the comparison, with the payoff chart and the coverage animation
    of the panels `payoff_key` / `coverage_key` when they have been computed for these runs."""
    with st.container(key=key):
        st.subheader("Hand-out")
        pay = finished_result(task_key(payoff_key, run_ids))
        timeline = finished_result(task_key(coverage_key, run_ids))
        parts = ["grids", "loss curves", *(["payoff chart"] if pay else []),
                 *(["coverage animation"] if timeline else [])]
        st.caption(f"One HTML file with {', '.join(parts)} and the protocol, images inlined: opens offline in any "
                   "browser. Compute the payoff chart and the coverage animation first to include them.")
        html_key = f"{key}_html_{'+'.join(run_ids)}"  # a new selection needs a new file
        if st.button("Build the HTML report", key=f"{key}_build"):
            from dclab.analysis.report import comparison_html

            with user_errors():
                with tempfile.TemporaryDirectory() as tmp:
                    out = comparison_html([open_run(rid).path for rid in run_ids],
                                          Path(tmp) / "comparison.html", payoff=pay, timeline=timeline)
                    st.session_state[html_key] = out.read_bytes()
        html = st.session_state.get(html_key)
        if html:
            st.download_button("Download the HTML report", html, file_name="dclab-comparison.html",
                               mime="text/html", key=f"{key}_download")



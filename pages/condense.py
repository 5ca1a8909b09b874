"""Condense: configure and start a run (form generated from the method's typed config), control it,
and watch it live: image grid, loss curve, progress, accuracy points; scrub snapshots, export a GIF."""
from __future__ import annotations

import streamlit as st
import torch

from dclab.data import list_datasets
from dclab.device import resolve_device
from dclab.jobs import RunSpec
from dclab.methods import get_method, list_methods
from dclab.nets import list_nets
from dclab.presets import default_preset
from dclab.runs.lock import describe_holder
from dclab.runs.reader import split_metrics
from dclab.runs.record import read_record
from dclab.viz.figures import loss_figure
from dclab.viz.grid import snapshot_grid
from ui.classroom import RunView, class_losses, explanation, initial_vs_now, payoff_panel
from ui.state import CURRENT_RUN, LIVE_JOB_STATUSES, all_runs, job_manager, live_job, open_run, user_errors
from ui.widgets import config_form, protocol_settings, show_grid

VIEW_GEN = "condense_view_gen"  # bumped by Start: the run selector is re-created at the new run
st.title("Condense")
manager = job_manager()
methods = list_methods()

# ---- new run --------------------------------------------------------------------------------
# open on the first visit without a run; fixed for the session, so a widget edit does not collapse it
NEW_RUN_OPEN = st.session_state.setdefault("new_run_open", not st.session_state.get(CURRENT_RUN))
with st.expander("New run", expanded=NEW_RUN_OPEN):
    c = st.columns(4)
    datasets = list_datasets()
    dataset = c[0].selectbox("data set", datasets, index=datasets.index("digits") if "digits" in datasets else 0,
                             key="dataset")
    method = c[1].selectbox("method", methods, index=methods.index("dm") if "dm" in methods else 0,
                            key="method")
    method_class = get_method(method)
    if method_class.description:
        st.caption(method_class.description)
    with st.container(border=True, key="explain_form"):
        explanation(method, compact=True)
    devices = ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    device = c[2].selectbox("device", devices, key="device")
    presets = method_class.config_class.preset_names()
    wanted = default_preset(resolve_device(device), method_class.config_class)
    preset = c[3].selectbox("preset", presets or [None], key=f"preset_{method}",
                            index=presets.index(wanted) if wanted in presets else 0,
                            help="paper = published settings; cpu = small settings for a CPU")
    c = st.columns(4)
    ipc = c[0].number_input("images per class (IPC)", 1, 50, 10, key="ipc")
    seed = c[1].number_input("seed", 0, 2**31 - 1, 0, key="seed")
    eval_every = c[2].number_input("evaluate every (0 = off)", 0, 100000, 0, key="eval_every",
                                   help="periodic test accuracy during the run (quick protocol by default)")
    label = c[3].text_input("label", "", key="label")
    st.markdown(f"**{method} settings** (`{preset}` preset)")
    if preset in method_class.config_class.PRESET_SOURCES:
        st.caption(f"`{preset}` preset source: {method_class.config_class.PRESET_SOURCES[preset]}")
    overrides = config_form(method_class.config_class, preset, f"cfg_{method}",
                            choices={"net": list_nets()})
    eval_protocol = {}
    if eval_every:
        st.markdown("**Periodic evaluation protocol**")
        eval_protocol = protocol_settings("condense_eval")
    if st.button("Start", key="start", type="primary"):
        with user_errors():
            job = manager.submit(RunSpec(dataset=dataset, method=method, ipc=int(ipc), seed=int(seed),
                                         device=device, preset=preset, overrides=overrides,
                                         eval_every=int(eval_every), eval_protocol=eval_protocol,
                                         label=label))
            st.session_state[CURRENT_RUN] = job.id
            # a new selector (new key) starts at the new run: the browser's old choice cannot win
            st.session_state[VIEW_GEN] = st.session_state.get(VIEW_GEN, 0) + 1
            st.rerun()

# ---- which run to show ------------------------------------------------------------------------
run_ids = list(dict.fromkeys([j.id for j in reversed(manager.jobs())] + [r.run_id for r in all_runs()]))
if not run_ids:
    st.info("No runs yet: start one above (or use the quick start on Home).")
    st.stop()
current = st.session_state.get(CURRENT_RUN)
if current not in run_ids:
    current = run_ids[0]
run_id = st.selectbox("run", run_ids, index=run_ids.index(current), key=f"view_run_{st.session_state.get(VIEW_GEN, 0)}")
st.session_state[CURRENT_RUN] = run_id
run = open_run(run_id)
if run is None:
    st.error(f"run {run_id} no longer exists")
    st.stop()
try:
    record = read_record(run)
except ValueError as e:  # a cut or tampered config.json: say so; the Runs page can delete it
    st.error(str(e))
    st.stop()

# ---- controls -----------------------------------------------------------------------------------
job = live_job(run_id)
status = job.status if job is not None else run.status()  # "interrupted" when its writer died
if job is None and status in LIVE_JOB_STATUSES:
    st.info(f"run {run_id} is {status} in another process ({describe_holder(run.path)}); "
            f"control it there")
c = st.columns(4)
if c[0].button("Pause", key="pause", disabled=job is None or status != "running"):
    job.pause()
if c[1].button("Resume", key="resume", disabled=status not in ("paused", "stopped", "failed", "unknown", "interrupted")
                 or (job is None and status == "paused")):
    with user_errors():
        if job is not None and status == "paused":
            job.resume()
        else:
            manager.resume(run_id)
        st.rerun()
if c[2].button("Stop", key="stop", disabled=job is None or status not in LIVE_JOB_STATUSES):
    job.stop()
c[3].caption(f"status when loaded: **{status}**")
with st.expander(f"How {record.method} works: the algorithm box"), st.container(key="explain_run"):
    explanation(record.method)


# ---- live view ------------------------------------------------------------------------------------
def _disk_view():
    """(iteration, total, images, losses, evals, status, message) of a run with no job in this process."""
    st_json = run.read_status()
    metrics = split_metrics(run.read_metrics())
    its = run.snapshot_iterations()
    try:
        images = run.load_snapshot(its[-1]) if its else None
    except ValueError as e:  # a cut or tampered snapshot
        st.error(str(e))
        images = None
    total = st_json.get("total_iterations") or record.iterations
    return (st_json.get("iteration", its[-1] if its else 0), total, images, metrics.losses, metrics.evals,
            st_json.get("status", "unknown"), st_json.get("message", ""))


def live_view() -> None:
    ds = record.dataset
    if job is not None:
        s = job.snapshot()
        iteration, total, images, losses, evals = s.iteration, s.total_iterations, s.images, s.losses, s.evals
        state, message, rate, eta = s.status, s.message, s.its_per_s, s.eta_s
    else:
        iteration, total, images, losses, evals, state, message = _disk_view()
        rate = eta = None
    with st.container(key="live"):
        speed = f" · {rate:.2f} it/s" if rate else ""
        eta_text = f" · ETA {eta:.0f} s" if eta is not None else ""
        st.progress(min(iteration / total, 1.0) if total else 0.0,
                    text=f"{state} · iteration {iteration}/{total}{speed}{eta_text}")
        st.caption(f"run {run_id} · iteration {iteration}" + (f" · {message}" if message else ""))
        left, right = st.columns([1, 1])
        with left:
            if images is not None:
                show_grid(snapshot_grid(images, ds.mean, ds.std, record.ipc, ds.class_names),
                         caption=f"synthetic images at iteration {iteration} (one row per class)")
            else:
                st.info("waiting for the first images…")
        with right:
            st.plotly_chart(loss_figure(list(losses), list(evals)), key="loss_chart")
            if losses:
                st.caption(f"loss {losses[-1][1]:.5g} at iteration {losses[-1][0]}")
            for e in evals[-3:]:
                st.write(f"it {e['iteration']}: **{100 * e['mean']:.2f} ± {100 * e['std']:.2f} %** "
                         f"— {e['protocol_text']}")
        view = RunView(run_id, run, record, images, iteration, state, tuple(losses))
        with st.container(key="initial_vs_now"):
            st.markdown("**Initial vs now** — what the method changed in each image")
            initial_vs_now(view)
        class_losses([view], key="condense")
    if job is not None and state != status:
        st.rerun()  # the status changed (started, paused, ended): redraw the controls once


# polled every second while the run is live; drawn once otherwise
st.fragment(run_every=1.0 if job is not None and status in LIVE_JOB_STATUSES else None)(live_view)()

# ---- after a run: what its images are worth -------------------------------------------------------
if status not in LIVE_JOB_STATUSES:
    payoff_panel([run_id], key="condense_payoff")

# ---- snapshots and GIF -------------------------------------------------------------------------
st.subheader("Evolution")
its = run.snapshot_iterations()
if len(its) >= 1:
    ds = record.dataset
    pick = st.select_slider("snapshot (iteration)", options=its, value=its[-1], key="snapshot") if len(its) > 1 \
        else its[0]
    with user_errors():
        show_grid(snapshot_grid(run.load_snapshot(pick), ds.mean, ds.std, record.ipc, ds.class_names),
                 caption=f"snapshot at iteration {pick}")
    if st.button("Build evolution GIF", key="build_gif"):
        from dclab.runs.export import evolution_gif_bytes

        with user_errors():
            st.session_state[f"gif_{run_id}"] = evolution_gif_bytes(run)
    gif = st.session_state.get(f"gif_{run_id}")
    if gif:
        st.download_button("Download GIF", gif, file_name=f"{run_id}.gif", mime="image/gif", key="gif")
else:
    st.caption("no snapshots saved yet")

"""Compare: two or more runs side by side — grids, accuracy under one protocol, t-SNE and coverage."""
from __future__ import annotations

import streamlit as st

from dclab.analysis.compare import plan_accuracy
from dclab.analysis.feature_space import plan_feature_space
from dclab.data import list_datasets
from dclab.eval.protocol import PUBLISHED
from dclab.jobs import RunSpec
from dclab.runs.record import read_record
from dclab.viz.figures import tsne_figure
from dclab.viz.grid import snapshot_grid
from ui.state import eval_board, job_manager, open_run, readable_runs, session_task_key, user_errors
from ui.widgets import protocol_settings, show_grid, task_panel

st.title("Compare")
manager = job_manager()

# ---- one click: DC and DM from the same start ------------------------------------------------------
with st.expander("Start DC and DM side by side (same data set, IPC, initial images and seed)"):
    c = st.columns(4)
    datasets = list_datasets()
    dataset = c[0].selectbox("data set", datasets, index=datasets.index("digits") if "digits" in datasets else 0,
                             key="pair_dataset")
    ipc = c[1].number_input("IPC", 1, 50, 10, key="pair_ipc")
    seed = c[2].number_input("seed", 0, 2**31 - 1, 0, key="pair_seed")
    iterations = c[3].number_input("iterations (0 = preset)", 0, 100000, 0, key="pair_iterations")
    if st.button("Start DC and DM", key="start_pair", type="primary"):
        with user_errors():
            ids = []
            for m in ("dc", "dm"):
                job = manager.submit(RunSpec(dataset=dataset, method=m, ipc=int(ipc), seed=int(seed),
                                             iterations=int(iterations) or None, label="pair"))
                ids.append(job.id)
            st.session_state["compare_runs"] = ids
            st.rerun()

runs = [r.run_id for r in readable_runs()]
if len(runs) < 2:
    st.info("Compare needs at least two runs.")
    st.stop()
default = [r for r in st.session_state.get("compare_runs", runs[:2]) if r in runs] or runs[:2]
chosen = st.multiselect("runs to compare", runs, default=default, key="compare_select")
if len(chosen) < 2:
    st.info("Choose two or more runs.")
    st.stop()
live = any(manager.get(r) is not None and not manager.get(r).ended for r in chosen)


def grids() -> None:
    cols = st.columns(len(chosen))
    for col, rid in zip(cols, chosen):
        run = open_run(rid)
        with col:
            if run is None:
                st.error(f"run {rid} no longer exists")
                continue
            job = manager.get(rid)
            record = read_record(run)
            st.markdown(f"**{record.method}** · {record.dataset.name} · IPC {record.ipc} · seed {record.seed}")
            if job is not None:
                s = job.snapshot()
                images, where = s.images, f"{s.status}, iteration {s.iteration}/{s.total_iterations}"
            else:
                its = run.snapshot_iterations()
                try:
                    images = run.load_snapshot(its[-1]) if its else None
                except ValueError as e:  # a cut or tampered snapshot
                    st.error(str(e))
                    images = None
                where = f"{run.read_status().get('status')}, iteration {its[-1] if its else 0}"
            if images is not None:
                ds = record.dataset
                show_grid(snapshot_grid(images, ds.mean, ds.std, record.ipc, ds.class_names), caption=f"{rid} ({where})")


st.fragment(run_every=1.0 if live else None)(grids)()

# ---- accuracy: each under its own protocol, or one for all ----------------------------------------------------------------------
st.subheader("Accuracy")
settings = protocol_settings("compare_eval", default_preset=PUBLISHED)
st.caption("preset `published`: each run under its own method's published protocol; any other preset: one "
           "protocol for all runs. The protocol is printed beside every number.")
key = session_task_key("compare_eval")  # per browser session
if st.button("Evaluate", key="compare_evaluate"):
    with user_errors():
        plan = plan_accuracy([open_run(rid) for rid in chosen], settings)
        eval_board().submit(key, "evaluation", plan.run)


def show_accuracy(results) -> None:
    st.dataframe([{"run": r.run.run_id, "method": r.run.record.method, "IPC": r.run.record.ipc,
                   "accuracy (%)": f"{100 * r.result.mean:.2f} ± {100 * r.result.std:.2f}",
                   "protocol": r.result.protocol_text} for r in results], hide_index=True)


task_panel(key, show_accuracy)

# ---- t-SNE and coverage ---------------------------------------------------------------------------------
st.subheader("Real versus synthetic features")
st.caption("Features: a ConvNet trained on the real training set (cached). t-SNE of a class-stratified "
           "sample of real points with every synthetic image; coverage = share of real points whose nearest "
           "synthetic neighbour lies within their 5-NN radius; MMD² with an RBF kernel (median heuristic).")
tkey = session_task_key("compare_tsne")  # per browser session
if st.button("Compute t-SNE and coverage", key="tsne"):
    with user_errors():
        eval_board().submit(tkey, "t-SNE and coverage", plan_feature_space([open_run(rid) for rid in chosen]).run)


def show_tsne(space) -> None:
    left, right = st.columns([3, 2])
    left.plotly_chart(tsne_figure(space.embedding, space.class_names), key="tsne_chart")
    right.dataframe([{"run": rid, "coverage (5-NN)": round(c.coverage, 3), "MMD²": round(c.mmd2, 4),
                      "synthetic points": c.num_synthetic, "real points": c.num_real}
                     for rid, c in space.coverage.items()], hide_index=True)


task_panel(tkey, show_tsne)

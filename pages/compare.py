"""Compare: two or more runs side by side — from one start, losses on one chart, the payoff chart, the
coverage animation, an HTML hand-out, accuracy under one protocol, t-SNE and coverage."""
from __future__ import annotations

import streamlit as st

from dclab.analysis.compare import plan_accuracy
from dclab.analysis.feature_space import plan_feature_space
from dclab.data import list_datasets
from dclab.eval.protocol import PUBLISHED
from dclab.jobs import RunSpec
from dclab.viz.figures import tsne_figure
from ui.classroom import (
    coverage_panel,
    explanation,
    html_export,
    loss_curves,
    pair_preset,
    payoff_panel,
    run_view,
    side_by_side,
)
from ui.state import eval_board, job_manager, open_run, readable_runs, session_task_key, user_errors
from ui.widgets import protocol_settings, task_panel

PAIR = ("dc", "dm")  # the methods "side by side" starts

st.title("Compare")
manager = job_manager()

# ---- one click: DC and DM from the same start ------------------------------------------------------
with st.expander("Start DC and DM side by side (same data set, IPC, initial images and seed)",
                 expanded=not st.session_state.get("compare_runs")):
    c = st.columns(5)
    datasets = list_datasets()
    dataset = c[0].selectbox("data set", datasets, index=datasets.index("digits") if "digits" in datasets else 0,
                             key="pair_dataset")
    ipc = c[1].number_input("IPC", 1, 50, 10, key="pair_ipc")
    seed = c[2].number_input("seed", 0, 2**31 - 1, 0, key="pair_seed")
    iterations = c[3].number_input("iterations (0 = preset)", 0, 100000, 0, key="pair_iterations")
    with c[4]:
        preset, note = pair_preset(PAIR, key="pair_preset")
    st.caption(note)
    if st.button("Start DC and DM", key="start_pair", type="primary"):
        with user_errors():
            ids = []
            for m in PAIR:
                job = manager.submit(RunSpec(dataset=dataset, method=m, ipc=int(ipc), seed=int(seed), preset=preset,
                                             iterations=int(iterations) or None, label="pair"))
                ids.append(job.id)
            st.session_state["compare_runs"] = ids
            st.rerun()
with st.expander("How DC and DM work: the two algorithm boxes"), st.container(key="explain_pair"):
    for col, m in zip(st.columns(len(PAIR)), PAIR):
        with col:
            explanation(m)

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
    views = [v for v in (run_view(rid, manager) for rid in chosen) if v is not None]
    if len(views) < len(chosen):
        st.error("a chosen run no longer exists")
    if views:
        with st.container(key="same_start"):
            side_by_side(views)
        with st.container(key="loss_curves"):
            loss_curves(views, key="compare")


st.fragment(run_every=1.0 if live else None)(grids)()
payoff_panel(chosen, key="compare_payoff")
coverage_panel(chosen, key="compare_coverage")
html_export(chosen, "compare_payoff", "compare_coverage", key="compare_export")

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

"""Evaluate: any run or coreset under a chosen protocol, plus a cross-architecture table (background)."""
from __future__ import annotations

import streamlit as st

from dclab.analysis.evaluation import CoresetChoice, SetAccuracy, plan_evaluation
from dclab.coresets import list_coresets
from dclab.data import list_datasets, load_dataset
from dclab.eval.protocol import PUBLISHED
from dclab.nets import list_nets
from dclab.runs.reader import run_dataset, synthetic_from_run
from dclab.runs.record import read_record
from ui.state import all_runs, eval_board, open_run, session_task_key, user_errors
from ui.widgets import protocol_settings, task_panel

st.title("Evaluate")
st.caption("Train K fresh networks on the set, test each on the real test set; mean ± std with the protocol.")
sources = ["run", "coreset"]
source = st.radio("what to evaluate", sources, horizontal=True, key="ev_source")
runs = [r.run_id for r in all_runs()]
if source == "run":
    if not runs:
        st.info("No runs yet.")
        st.stop()
    run_id = st.selectbox("run", runs, key="ev_run")
else:
    c = st.columns(4)
    datasets = list_datasets()
    co_name = c[0].selectbox("coreset", list_coresets(), key="ev_coreset")
    co_data = c[1].selectbox("data set", datasets, index=datasets.index("digits") if "digits" in datasets else 0,
                             key="ev_dataset")
    co_ipc = c[2].number_input("IPC", 1, 500, 10, key="ev_ipc")
    co_seed = c[3].number_input("seed", 0, 2**31 - 1, 0, key="ev_seed")

settings = protocol_settings("ev", default_preset=PUBLISHED, with_net=True)
cross = st.multiselect("cross-architecture: also train these networks", list_nets(), key="ev_cross")
key = session_task_key("evaluate_page")  # per browser session
if st.button("Evaluate", key="evaluate", type="primary"):
    with user_errors():  # a bad setting, name or IPC fails here, in the page, before any work
        if source == "run":
            run = open_run(run_id)
            syn = synthetic_from_run(run)
            plan = plan_evaluation(run_dataset(read_record(run)), settings, synthetic=syn, what=run_id,
                                   cross=cross)
        else:
            plan = plan_evaluation(load_dataset(co_data), settings, cross=cross,
                                   coreset=CoresetChoice(co_name, int(co_ipc), int(co_seed)))
        eval_board().submit(key, f"evaluation of {plan.what}", plan.run)


def show(accuracy: SetAccuracy) -> None:
    main = accuracy.result
    st.metric(accuracy.what, f"{100 * main.mean:.2f} ± {100 * main.std:.2f} %")
    st.caption(f"protocol: {main.protocol_text} · accuracies: "
               + ", ".join(f"{100 * a:.1f}" for a in main.accs))
    if accuracy.cross:
        st.markdown("**Cross-architecture** (trained on the same set)")
        st.dataframe([{"network": net, "accuracy (%)": f"{100 * r.mean:.2f} ± {100 * r.std:.2f}",
                       "protocol": r.protocol_text} for net, r in accuracy.cross.items()], hide_index=True)


task_panel(key, show)

"""Evaluate: any run or coreset under a chosen protocol, plus a cross-architecture table (background)."""
from __future__ import annotations

import streamlit as st

from dclab.coresets import list_coresets
from dclab.data import list_datasets, load_dataset
from dclab.eval.protocol import PUBLISHED
from dclab.eval.published import resolve_settings
from dclab.jobs import build_protocol
from dclab.nets import list_nets
from dclab.runs.reader import synthetic_from_run
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
    with user_errors():
        build_protocol(settings)  # a bad setting fails here, in the page
        if source == "run":
            syn, what = synthetic_from_run(open_run(run_id)), run_id
        else:
            syn, what = None, f"{co_name} coreset, {co_data}, IPC {co_ipc}, seed {co_seed}"
            load_dataset(co_data)  # fail here, in the page, if it is unavailable

        def task(progress, stop):
            from dclab.eval.evaluate import evaluate_cross_arch, evaluate_synthetic

            s = syn
            if s is None:
                from dclab.coresets import select_coreset

                s = select_coreset(co_name, load_dataset(co_data), int(co_ipc), seed=int(co_seed))
            data = load_dataset(s.dataset)
            protocol = resolve_settings(settings, method=s.method, dataset=data.name, ipc=s.ipc)
            steps = 1 + len(cross)
            main = evaluate_synthetic(s, data, protocol, progress=lambda d, t: progress(1000 * d // max(t, 1),
                                                                                        steps * 1000), stop=stop)
            table = {}
            if cross and not stop.is_set():
                table = evaluate_cross_arch(s, data, protocol, list(cross), progress=lambda d, t: progress(
                    1000 + 1000 * len(cross) * d // max(t, 1), steps * 1000))
            return what, main, table

        eval_board().submit(key, f"evaluation of {what}", task)


def show(result) -> None:
    what, main, table = result
    st.metric(f"{what}", f"{100 * main.mean:.2f} ± {100 * main.std:.2f} %")
    st.caption(f"protocol: {main.protocol_text} · accuracies: "
               + ", ".join(f"{100 * a:.1f}" for a in main.accs))
    if table:
        st.markdown("**Cross-architecture** (trained on the same set)")
        st.dataframe([{"network": net, "accuracy (%)": f"{100 * r.mean:.2f} ± {100 * r.std:.2f}",
                       "protocol": r.protocol_text} for net, r in table.items()], hide_index=True)


task_panel(key, show)

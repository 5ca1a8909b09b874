"""Multisize: for an MDC run, the accuracy of every subset S[n] (n = 1..N) against baselines.

C = prefixes of an ordinary IPC-N run of the same base method, B = N independent IPC-1 runs of it
concatenated, A = separate runs with IPC n (when present): one protocol, one core function
(`multisize_curves`). The run's selection timeline (n* and frozen images) is drawn from its metrics.
"""
from __future__ import annotations

import streamlit as st

from dclab.data import list_datasets, load_dataset
from dclab.eval.multisize import BASELINE_C, MULTISIZE
from dclab.jobs import RunSpec, build_protocol
from dclab.runs.reader import summarize_run, synthetic_from_run
from dclab.viz.figures import subset_curve_figure
from dclab.viz.multisize import selection_history, selection_timeline_figure
from ui.state import all_runs, eval_board, job_manager, open_run, user_errors
from ui.widgets import protocol_settings, task_panel

st.title("Multisize (MDC)")
st.caption("One MDC condensation yields every size: S[n] = the first n images of each class. "
           "Baselines: A separate IPC-n runs; B N independent IPC-1 runs concatenated; "
           "C prefixes of a plain IPC-N run of the base method.")
manager = job_manager()


def base_method_of(cfg: dict) -> str:
    """The base matching method of an MDC config ('base' field), default idc (MDC's default)."""
    c = cfg.get("config") or {}
    return str(c.get("base") or "idc")


with st.expander("Start an MDC run and its baseline C (and B: N IPC-1 runs), same data set, IPC, settings"):
    c = st.columns(5)
    datasets = list_datasets()
    dataset = c[0].selectbox("data set", datasets, index=datasets.index("digits") if "digits" in datasets else 0,
                             key="ms_dataset")
    ipc = c[1].number_input("IPC N", 2, 50, 5, key="ms_ipc")
    seed = c[2].number_input("seed", 0, 2**31 - 1, 0, key="ms_seed")
    iterations = c[3].number_input("iterations (0 = preset)", 0, 100000, 0, key="ms_iterations")
    with_b = c[4].checkbox("also baseline B (N IPC-1 runs)", value=False, key="ms_with_b")
    if st.button("Start MDC + baselines", key="start_mdc", type="primary"):
        with user_errors():
            mdc = manager.submit(RunSpec(dataset=dataset, method="mdc", ipc=int(ipc), seed=int(seed),
                                         iterations=int(iterations) or None, label="multisize"))
            base = base_method_of(mdc.run_dir.read_config())
            manager.submit(RunSpec(dataset=dataset, method=base, ipc=int(ipc), seed=int(seed),
                                   iterations=int(iterations) or None, label="baselineC"))
            for i in range(int(ipc) if with_b else 0):  # independent: seeds seed+1 .. seed+N
                manager.submit(RunSpec(dataset=dataset, method=base, ipc=1, seed=int(seed) + 1 + i,
                                       iterations=int(iterations) or None, label="baselineB"))
            st.session_state["ms_run"] = mdc.id
            st.rerun()

summaries = [summarize_run(r) for r in all_runs()]
mdc_runs = [s for s in summaries if s.method == "mdc"]
if not mdc_runs:
    st.info("No MDC run yet: start one above.")
    st.stop()
ids = [s.run_id for s in mdc_runs]
current = st.session_state.get("ms_run")
run_id = st.selectbox("MDC run", ids, index=ids.index(current) if current in ids else 0, key="ms_select")
mdc_sum = next(s for s in mdc_runs if s.run_id == run_id)
base = base_method_of(open_run(run_id).read_config())
same = [s for s in summaries if s.method == base and s.dataset == mdc_sum.dataset]
c_opts = ["(none)"] + [s.run_id for s in same if s.ipc == mdc_sum.ipc]
c_run = st.selectbox(f"baseline C: a plain {base} run with IPC {mdc_sum.ipc}", c_opts,
                     index=1 if len(c_opts) > 1 else 0, key="ms_c")
st.caption(f"curves: MDC = {run_id}; C = {c_run}")
a_runs = {s.ipc: s.run_id for s in reversed(same) if 1 < s.ipc < mdc_sum.ipc and s.status == "finished"}
st.caption(f"baseline A (separate {base} runs, IPC n): " +
           (", ".join(f"n={n}: {r}" for n, r in sorted(a_runs.items())) or "none present"))
ipc1 = [s.run_id for s in same if s.ipc == 1 and s.status == "finished"]
b_runs = st.multiselect(f"baseline B: independent IPC-1 {base} runs (the first N are concatenated)", ipc1,
                        default=ipc1[: mdc_sum.ipc], max_selections=mdc_sum.ipc, key="ms_b")
busy = [r for r in [run_id, c_run] if manager.get(r) is not None and not manager.get(r).ended]
if busy:
    st.warning(f"still running: {', '.join(busy)} — curves use their current images")

history = selection_history(open_run(run_id).read_metrics())
if history:
    st.subheader("Selection timeline")
    st.caption("n* = the most learnable subset whose loss is added; the first `frozen` images of every class "
               "get no gradient (sticky: the largest earlier n* below the current one).")
    st.plotly_chart(selection_timeline_figure(history), key="ms_timeline")

settings = protocol_settings("ms_eval")
key = "multisize_curves"
if st.button("Compute subset-accuracy curves", key="ms_evaluate"):
    with user_errors():
        protocol = build_protocol(settings)
        mdc_set = synthetic_from_run(open_run(run_id))
        c_set = synthetic_from_run(open_run(c_run)) if c_run != "(none)" else None
        a_sets = {n: synthetic_from_run(open_run(r)) for n, r in a_runs.items()}
        b_sets = [synthetic_from_run(open_run(r)) for r in b_runs]

        def task(progress, stop):
            from dclab.eval.multisize import multisize_curves

            curves = multisize_curves(load_dataset(mdc_set.dataset), protocol, mdc_set, baseline_c=c_set,
                                      ipc1_sets=b_sets, separate=a_sets, progress=progress, stop=stop)
            points = {label: [(p.n, p.result.mean, p.result.std) for p in pts] for label, pts in curves.items()}
            return points, protocol.describe()

        eval_board().submit(key, "subset-accuracy curves", task)


def show_curves(result) -> None:
    curves, protocol_text = result
    st.markdown(f"Protocol: **{protocol_text}**")
    left, right = st.columns([3, 2])
    left.plotly_chart(subset_curve_figure(curves), key="ms_chart")
    rows = {}
    for name, pts in curves.items():
        for n, mean, std in pts:
            rows.setdefault(n, {"n": n})[name] = f"{100 * mean:.2f} ± {100 * std:.2f}"
    right.dataframe([rows[n] for n in sorted(rows)], hide_index=True)
    avg = {name: sum(p[1] for p in pts) / len(pts) for name, pts in curves.items() if pts}
    right.caption("mean over n: " + "; ".join(f"{k} {100 * v:.2f} %" for k, v in avg.items()))
    c_pts = {p[0]: p[1] for p in curves.get(BASELINE_C, [])}
    m_pts = {p[0]: p[1] for p in curves.get(MULTISIZE, [])}
    common = sorted(set(c_pts) & set(m_pts))
    if common:
        gain = sum(m_pts[n] - c_pts[n] for n in common) / len(common)
        right.caption(f"MDC average gain over C: {100 * gain:+.2f} points (n = {common[0]}..{common[-1]})")


task_panel(key, show_curves)

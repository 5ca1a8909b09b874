"""Multisize: for an MDC run, the accuracy of every subset S[n] (n = 1..N) against baselines.

C = prefixes of an ordinary IPC-N run of the same base method (pick one or start it), A = separate
runs of the base method with IPC n (when present), all under one stated protocol.
"""
from __future__ import annotations

import streamlit as st

from dclab.data import list_datasets, load_dataset
from dclab.jobs import RunSpec, build_protocol
from dclab.methods import list_methods
from dclab.runs.export import synthetic_from_run
from dclab.viz.figures import subset_curve_figure
from dclab.viz.run_summary import summarize_run
from pages.common import (
    all_runs,
    eval_board,
    job_manager,
    open_run,
    protocol_settings,
    task_panel,
    user_errors,
)

st.title("Multisize (MDC)")
st.caption("One MDC condensation yields every size: S[n] = the first n images of each class. "
           "Baseline C: prefixes of a plain IPC-N run of the base method; A: separate IPC-n runs.")
manager = job_manager()
methods = list_methods()


def base_method_of(cfg: dict) -> str:
    """The base matching method of an MDC config ('base' or 'base_method' field), default dm."""
    c = cfg.get("config") or {}
    return str(c.get("base") or c.get("base_method") or "dm")


with st.expander("Start an MDC run and its baseline C (same data set, IPC, seed)"):
    c = st.columns(4)
    datasets = list_datasets()
    dataset = c[0].selectbox("data set", datasets, index=datasets.index("digits") if "digits" in datasets else 0,
                             key="ms_dataset")
    ipc = c[1].number_input("IPC N", 2, 50, 5, key="ms_ipc")
    seed = c[2].number_input("seed", 0, 2**31 - 1, 0, key="ms_seed")
    iterations = c[3].number_input("iterations (0 = preset)", 0, 100000, 0, key="ms_iterations")
    if "mdc" not in methods:
        st.warning("MDC is not registered in this build yet.")
    elif st.button("Start MDC + baseline C", key="start_mdc", type="primary"):
        with user_errors():
            mdc = manager.submit(RunSpec(dataset=dataset, method="mdc", ipc=int(ipc), seed=int(seed),
                                         iterations=int(iterations) or None, label="multisize"))
            base = base_method_of(mdc.run_dir.read_config())
            manager.submit(RunSpec(dataset=dataset, method=base, ipc=int(ipc), seed=int(seed),
                                   iterations=int(iterations) or None, label="baselineC"))
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
a_runs = {s.ipc: s.run_id for s in reversed(same) if s.ipc < mdc_sum.ipc and s.status == "finished"}
st.caption(f"baseline A (separate {base} runs, IPC n): " +
           (", ".join(f"n={n}: {r}" for n, r in sorted(a_runs.items())) or "none present"))
busy = [r for r in [run_id, c_run] if manager.get(r) is not None and not manager.get(r).ended]
if busy:
    st.warning(f"still running: {', '.join(busy)} — curves use their current images")

settings = protocol_settings("ms_eval")
key = "multisize_curves"
if st.button("Compute subset-accuracy curves", key="ms_evaluate"):
    with user_errors():
        protocol = build_protocol(settings)
        mdc_set = synthetic_from_run(open_run(run_id))
        c_set = synthetic_from_run(open_run(c_run)) if c_run != "(none)" else None
        a_sets = {n: synthetic_from_run(open_run(r)) for n, r in a_runs.items()}

        def task(progress, stop):
            from dclab.eval.evaluate import evaluate_synthetic
            from dclab.eval.multisize import subset_accuracy_curve

            data = load_dataset(mdc_set.dataset)
            phases = 1 + (c_set is not None) + len(a_sets)  # progress in per-mille of each phase

            def phase(i):
                return lambda d, t: progress(i * 1000 + (1000 * d // t if t else 0), phases * 1000)

            def points(results):
                return [(n + 1, r.mean, r.std) for n, r in enumerate(results)]

            curves = {"MDC": points(subset_accuracy_curve(mdc_set, data, protocol, progress=phase(0)))}
            if c_set is not None and not stop.is_set():
                curves["C: prefixes of a plain run"] = points(
                    subset_accuracy_curve(c_set, data, protocol, progress=phase(1)))
            a_points = []
            for i, (n, s) in enumerate(sorted(a_sets.items())):
                if stop.is_set():
                    break
                r = evaluate_synthetic(s, data, protocol, progress=phase(phases - len(a_sets) + i), stop=stop)
                a_points.append((n, r.mean, r.std))
            if a_points:
                curves["A: separate runs"] = a_points
            progress(phases * 1000, phases * 1000)
            return curves, protocol.describe()

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


task_panel(key, show_curves)

"""Compare: two or more runs side by side — from one start, losses on one chart, the payoff chart, the
coverage animation, an HTML hand-out, accuracy under one protocol, t-SNE and coverage."""
from __future__ import annotations

import streamlit as st

from dclab.data import list_datasets, load_dataset
from dclab.eval.protocol import PUBLISHED
from dclab.eval.published import resolve_settings
from dclab.jobs import RunSpec
from dclab.runs.reader import synthetic_from_run
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
        sets = {rid: synthetic_from_run(open_run(rid)) for rid in chosen}
        protocols = {rid: resolve_settings(settings, method=syn.method, dataset=syn.dataset, ipc=syn.ipc)
                     for rid, syn in sets.items()}

        def task(progress, stop):
            from dclab.eval.evaluate import evaluate_synthetic

            out, total = {}, sum(p.models for p in protocols.values())
            done = 0
            for rid, syn in sets.items():
                data = load_dataset(syn.dataset)
                protocol = protocols[rid]
                out[rid] = evaluate_synthetic(syn, data, protocol, device="auto", stop=stop,
                                              progress=lambda d, t, base=done: progress(base + d, total))
                done += protocol.models
                if stop.is_set():
                    break
            return out

        eval_board().submit(key, "evaluation", task)


def show_accuracy(results) -> None:
    st.dataframe([{"run": rid, "method": r.method, "IPC": r.ipc,
                   "accuracy (%)": f"{100 * r.mean:.2f} ± {100 * r.std:.2f}",
                   "protocol": r.protocol_text} for rid, r in results.items()], hide_index=True)


task_panel(key, show_accuracy)

# ---- t-SNE and coverage ---------------------------------------------------------------------------------
st.subheader("Real versus synthetic features")
st.caption("Features: a ConvNet trained on the real training set (cached). t-SNE of a class-stratified "
           "sample of real points with every synthetic image; coverage = share of real points whose nearest "
           "synthetic neighbour lies within their 5-NN radius; MMD² with an RBF kernel (median heuristic).")
tkey = session_task_key("compare_tsne")  # per browser session
if st.button("Compute t-SNE and coverage", key="tsne"):
    with user_errors():
        sets = {rid: synthetic_from_run(open_run(rid)) for rid in chosen}
        names = {s.dataset for s in sets.values()}
        if len(names) > 1:
            raise ValueError(f"the runs use different data sets ({', '.join(sorted(names))}); choose runs of one")

        def tsne_task(progress, stop):
            from dclab.eval.feature_net import embed_all, trained_feature_net
            from dclab.viz.coverage import coverage_metrics
            from dclab.viz.tsne import tsne_real_vs_synthetic

            data = load_dataset(names.pop())
            progress(0, 3)
            net = trained_feature_net(data, device="auto")
            progress(1, 3)
            real = embed_all(net, data.x_train).cpu()
            syn = {rid: (embed_all(net, s.images).cpu(), s.labels) for rid, s in sets.items()}
            coverage = {rid: coverage_metrics(real, f) for rid, (f, _) in syn.items()}
            progress(2, 3)
            emb = tsne_real_vs_synthetic(real, data.y_train, syn, seed=0)
            progress(3, 3)
            return emb, coverage, data.class_names

        eval_board().submit(tkey, "t-SNE and coverage", tsne_task)


def show_tsne(result) -> None:
    emb, coverage, class_names = result
    left, right = st.columns([3, 2])
    left.plotly_chart(tsne_figure(emb, class_names), key="tsne_chart")
    right.dataframe([{"run": rid, "coverage (5-NN)": round(c.coverage, 3), "MMD²": round(c.mmd2, 4),
                      "synthetic points": c.num_synthetic, "real points": c.num_real}
                     for rid, c in coverage.items()], hide_index=True)


task_panel(tkey, show_tsne)

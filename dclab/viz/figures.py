"""Plotly figures for the app: loss curve, t-SNE scatter, subset-accuracy curves (no streamlit here)."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from dclab.viz.tsne import TsneEmbedding
from dclab.viz.style import LEGEND_ABOVE, MARGIN

SYMBOLS = ("diamond", "star", "square", "triangle-up", "cross", "x", "pentagon", "hexagon")


def loss_figure(losses: Sequence[tuple[int, float]], evals: Sequence[dict] = ()) -> go.Figure:
    """Matching loss per iteration; test accuracy of periodic evaluations on a second axis."""
    fig = go.Figure()
    if losses:
        its, vals = zip(*losses)
        fig.add_trace(go.Scatter(x=list(its), y=list(vals), mode="lines", name="loss"))
    if evals:
        fig.add_trace(go.Scatter(
            x=[e["iteration"] for e in evals], y=[100 * e["mean"] for e in evals],
            error_y={"array": [100 * e.get("std", 0.0) for e in evals]},
            mode="markers+lines", name="test acc. (%)", yaxis="y2",
            hovertext=[e.get("protocol_text", "") for e in evals]))
        fig.update_layout(yaxis2={"title": "accuracy (%)", "overlaying": "y", "side": "right"})
    fig.update_layout(xaxis_title="iteration", yaxis_title="loss", height=300,
                      margin=MARGIN, legend=LEGEND_ABOVE)
    return fig


def tsne_figure(emb: TsneEmbedding, class_names: Sequence[str]) -> go.Figure:
    """Real points small and faint, coloured by class; each synthetic set large with its own symbol."""
    fig = go.Figure()
    real = emb.source == "real"
    fig.add_trace(go.Scatter(
        x=emb.points[real, 0], y=emb.points[real, 1], mode="markers", name="real",
        marker={"size": 5, "opacity": 0.45, "color": emb.labels[real], "colorscale": "Turbo",
                "cmin": 0, "cmax": max(len(class_names) - 1, 1)},
        text=[class_names[i] for i in emb.labels[real]]))
    names = [s for s in dict.fromkeys(emb.source.tolist()) if s != "real"]
    for k, name in enumerate(names):
        sel = emb.source == name
        fig.add_trace(go.Scatter(
            x=emb.points[sel, 0], y=emb.points[sel, 1], mode="markers", name=f"synthetic: {name}",
            marker={"size": 14, "symbol": SYMBOLS[k % len(SYMBOLS)], "color": emb.labels[sel],
                    "colorscale": "Turbo", "cmin": 0, "cmax": max(len(class_names) - 1, 1),
                    "line": {"width": 1.5, "color": "black"}},
            text=[class_names[i] for i in emb.labels[sel]]))
    fig.update_layout(height=520, margin=MARGIN,
                      legend=LEGEND_ABOVE, xaxis_title="t-SNE 1", yaxis_title="t-SNE 2")
    return fig


def subset_curve_figure(curves: dict[str, Sequence[tuple[int, float, float]]]) -> go.Figure:
    """One line per curve name: (n, mean acc 0..1, std) for subset sizes n = 1..N."""
    fig = go.Figure()
    for name, pts in curves.items():
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[100 * p[1] for p in pts],
                                 error_y={"array": [100 * p[2] for p in pts]},
                                 mode="lines+markers", name=name))
    fig.update_layout(xaxis_title="images per class n (subset S[n])", yaxis_title="test accuracy (%)",
                      height=420, margin=MARGIN, legend=LEGEND_ABOVE)
    return fig

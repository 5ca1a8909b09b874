"""Plotly figures of the analyses (no streamlit): payoff bars, coverage/MMD over iterations, the
coverage animation, loss curves of several runs on one chart, per-class loss curves."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from dclab.analysis.coverage_timeline import CoverageTimeline
from dclab.analysis.payoff import PayoffResult
from dclab.viz.style import LEGEND_ABOVE, MARGIN

SYNTHETIC_COLORS = ("#d62728", "#ff7f0e", "#9467bd", "#e377c2")  # one per synthetic set (a pair: two)
BASELINE_COLORS = {"random real": "#8c564b", "coreset": "#1f77b4", "whole training set": "#222222"}


def _bar_colors(names: Sequence[str]) -> list[str]:
    """Synthetic sets in warm colours, each its own; the baselines in fixed colours of their kind."""
    synthetic = iter(SYNTHETIC_COLORS * len(names))
    return [next(synthetic) if n.startswith("synthetic")
            else next((c for kind, c in BASELINE_COLORS.items() if n.startswith(kind)), "#7f7f7f")
            for n in names]


def payoff_figure(result: PayoffResult) -> go.Figure:
    """One bar per set (accuracy %, error bar = std over the K networks), the protocol as title."""
    bars = result.bars
    fig = go.Figure(go.Bar(
        x=[b.label for b in bars], y=[100 * b.result.mean for b in bars],
        error_y={"type": "data", "array": [100 * b.result.std for b in bars]},
        text=[f"{100 * b.result.mean:.1f} %" for b in bars], textposition="outside",
        marker={"color": _bar_colors([b.name for b in bars])},
        hovertext=[b.result.protocol_text for b in bars]))
    fig.update_layout(yaxis={"title": "test accuracy (%)", "range": [0, 105]}, height=380, margin=MARGIN,
                      title={"text": f"protocol: {result.protocol}", "font": {"size": 11}})
    return fig


def coverage_lines_figure(timeline: CoverageTimeline) -> go.Figure:
    """Coverage (left axis) and MMD² (right axis) over iterations, one pair of lines per run."""
    fig = go.Figure()
    for run in timeline.runs():
        frames = timeline.frames_of(run)
        name = f"{frames[0].method} ({run})"
        its = [f.iteration for f in frames]
        fig.add_trace(go.Scatter(x=its, y=[f.coverage for f in frames], mode="lines+markers",
                                 name=f"coverage: {name}"))
        fig.add_trace(go.Scatter(x=its, y=[f.mmd for f in frames], mode="lines", name=f"MMD²: {name}",
                                 yaxis="y2", line={"dash": "dot"}))
    fig.update_layout(xaxis_title="iteration", yaxis={"title": "coverage (5-NN)", "range": [0, 1]},
                      yaxis2={"title": "MMD²", "overlaying": "y", "side": "right"}, height=340,
                      margin=MARGIN, legend=LEGEND_ABOVE)
    return fig


def _frame_traces(timeline: CoverageTimeline, iteration: int) -> list[go.Scatter]:
    cmax = max(len(timeline.class_names) - 1, 1)
    names = timeline.class_names
    traces = [go.Scatter(x=timeline.real_xy[:, 0], y=timeline.real_xy[:, 1], mode="markers", name="real",
                         marker={"size": 4, "opacity": 0.35, "color": timeline.real_labels,
                                 "colorscale": "Turbo", "cmin": 0, "cmax": cmax},
                         text=[names[i] for i in timeline.real_labels] if names else None)]
    for k, run in enumerate(timeline.runs()):
        f = timeline.frame_at(run, iteration)
        traces.append(go.Scatter(
            x=f.xy[:, 0], y=f.xy[:, 1], mode="markers", name=f"{f.method} (it {f.iteration})",
            marker={"size": 13, "symbol": ["diamond", "star", "square", "triangle-up"][k % 4], "color": f.labels,
                    "colorscale": "Turbo", "cmin": 0, "cmax": cmax, "line": {"width": 1.5, "color": "black"}},
            text=[f"{names[i] if names else i}: coverage {f.coverage:.2f}" for i in f.labels]))
    return traces


def timeline_figure(timeline: CoverageTimeline) -> go.Figure:
    """The coverage animation: real points fixed, every run's synthetic points per iteration, with a
    slider and a play button (one frame per iteration any run has a snapshot at)."""
    its = timeline.iterations()
    fig = go.Figure(data=_frame_traces(timeline, its[0]),
                    frames=[go.Frame(data=_frame_traces(timeline, it), name=str(it)) for it in its])
    xs = [timeline.real_xy[:, 0]] + [f.xy[:, 0] for f in timeline.frames]
    ys = [timeline.real_xy[:, 1]] + [f.xy[:, 1] for f in timeline.frames]
    lo_x, hi_x = min(float(x.min()) for x in xs), max(float(x.max()) for x in xs)
    lo_y, hi_y = min(float(y.min()) for y in ys), max(float(y.max()) for y in ys)
    pad_x, pad_y = 0.05 * (hi_x - lo_x or 1), 0.05 * (hi_y - lo_y or 1)
    play = {"args": [None, {"frame": {"duration": 300, "redraw": True}, "fromcurrent": True}],
            "label": "play", "method": "animate"}
    fig.update_layout(
        height=520, margin=MARGIN, legend=LEGEND_ABOVE,
        xaxis={"range": [lo_x - pad_x, hi_x + pad_x], "title": "projection 1"},
        yaxis={"range": [lo_y - pad_y, hi_y + pad_y], "title": "projection 2"},
        updatemenus=[{"type": "buttons", "buttons": [play], "x": 0, "y": -0.08, "xanchor": "left"}],
        sliders=[{"currentvalue": {"prefix": "iteration "}, "pad": {"t": 40},
                  "steps": [{"label": str(it), "method": "animate",
                             "args": [[str(it)], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}]}
                            for it in its]}])
    return fig


def losses_figure(runs: Mapping[str, Sequence[tuple[int, float]]]) -> go.Figure:
    """Loss curves of several runs on one chart (each on its own scale: a second axis per run would
    not read; DC's and DM's losses are different quantities, so each is shown relative to its first value)."""
    fig = go.Figure()
    for name, points in runs.items():
        if not points:
            continue
        its, vals = zip(*points)
        first = vals[0] if vals[0] else 1.0
        fig.add_trace(go.Scatter(x=list(its), y=[v / first for v in vals], mode="lines", name=name,
                                 hovertext=[f"loss {v:.4g}" for v in vals]))
    fig.update_layout(xaxis_title="iteration", yaxis_title="loss / first loss", height=320, margin=MARGIN,
                      legend=LEGEND_ABOVE)
    return fig


def class_losses_figure(records: Sequence[Mapping[str, Any]], class_names: Sequence[str]) -> go.Figure:
    """One line per class from metrics records carrying `class_losses` (others are skipped)."""
    rows = [r for r in records if r.get("class_losses")]
    fig = go.Figure()
    for c, name in enumerate(class_names):
        fig.add_trace(go.Scatter(x=[r["iteration"] for r in rows], y=[r["class_losses"][c] for r in rows],
                                 mode="lines", name=str(name)))
    fig.update_layout(xaxis_title="iteration", yaxis_title="loss of the class", height=320, margin=MARGIN,
                      legend=LEGEND_ABOVE)
    return fig

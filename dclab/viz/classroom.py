"""Figures for the classroom views (no streamlit here): what changed from the initial images, loss
curves of several runs on one chart, per-class loss curves, the payoff bar chart and the coverage
animation. The app and the HTML report draw the same figures from these functions.

Inputs are the core's typed results (`PayoffResult`, `CoverageTimeline`) or plain sequences read
from a run's metrics, so each figure can be drawn for a live run and for a finished one.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
import torch
from PIL import Image
from plotly.subplots import make_subplots
from torch import Tensor

from dclab.viz.figures import SYMBOLS
from dclab.viz.grid import denormalize

# diverging colours of the difference map: darker than the start -> blue, unchanged -> white, brighter -> red
DARKER, BRIGHTER = (0.13, 0.40, 0.67), (0.70, 0.09, 0.17)
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf")
LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0}
PAYOFF_COLOURS = ("#d62728", "#7f7f7f", "#9467bd", "#2ca02c")  # synthetic, random real, coreset, whole set


def _layout(fig: go.Figure, height: int, **kwargs: Any) -> go.Figure:
    kwargs.setdefault("margin", {"l": 10, "r": 10, "t": 40, "b": 10})
    kwargs.setdefault("legend", LEGEND_ABOVE)
    fig.update_layout(height=height, **kwargs)
    return fig


# ---- what changed -----------------------------------------------------------------------------------
def pixel_change(initial: Tensor, now: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """Signed change in displayed pixels, now - initial, averaged over channels: (N, H, W) in [-1, 1]."""
    if initial.shape != now.shape:
        raise ValueError(f"initial images {tuple(initial.shape)} and current {tuple(now.shape)} differ in shape")
    return (denormalize(now, mean, std) - denormalize(initial, mean, std)).mean(dim=1)


def difference_images(change: Tensor, limit: float | None = None) -> tuple[Tensor, float]:
    """Colour a signed change (N, H, W) as (N, 3, H, W) pixels in [0, 1]: white = unchanged, red =
    brighter, blue = darker, full colour at |change| = limit (default: the largest change, so the
    map is never blank; pass the same limit to compare two runs). Returns (images, limit used)."""
    lim = float(change.abs().max()) if limit is None else float(limit)
    lim = lim if lim > 0 else 1.0
    t = (change / lim).clamp(-1, 1).unsqueeze(1)  # (N, 1, H, W)
    white = torch.ones(1, 3, 1, 1)
    darker, brighter = torch.tensor(DARKER).view(1, 3, 1, 1), torch.tensor(BRIGHTER).view(1, 3, 1, 1)
    pos, neg = t.clamp(min=0), (-t).clamp(min=0)
    return white + pos * (brighter - white) + neg * (darker - white), lim


def difference_grid(change: Tensor, ipc: int, class_names: Sequence[str] | None = None,
                    limit: float | None = None) -> tuple[Image.Image, float]:
    """The difference map of a class-major set as one grid (one row per class) and the limit used."""
    from dclab.runs.export import grid_image

    images, lim = difference_images(change, limit)
    return grid_image(images, ipc, class_names=list(class_names or []) or None), lim


def change_per_class(change: Tensor, ipc: int) -> list[float]:
    """Mean |change| of each class's images (class-major sets): how far each class moved."""
    n = change.shape[0]
    return change.abs().reshape(n // ipc, -1).mean(dim=1).tolist()


# ---- loss curves ------------------------------------------------------------------------------------
def losses_from_metrics(records: Sequence[Mapping[str, Any]]) -> tuple[list[tuple[int, float]], list[tuple[int, list[float]]]]:
    """(loss per iteration, per-class losses per iteration) from metrics.jsonl records (evaluations skipped)."""
    losses, per_class = [], []
    for r in records:
        if r.get("kind") == "eval" or "loss" not in r:
            continue
        it = int(r["iteration"])
        losses.append((it, float(r["loss"])))
        if r.get("class_losses"):
            per_class.append((it, [float(v) for v in r["class_losses"]]))
    return losses, per_class


def pair_loss_figure(curves: Mapping[str, Sequence[tuple[int, float]]]) -> go.Figure:
    """Several runs' losses on one chart. Each method's loss has its own unit (a gradient distance,
    an embedding distance), so each curve is divided by its first value: all start at 1 and the
    chart shows how far each fell; the hover text keeps the raw value."""
    fig = go.Figure()
    for k, (name, pts) in enumerate(curves.items()):
        if not pts:
            continue
        its, vals = zip(*pts)
        first = vals[0] if vals[0] else 1.0
        fig.add_trace(go.Scatter(x=list(its), y=[v / first for v in vals], mode="lines", name=name,
                                 line={"color": CLASS_COLOURS[k % len(CLASS_COLOURS)]},
                                 customdata=list(vals), hovertemplate="iteration %{x}<br>loss %{customdata:.4g}"))
    return _layout(fig, 320, xaxis_title="iteration", yaxis_title="loss ÷ its first value")


def class_loss_figure(runs: Mapping[str, Sequence[tuple[int, Sequence[float]]]],
                      class_names: Sequence[str]) -> go.Figure:
    """Per-class loss curves, one panel per run, one colour per class (the same colour in every panel)."""
    names = list(runs)
    fig = make_subplots(rows=1, cols=max(len(names), 1), subplot_titles=names or None, shared_xaxes=False)
    for col, name in enumerate(names, start=1):
        pts = runs[name]
        if not pts:
            continue
        its = [p[0] for p in pts]
        for c in range(len(pts[0][1])):
            label = class_names[c] if c < len(class_names) else str(c)
            fig.add_trace(go.Scatter(x=its, y=[p[1][c] for p in pts], mode="lines", name=label,
                                     legendgroup=label, showlegend=col == 1,
                                     line={"color": CLASS_COLOURS[c % len(CLASS_COLOURS)], "width": 1.5}),
                          row=1, col=col)
        fig.update_xaxes(title_text="iteration", row=1, col=col)
    fig.update_yaxes(title_text="loss of the class", row=1, col=1)
    return _layout(fig, 380, legend=LEGEND_BELOW, margin={"l": 10, "r": 10, "t": 40, "b": 40})


# ---- the payoff -------------------------------------------------------------------------------------
def payoff_label(name: str, images_per_class: int | None) -> str:
    return f"{name}<br>({images_per_class} / class)" if images_per_class else f"{name}<br>(all images)"


def payoff_figure(result: Any, title: str = "") -> go.Figure:
    """One bar per training set (a PayoffResult's bars, in order): mean test accuracy with the std over
    the K networks as error bars, the value written on the bar; the protocol line under the chart."""
    bars = list(result.bars)
    x = [payoff_label(b.name, b.images_per_class) for b in bars]
    y = [100 * b.result.mean for b in bars]
    err = [100 * b.result.std for b in bars]
    fig = go.Figure(go.Bar(
        x=x, y=y, error_y={"type": "data", "array": err, "visible": True},
        marker_color=[PAYOFF_COLOURS[i % len(PAYOFF_COLOURS)] for i in range(len(bars))],
        text=[f"{v:.1f} ± {e:.1f} %" for v, e in zip(y, err)], textposition="inside",
        hovertemplate="%{x}<br>%{y:.2f} %<extra></extra>"))
    fig.update_yaxes(title_text="test accuracy (%)", range=[0, 100])
    return _layout(fig, 380, title=title or None, showlegend=False)


# ---- coverage over time -----------------------------------------------------------------------------
def frames_by_run(timeline: Any) -> dict[str, list[Any]]:
    """The timeline's frames grouped by run, each list ordered by iteration."""
    out: dict[str, list[Any]] = {}
    for f in timeline.frames:
        out.setdefault(f.run, []).append(f)
    return {run: sorted(fs, key=lambda f: f.iteration) for run, fs in out.items()}


def _frame_at(frames: Sequence[Any], iteration: int) -> Any:
    """The newest frame at or before `iteration` (the first one before a run's first snapshot)."""
    best = frames[0]
    for f in frames:
        if f.iteration <= iteration:
            best = f
    return best


def _synthetic_traces(runs: Mapping[str, Sequence[Any]], iteration: int, cmax: int,
                      class_names: Sequence[str]) -> list[go.Scatter]:
    traces = []
    for k, (run, frames) in enumerate(runs.items()):
        f = _frame_at(frames, iteration)
        traces.append(go.Scatter(
            x=f.xy[:, 0], y=f.xy[:, 1], mode="markers", name=f"{run} (coverage {f.coverage:.2f})",
            marker={"size": 13, "symbol": SYMBOLS[k % len(SYMBOLS)], "color": list(f.labels), "colorscale": "Turbo",
                    "cmin": 0, "cmax": cmax, "line": {"width": 1.5, "color": "black"}},
            text=[class_names[int(i)] if int(i) < len(class_names) else str(int(i)) for i in f.labels]))
    return traces


def timeline_figure(timeline: Any, class_names: Sequence[str] = ()) -> go.Figure:
    """Animation of the synthetic points moving over the real points in one joint embedding: a slider
    and Play/Pause over every iteration any run has a snapshot at; all runs in the same frames."""
    runs = frames_by_run(timeline)
    iterations = sorted({f.iteration for fs in runs.values() for f in fs})
    cmax = max(len(class_names) - 1, int(max(timeline.real_labels.max(), 1)) if len(timeline.real_labels) else 1)
    real = go.Scatter(x=timeline.real_xy[:, 0], y=timeline.real_xy[:, 1], mode="markers", name="real",
                      marker={"size": 5, "opacity": 0.35, "color": list(timeline.real_labels),
                              "colorscale": "Turbo", "cmin": 0, "cmax": cmax},
                      hoverinfo="skip")
    start = iterations[0] if iterations else 0
    fig = go.Figure(data=[real, *_synthetic_traces(runs, start, cmax, class_names)])
    syn_idx = list(range(1, 1 + len(runs)))
    fig.frames = [go.Frame(name=str(it), data=_synthetic_traces(runs, it, cmax, class_names), traces=syn_idx)
                  for it in iterations]
    step_args = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}
    play = {"frame": {"duration": 350, "redraw": True}, "fromcurrent": True, "transition": {"duration": 150}}
    fig.update_layout(
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0.0, "y": -0.08, "xanchor": "left",
                      "buttons": [{"label": "▶ Play", "method": "animate", "args": [None, play]},
                                  {"label": "❚❚ Pause", "method": "animate",
                                   "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}]}]}],
        sliders=[{"active": 0, "x": 0.15, "len": 0.85, "y": -0.04, "currentvalue": {"prefix": "iteration "},
                  "steps": [{"label": str(it), "method": "animate", "args": [[str(it)], step_args]}
                            for it in iterations]}],
        xaxis={"showticklabels": False, "title": "embedding 1"},
        yaxis={"showticklabels": False, "title": "embedding 2"})
    return _layout(fig, 560, margin={"l": 10, "r": 10, "t": 30, "b": 90})


def coverage_line_figure(timeline: Any) -> go.Figure:
    """Coverage (left) and MMD (right) of each run over its iterations."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("coverage of the real data (higher = better)",
                                                        "MMD to the real data (lower = better)"))
    for k, (run, frames) in enumerate(frames_by_run(timeline).items()):
        colour = CLASS_COLOURS[k % len(CLASS_COLOURS)]
        its = [f.iteration for f in frames]
        fig.add_trace(go.Scatter(x=its, y=[f.coverage for f in frames], mode="lines+markers", name=run,
                                 legendgroup=run, line={"color": colour}), row=1, col=1)
        fig.add_trace(go.Scatter(x=its, y=[f.mmd for f in frames], mode="lines+markers", name=run,
                                 legendgroup=run, showlegend=False, line={"color": colour}), row=1, col=2)
    fig.update_xaxes(title_text="iteration")
    return _layout(fig, 360, legend=LEGEND_BELOW, margin={"l": 10, "r": 10, "t": 40, "b": 40})

"""MDC's selection timeline from a run's metrics: which n* was the MLS when, which images were frozen."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from dclab.viz.style import LEGEND_ABOVE, MARGIN


@dataclass(frozen=True)
class SelectionStep:
    iteration: int  # iterations completed after this step
    mls: int  # n* used in this step (0 = none yet)
    frozen: int  # images per class frozen in this step (the first `frozen` of each class)
    selected: int | None  # n* chosen at the end of this step (a measurement step), else None


def selection_history(records: Iterable[Mapping[str, Any]]) -> list[SelectionStep]:
    """The MDC steps of a run's metrics records (those carrying 'mls'), in order."""
    out = []
    for r in records:
        if "mls" not in r:
            continue
        selected = r.get("selected")
        out.append(SelectionStep(int(r["iteration"]), int(r["mls"]), int(r.get("frozen", 0)),
                                 None if selected is None else int(selected)))
    return out


def selection_timeline_figure(history: list[SelectionStep]) -> go.Figure:
    """Step lines of n* and of the frozen prefix over iterations; markers where n* was chosen."""
    fig = go.Figure()
    x = [s.iteration for s in history]
    fig.add_trace(go.Scatter(x=x, y=[s.frozen for s in history], mode="lines", line_shape="hv",
                             fill="tozeroy", name="frozen images per class"))
    fig.add_trace(go.Scatter(x=x, y=[s.mls for s in history], mode="lines", line_shape="hv",
                             name="most learnable subset n*"))
    picks = [s for s in history if s.selected is not None]
    fig.add_trace(go.Scatter(x=[s.iteration for s in picks], y=[s.selected for s in picks], mode="markers",
                             marker={"symbol": "diamond", "size": 9}, name="selection (n* chosen)"))
    fig.update_layout(xaxis_title="iteration", yaxis_title="images per class", height=300,
                      margin=MARGIN, legend=LEGEND_ABOVE)
    return fig

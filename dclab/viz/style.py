"""Layout shared by the figures: margins, and a horizontal legend ABOVE the plot (plotly's
horizontal legend sits below it by default, on top of the x-axis title)."""
from __future__ import annotations

MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0}

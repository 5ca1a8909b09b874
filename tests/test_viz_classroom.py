"""What the classroom views rely on in the figures of dclab/viz/analysis_figures.py, beyond
tests/test_classroom_analysis.py (difference colours, frame/slider counts): losses of several runs on one
relative scale, per-class lines, the payoff's error bars, a run holding its newest frame in the
coverage animation, coverage/MMD values. Plain inputs; no Streamlit."""
from __future__ import annotations

import numpy as np
import pytest

from dclab.analysis.coverage_timeline import CoverageTimeline, TimelineFrame
from dclab.analysis.payoff import PayoffBar, PayoffResult
from dclab.eval.protocol import EvalProtocol
from dclab.eval.result import EvalResult
from dclab.viz.analysis_figures import (
    class_losses_figure,
    coverage_lines_figure,
    losses_figure,
    payoff_figure,
    timeline_figure,
)


def test_losses_of_several_runs_on_one_relative_scale():
    fig = losses_figure({"dc": [(1, 4.0), (2, 2.0)], "dm": [(1, 100.0), (2, 90.0)], "empty": []})
    assert [t.name for t in fig.data] == ["dc", "dm"]
    assert list(fig.data[0].y) == [1.0, 0.5] and list(fig.data[1].y) == [1.0, 0.9]
    assert list(fig.data[1].hovertext) == ["loss 100", "loss 90"]  # the raw value stays in the hover


def test_class_losses_one_line_per_class_from_metrics_records():
    records = [{"iteration": 1, "loss": 3.0, "class_losses": [1.0, 2.0]},
               {"kind": "eval", "iteration": 1, "mean": 0.5},
               {"iteration": 2, "loss": 1.5, "class_losses": [0.5, 1.0]}]
    fig = class_losses_figure(records, ["a", "b"])
    assert [t.name for t in fig.data] == ["a", "b"]
    assert list(fig.data[1].x) == [1, 2] and list(fig.data[1].y) == [2.0, 1.0]


def _result(accs):
    return EvalResult(accs=accs, protocol=EvalProtocol.build("quick"), dataset="digits", method="dm", ipc=10,
                      seconds=1.0)


def test_payoff_figure_one_bar_per_set_with_error_bars_in_percent():
    result = PayoffResult(bars=(PayoffBar("synthetic (dm)", 10, _result((0.80, 0.90))),
                                PayoffBar("random real", 10, _result((0.60, 0.60))),
                                PayoffBar("whole training set", None, _result((0.97, 0.99)))),
                          protocol="ConvNet quick")
    (bars,) = payoff_figure(result).data
    assert list(bars.x) == ["synthetic (dm) (10/class)", "random real (10/class)", "whole training set (all/class)"]
    assert list(bars.y) == pytest.approx([85.0, 60.0, 98.0])
    assert list(bars.error_y.array) == pytest.approx([5.0, 0.0, 1.0])  # std over the K networks, in %


def test_payoff_figure_gives_each_synthetic_set_its_own_colour_apart_from_the_baselines():
    names = ("synthetic (dm)", "synthetic (dc)", "random real", "coreset (herding)", "whole training set")
    result = PayoffResult(bars=tuple(PayoffBar(n, 10, _result((0.5, 0.6))) for n in names), protocol="quick")
    colours = list(payoff_figure(result).data[0].marker.color)
    assert len(set(colours)) == len(names)  # a pair's second set no longer looks like a baseline


def _frame(run, iteration, coverage):
    return TimelineFrame(run=run, method=run, iteration=iteration, xy=np.full((4, 2), float(iteration)),
                         labels=np.array([0, 0, 1, 1]), coverage=coverage, mmd=1 - coverage)


def _timeline():
    frames = (_frame("dc", 0, 0.1), _frame("dc", 5, 0.2), _frame("dm", 0, 0.1), _frame("dm", 10, 0.3))
    return CoverageTimeline(real_xy=np.zeros((6, 2)), real_labels=np.array([0, 0, 0, 1, 1, 1]), frames=frames,
                            projection="PCA", class_names=("a", "b"))


def test_coverage_animation_moves_both_runs_over_the_union_of_iterations():
    fig = timeline_figure(_timeline())
    assert [f.name for f in fig.frames] == ["0", "5", "10"]
    assert fig.layout.updatemenus[0].buttons[0].method == "animate"
    last = {t.name: t for t in fig.frames[-1].data}
    assert last["dm (it 10)"].x[0] == 10.0 and last["dc (it 5)"].x[0] == 5.0  # dc holds its newest frame
    assert last["real"].x.shape == (6,)


def test_coverage_lines_have_coverage_and_mmd_per_run():
    fig = coverage_lines_figure(_timeline())
    assert len(fig.data) == 4
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["coverage: dc (dc)"].y) == [0.1, 0.2]
    assert list(by_name["MMD²: dm (dm)"].y) == pytest.approx([0.9, 0.7])


def test_horizontal_legends_sit_above_the_plot_not_on_the_axis_title():
    """Plotly's horizontal legend goes below the plot by default, over the x-axis title."""
    from dclab.viz.figures import loss_figure, subset_curve_figure

    figures = [losses_figure({"dc": [(1, 4.0), (2, 2.0)], "dm": [(1, 1.0), (2, 0.5)]}),
               class_losses_figure([{"iteration": 1, "loss": 3.0, "class_losses": [1.0, 2.0]}], ["a", "b"]),
               timeline_figure(_timeline()), coverage_lines_figure(_timeline()),
               loss_figure([(1, 2.0)], [{"iteration": 1, "mean": 0.5}]),
               subset_curve_figure({"MDC": [(1, 0.4, 0.0)], "C": [(1, 0.3, 0.0)]})]
    for fig in figures:
        assert fig.layout.legend.orientation == "h" and fig.layout.legend.y >= 1.0, fig.layout.legend
        assert fig.layout.legend.yanchor == "bottom"

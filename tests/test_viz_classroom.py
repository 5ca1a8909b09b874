"""The classroom figures (dclab/viz/classroom.py): difference maps, loss curves, payoff bars, the
coverage animation. Plain tensors and the core's result types; no Streamlit."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dclab.viz.classroom import (
    BRIGHTER,
    DARKER,
    change_per_class,
    class_loss_figure,
    coverage_line_figure,
    difference_grid,
    difference_images,
    frames_by_run,
    losses_from_metrics,
    pair_loss_figure,
    payoff_figure,
    pixel_change,
    timeline_figure,
)

MEAN, STD = (0.5,), (0.25,)


def test_pixel_change_is_in_displayed_pixels_and_signed():
    initial = torch.zeros(2, 1, 3, 3)  # normalised 0 -> pixel 0.5
    now = initial.clone()
    now[0, 0, 0, 0] = 1.0  # +0.25 in pixels
    now[1, 0, 2, 2] = -1.0  # -0.25
    change = pixel_change(initial, now, MEAN, STD)
    assert change.shape == (2, 3, 3)
    assert change[0, 0, 0].item() == pytest.approx(0.25) and change[1, 2, 2].item() == pytest.approx(-0.25)
    assert change.abs().sum().item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="differ in shape"):
        pixel_change(initial, now[:1], MEAN, STD)


def test_difference_map_white_unchanged_red_brighter_blue_darker():
    change = torch.tensor([[[0.0, 0.2, -0.4]]])  # (1, 1, 3)
    images, limit = difference_images(change)
    assert limit == pytest.approx(0.4)  # the largest change gets full colour
    assert images.shape == (1, 3, 1, 3)
    assert torch.allclose(images[0, :, 0, 0], torch.ones(3))  # unchanged: white
    assert torch.allclose(images[0, :, 0, 2], torch.tensor(DARKER))  # darker at full scale: blue
    half_red = 1 + 0.5 * (torch.tensor(BRIGHTER) - 1)
    assert torch.allclose(images[0, :, 0, 1], half_red)  # brighter by half the limit: half-way to red
    fixed, lim = difference_images(change, limit=0.8)  # a shared scale: the same change is paler
    assert lim == 0.8 and fixed[0, 0, 0, 2] > images[0, 0, 0, 2]
    blank, lim = difference_images(torch.zeros(1, 2, 2))  # nothing changed: all white, no division by 0
    assert lim == 1.0 and torch.allclose(blank, torch.ones_like(blank))


def test_difference_grid_and_change_per_class():
    change = torch.zeros(4, 8, 8)  # 2 classes x 2 images
    change[2:] = 0.1  # only class 1 moved
    grid, limit = difference_grid(change, ipc=2, class_names=["a", "b"])
    assert limit == pytest.approx(0.1) and grid.size[0] > 2 * 8 and grid.size[1] > 2 * 8
    assert change_per_class(change, ipc=2) == pytest.approx([0.0, 0.1])


def test_losses_from_metrics_skips_evaluations_and_keeps_class_losses():
    records = [{"iteration": 1, "loss": 2.0, "class_losses": [1.0, 3.0], "seconds": 0.1},
               {"kind": "eval", "iteration": 1, "mean": 0.5, "std": 0.0},
               {"iteration": 2, "loss": 1.0, "class_losses": [], "seconds": 0.1}]
    losses, per_class = losses_from_metrics(records)
    assert losses == [(1, 2.0), (2, 1.0)]
    assert per_class == [(1, [1.0, 3.0])]


def test_pair_loss_figure_puts_runs_on_one_relative_scale():
    fig = pair_loss_figure({"dc": [(1, 4.0), (2, 2.0)], "dm": [(1, 100.0), (2, 90.0)], "empty": []})
    assert [t.name for t in fig.data] == ["dc", "dm"]
    assert list(fig.data[0].y) == [1.0, 0.5] and list(fig.data[1].y) == [1.0, 0.9]
    assert list(fig.data[1].customdata) == [100.0, 90.0]  # the raw value stays in the hover


def test_class_loss_figure_one_panel_per_run_one_colour_per_class():
    pts = [(1, [1.0, 2.0, 3.0]), (2, [0.5, 1.0, 1.5])]
    fig = class_loss_figure({"dc": pts, "dm": pts}, ["a", "b", "c"])
    assert len(fig.data) == 6
    assert [t.showlegend for t in fig.data] == [True] * 3 + [False] * 3  # one legend entry per class
    assert fig.data[0].line.color == fig.data[3].line.color
    assert {t.xaxis for t in fig.data} == {"x", "x2"}


class _Frame:
    def __init__(self, run, iteration, coverage):
        self.run, self.iteration, self.coverage, self.mmd = run, iteration, coverage, 1 - coverage
        self.xy = np.full((4, 2), float(iteration))
        self.labels = np.array([0, 0, 1, 1])


class _Timeline:
    def __init__(self, frames):
        self.real_xy = np.zeros((6, 2))
        self.real_labels = np.array([0, 0, 0, 1, 1, 1])
        self.frames = tuple(frames)


def test_timeline_figure_animates_both_runs_over_the_union_of_iterations():
    tl = _Timeline([_Frame("dm", 10, 0.3), _Frame("dc", 0, 0.1), _Frame("dm", 0, 0.1), _Frame("dc", 5, 0.2)])
    assert [f.iteration for f in frames_by_run(tl)["dc"]] == [0, 5]
    fig = timeline_figure(tl, ["a", "b"])
    assert [f.name for f in fig.frames] == ["0", "5", "10"]
    assert [s.label for s in fig.layout.sliders[0].steps] == ["0", "5", "10"]
    assert {b.label for b in fig.layout.updatemenus[0].buttons} == {"▶ Play", "❚❚ Pause"}
    last = fig.frames[-1]
    assert list(last.traces) == [1, 2]  # the real points (trace 0) stay; both runs move
    by_name = {t.name.split(" ")[0]: t for t in last.data}
    assert by_name["dm"].x[0] == 10.0 and by_name["dc"].x[0] == 5.0  # dc holds its newest frame


def test_coverage_line_figure_has_coverage_and_mmd_per_run():
    tl = _Timeline([_Frame("dc", 0, 0.1), _Frame("dc", 5, 0.4)])
    fig = coverage_line_figure(tl)
    assert len(fig.data) == 2
    assert list(fig.data[0].y) == [0.1, 0.4] and list(fig.data[1].y) == pytest.approx([0.9, 0.6])


def _bar(name, ipc, accs):
    from dclab.analysis.payoff import PayoffBar
    from dclab.eval.protocol import EvalProtocol
    from dclab.eval.result import EvalResult

    return PayoffBar(name, ipc, EvalResult(accs=accs, protocol=EvalProtocol.build("quick"), dataset="digits",
                                           method=name, ipc=ipc or 0, seconds=1.0))


def test_payoff_figure_one_bar_per_set_with_error_bars_in_percent():
    from dclab.analysis.payoff import PayoffResult

    result = PayoffResult(bars=(_bar("synthetic (dm)", 10, (0.80, 0.90)), _bar("random real", 10, (0.60, 0.60)),
                                _bar("whole training set", None, (0.97, 0.99))), protocol="ConvNet ...")
    fig = payoff_figure(result)
    (bars,) = fig.data
    assert list(bars.x) == ["synthetic (dm)<br>(10 / class)", "random real<br>(10 / class)",
                            "whole training set<br>(all images)"]
    assert list(bars.y) == pytest.approx([85.0, 60.0, 98.0])
    assert list(bars.error_y.array) == pytest.approx([5.0, 0.0, 1.0])  # std over the K networks, in %
    assert bars.text[0] == "85.0 ± 5.0 %"

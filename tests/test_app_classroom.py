"""The classroom views under AppTest, over real tiny runs: Compare shows runs from one start with the
initial images once and both results beside them, the losses on one chart and per-class losses;
Condense shows initial vs now and the algorithm box of each method. (The payoff chart, the coverage
animation and the hand-out are driven in a real browser: tests/test_e2e_classroom.py.)"""
from __future__ import annotations

import json

import pytest
import torch
from test_app import app_at, runs_dir, tiny_run  # noqa: F401 - runs_dir is a fixture

from dclab.methods import METHODS
from dclab.methods.explain import get_explanation
from dclab.runs import RunDir
from dclab.viz.difference import difference_rgb


def image_captions(at) -> list[str]:
    return [c for img in at.image for c in img.captions]


def plotly_specs(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def test_compare_shows_one_start_both_results_and_losses_on_one_chart(runs_dir):  # noqa: F811
    dc, dm = tiny_run(runs_dir, "dc", seed=3), tiny_run(runs_dir, "dm", seed=3)
    assert torch.equal(dc.load_snapshot(0), dm.load_snapshot(0))  # same seed: same initial images
    at = app_at("compare")
    assert not at.exception, at.exception
    assert any(m.value.startswith("**Same start:**") for m in at.markdown)
    caps = image_captions(at)
    assert caps.count("iteration 0, the same for every run") == 1  # the shared start, shown once
    assert any(c.startswith(f"{dc.run_id} (finished") for c in caps)
    assert any(c.startswith(f"{dm.run_id} (finished") for c in caps)
    assert "dc: now − initial" in caps and "dm: now − initial" in caps
    specs = plotly_specs(at)
    names = [[t.get("name") for t in s["data"]] for s in specs]
    assert sorted(names[0]) == ["dc", "dm"]  # both losses, one chart
    assert all(t["y"][0] == 1.0 for t in specs[0]["data"])  # each relative to its first value
    assert [len(s["data"]) for s in specs[1:3]] == [10, 10]  # per-class losses: a chart per run, 10 classes


def test_compare_runs_from_different_starts_are_each_shown_against_their_own(runs_dir):  # noqa: F811
    tiny_run(runs_dir, "dm", seed=1)
    tiny_run(runs_dir, "dm", seed=2)
    at = app_at("compare")
    assert not at.exception, at.exception
    assert any("start from different images" in c.value for c in at.caption)
    assert "iteration 0, the same for every run" not in image_captions(at)


def test_condense_shows_initial_vs_now_of_a_finished_run(runs_dir):  # noqa: F811
    run = tiny_run(runs_dir, "dm", iterations=3)
    at = app_at("condense")
    assert not at.exception, at.exception
    caps = image_captions(at)
    assert "initial images (iteration 0)" in caps and "now (iteration 3)" in caps
    diff = [c for c in caps if c.startswith("difference now − initial")]
    assert len(diff) == 1
    shown = diff[0].rsplit("±", 1)[1].rstrip(")")
    ds = RunDir.open(run.path).read_config()["dataset"]
    _, scale = difference_rgb(run.load_snapshot(0), run.load_snapshot(3), ds["mean"], ds["std"])
    assert scale > 0.01  # the run moved its images ...
    assert shown.split(":")[0] == f"{scale:.2f}"  # ... and the map's scale (99th percentile of the change) is stated


@pytest.mark.parametrize("method", METHODS.names())
def test_condense_form_explains_the_chosen_method(runs_dir, method):  # noqa: F811
    at = app_at("condense")
    at.selectbox(key="method").set_value(method).run()
    assert not at.exception, at.exception
    e = get_explanation(method)
    assert [x.value for x in at.latex] == [f"$$\n{e.objective}\n$$"]  # the algorithm box of the chosen method
    text = "\n".join(m.value for m in at.markdown)
    assert e.title in text and e.loop[0] in text and e.watch in text
    assert f"Paper: {e.paper}" in [c.value for c in at.caption]


def test_run_view_explains_its_method_with_its_cost_per_iteration(runs_dir):  # noqa: F811
    run = tiny_run(runs_dir, "dm", iterations=3)
    secs = sorted(float(r["seconds"]) for r in run.read_metrics() if "seconds" in r)
    at = app_at("condense")
    costs = [m.value for m in at.markdown if m.value.startswith("**Cost here:**")]
    # the form's box and the run's own: the median of its 3 recorded steps, per preset, on this device
    assert costs == [f"**Cost here:** {secs[1]:.3g} s per iteration on cpu (preset cpu; median of 3 iterations "
                     "in 1 run)"] * 2, costs

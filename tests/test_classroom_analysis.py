"""Analyses of finished runs on real torch runs (digits, tiny settings): per-class losses in
metrics.jsonl, the shared initial images of a pair, the payoff bars (function and CLI)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from dclab.analysis.payoff import balanced_training_set, payoff, whole_epochs
from dclab.cli.main import main
from dclab.eval.protocol import EvalProtocol
from dclab.jobs import JobManager, RunSpec
from dclab.methods import get_method
from dclab.methods._base import init_images
from dclab.runs import RunDir

PER_CLASS = ("dc", "dsa", "dm", "idc", "mdc")  # the methods whose loss is a sum over classes
TINY = {"width": 16, "batch_real": 16, "outer_loop": 2, "inner_loop": 1, "n_data": 32, "delta_t": 2}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """DC and DM started together (same seed, data set, IPC), run to the end in two worker threads."""
    root = tmp_path_factory.mktemp("runs")
    manager = JobManager(root, max_running_per_device=2)
    jobs = {m: manager.submit(RunSpec(dataset="digits", method=m, ipc=2, seed=3, device="cpu", preset="classroom",
                                      iterations=4, overrides={"width": 16, "batch_real": 16}))
            for m in ("dc", "dm")}
    for job in jobs.values():
        assert job.wait(300)
    manager.shutdown()
    return {m: RunDir.open(j.run_dir.path) for m, j in jobs.items()}


@pytest.mark.parametrize("name", PER_CLASS)
def test_step_reports_one_loss_per_class_summing_to_the_loss(name, digits):
    cls = get_method(name)
    fields = {f.name for f in cls.config_class.fields_info()}
    cfg = cls.config_class.build("classroom", {k: v for k, v in TINY.items() if k in fields})
    m = cls(digits, 2, cfg, seed=0, device="cpu").step()
    assert len(m.class_losses) == digits.num_classes and all(math.isfinite(v) for v in m.class_losses)
    assert sum(m.class_losses) == pytest.approx(m.loss, rel=1e-4)
    assert len(set(m.class_losses)) > 1  # really per class, not one number repeated


def test_run_records_class_losses_in_metrics(pair, digits):
    for run in pair.values():
        steps = [r for r in run.read_metrics() if "kind" not in r]
        assert [r["iteration"] for r in steps] == [1, 2, 3, 4]
        for r in steps:
            assert len(r["class_losses"]) == digits.num_classes
            assert sum(r["class_losses"]) == pytest.approx(r["loss"], rel=1e-4)


def test_pair_shares_its_initial_images_and_both_change(pair, digits):
    first = {m: run.load_snapshot(run.snapshot_iterations()[0]) for m, run in pair.items()}
    assert all(run.snapshot_iterations()[0] == 0 for run in pair.values())
    torch.testing.assert_close(first["dc"], first["dm"], rtol=0, atol=0)
    torch.testing.assert_close(first["dm"], init_images(digits, 2, "real", 3), rtol=0, atol=0)
    for m, run in pair.items():
        assert not torch.equal(run.load_final().images, first[m]), m


def test_payoff_bars_under_one_protocol_and_cached_whole_set(pair, digits, tmp_path):
    syn = pair["dm"].load_final()
    protocol = EvalProtocol.build("quick", {"models": 2, "epochs": 4})
    seen = []
    result = payoff(syn, digits, protocol, "cpu", coreset="kcenter", cache_dir=tmp_path,
                    progress=lambda done, total: seen.append((done, total)), whole_steps=12)
    names = [b.name for b in result.bars]
    assert names == ["synthetic (dm)", "random real", "coreset (kcenter)", "whole training set"]
    assert [b.images_per_class for b in result.bars] == [2, 2, 2, None]
    assert seen[0] == (0, 4) and seen[-1] == (4, 4) and seen == sorted(seen)
    protos = [b.result.protocol for b in result.bars]
    assert all(p == protos[0] for p in protos[:3]) and result.protocol == result.bars[0].result.protocol_text
    whole = protos[3]
    assert whole.epochs == whole_epochs(protocol, digits.min_class_count(), 10, 12) < protocol.epochs
    assert whole.replace(epochs=protocol.epochs) == protos[0]  # the same protocol but its epochs
    assert balanced_training_set(digits).ipc == digits.min_class_count()
    # 2 images per class vs ~1700 images: the whole set wins by far under the same protocol
    assert result.bars[3].result.mean > result.bars[1].result.mean + 0.2
    cached = list(tmp_path.glob("digits_*.json"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    again = payoff(syn, digits, protocol, "cpu", coreset="random", cache_dir=tmp_path, whole_steps=12)
    assert again.bars[3].result == result.bars[3].result and cached[0].stat().st_mtime_ns == stamp
    assert again.bars[1].result.accs == again.bars[2].result.accs  # random twice, same seed: same bar
    other = protocol.replace(seed=1)
    payoff(syn, digits, other, "cpu", coreset="random", cache_dir=tmp_path, whole_steps=12)
    assert len(list(tmp_path.glob("digits_*.json"))) == 2  # a new protocol, a new cache entry


def test_payoff_cli_json(pair, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DCLAB_CACHE", str(tmp_path))
    argv = ["payoff", str(pair["dc"].path), "--json", "--protocol", "quick", "--models", "1", "--epochs", "2",
            "--baseline", "random", "--whole-steps", "10"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [b["label"] for b in out["bars"]] == ["synthetic (dc) (2/class)", "random real (2/class)",
                                                  "coreset (random) (2/class)", "whole training set (all/class)"]
    assert "K=1" in out["protocol"] and all(0 <= b["mean"] <= 1 for b in out["bars"])
    assert list((tmp_path / "payoff").glob("digits_*.json"))
    assert main(["payoff", str(pair["dc"].path), "--baseline", "nope"]) == 2
    assert "unknown coreset" in capsys.readouterr().err


def test_coverage_timeline_one_projection_for_both_runs(pair, digits):
    from dclab.analysis.coverage_timeline import coverage_timeline
    from dclab.eval.feature_net import embed_all, trained_feature_net
    from dclab.viz.coverage import knn_coverage, median_bandwidth2, mmd2_rbf
    from dclab.viz.tsne import stratified_subsample

    seen = []
    tl = coverage_timeline([pair["dc"].path, pair["dm"].path], digits, "cpu", max_real=200,
                           progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 4) and seen[-1] == (4, 4) and seen == sorted(seen)
    assert tl.runs() == [pair["dc"].run_id, pair["dm"].run_id]
    for run in pair.values():
        frames = tl.frames_of(run.run_id)
        assert [f.iteration for f in frames] == run.snapshot_iterations() and frames[0].iteration == 0
        assert all(f.xy.shape == (digits.num_classes * 2, 2) and np.isfinite(f.xy).all() for f in frames)
        assert all(0.0 <= f.coverage <= 1.0 and f.mmd >= -1e-9 for f in frames)
    # the shared initial images land on the same points in both runs: one projection for all frames
    first = [tl.frames_of(r.run_id)[0] for r in pair.values()]
    np.testing.assert_allclose(first[0].xy, first[1].xy)
    assert first[0].coverage == first[1].coverage and first[0].mmd == pytest.approx(first[1].mmd)
    last = tl.frames_of(pair["dm"].run_id)[-1]
    assert not np.allclose(last.xy, first[1].xy)  # DM moved its points
    assert tl.real_xy.shape == (200, 2) and tl.real_labels.shape == (200,)
    assert tl.frame_at(pair["dm"].run_id, 10**6) == last and "PCA fitted once" in tl.projection
    # coverage and MMD are those of the viz module on the same real sample, in feature space
    net = trained_feature_net(digits, device="cpu")
    real = embed_all(net, digits.x_train[stratified_subsample(digits.y_train, 20, 0)]).double()
    feats = embed_all(net, pair["dm"].load_snapshot(last.iteration)).double()
    assert last.coverage == knn_coverage(real, feats, 5)
    assert last.mmd == pytest.approx(mmd2_rbf(real, feats, median_bandwidth2(real, real[:0])))


def test_coverage_timeline_bad_input(pair, digits):
    from dclab.analysis.coverage_timeline import coverage_timeline

    with pytest.raises(ValueError, match="projection"):
        coverage_timeline([pair["dc"].path], digits, "cpu", projection="umap")
    with pytest.raises(ValueError, match="at least one run"):
        coverage_timeline([], digits, "cpu")


def test_payoff_of_a_pair_has_one_bar_per_set(pair, digits, tmp_path):
    sets = [pair["dc"].load_final(), pair["dm"].load_final()]
    protocol = EvalProtocol.build("quick", {"models": 1, "epochs": 2})
    result = payoff(sets, digits, protocol, "cpu", coreset="random", cache_dir=tmp_path, whole_steps=6)
    assert [b.name for b in result.bars] == ["synthetic (dc)", "synthetic (dm)", "random real",
                                              "coreset (random)", "whole training set"]
    from dclab.coresets import select_coreset

    with pytest.raises(ValueError, match="images per class"):
        payoff([sets[0], select_coreset("random", digits, 3)], digits, protocol, "cpu", cache_dir=tmp_path)


def test_comparison_html_is_self_contained(pair, digits, tmp_path):
    from dclab.analysis.coverage_timeline import coverage_timeline
    from dclab.analysis.report import comparison_html

    runs = [pair["dc"].path, pair["dm"].path]
    result = payoff([RunDir.open(r).load_final() for r in runs], digits, EvalProtocol.build("quick", {"models": 1,
                    "epochs": 2}), "cpu", coreset="random", cache_dir=tmp_path, whole_steps=6)
    timeline = coverage_timeline(runs, digits, "cpu", max_real=100)
    out = comparison_html(runs, tmp_path / "r.html", payoff=result, timeline=timeline)
    page = out.read_text()
    assert page.count("<img src=\"data:image/png;base64,") == 1 + 2 * 2  # shared initial, now + difference each
    assert "initial images, shared by every run" in page
    assert "src=\"http" not in page and "<link" not in page  # nothing loaded from outside
    from plotly.offline import get_plotlyjs

    assert page.count(get_plotlyjs()) == 1 and "Plotly.newPlot" in page  # plotly inlined once
    for div in ("losses", "payoff", "timeline", "coverage"):
        assert f'id="{div}"' in page
    assert result.protocol in page and "synthetic (dm)" in page and "PCA fitted once" in page
    assert page.count("Per-class loss") == 2


def test_report_cli_and_bad_input(pair, tmp_path, capsys):
    out = tmp_path / "cmp.html"
    assert main(["report", str(pair["dc"].path), "--html", str(out)]) == 0
    page = out.read_text()
    assert "images now" in page and "no accuracy was measured" in page
    assert "initial images, shared" not in page  # one run: its own initial grid
    assert main(["report", str(tmp_path / "nope"), "--html", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_iteration_cost_from_recorded_runs(pair):
    from dclab.analysis.cost import iteration_costs

    root = pair["dc"].path.parent
    (cost,) = iteration_costs(root, "dc", "cpu")
    steps = [m["seconds"] for m in pair["dc"].read_metrics() if "kind" not in m]
    assert cost.preset == "classroom" and cost.steps == len(steps) == 4 and cost.runs == 1
    assert min(steps) <= cost.seconds <= max(steps) and "per iteration on cpu" in cost.describe()
    assert iteration_costs(root, "dc", "cuda") == [] and iteration_costs(root, "kip", "cpu") == []


def test_difference_map_colours():
    from dclab.viz.difference import difference_rgb

    initial = torch.zeros(3, 1, 2, 2)
    now = initial.clone()
    now[1, 0, 0, 0] = 1.0  # brighter
    now[2, 0, 1, 1] = -0.5  # darker
    rgb, full = difference_rgb(initial, now, mean=(0.5,), std=(0.5,), quantile=1.0)  # scale: the largest change
    assert full == pytest.approx(0.5) and rgb.shape == (3, 3, 2, 2)
    assert torch.equal(rgb[0], torch.ones(3, 2, 2))  # unchanged: white
    assert rgb[1, :, 0, 0].tolist() == [1.0, 0.0, 0.0]  # the largest brightening: full red
    assert rgb[2, :, 1, 1].tolist() == pytest.approx([0.5, 0.5, 1.0])  # half as much darker: light blue
    with pytest.raises(ValueError, match="shape"):
        difference_rgb(initial, now[:2], mean=(0.5,), std=(0.5,))


def test_difference_map_scale_is_robust_to_a_few_far_moved_pixels():
    """By default the 99th percentile of the changes is full colour: one pixel that moved 50x as far
    as the others saturates instead of leaving every other change nearly white."""
    from dclab.viz.difference import difference_rgb

    initial = torch.zeros(10, 1, 10, 10)
    now = initial + 0.02  # every pixel a little brighter (0.01 of the range, with std 0.5) ...
    now[0, 0, 0, 0] = 1.0  # ... and one 50x as much (0.5 of the range)
    rgb, full = difference_rgb(initial, now, mean=(0.5,), std=(0.5,))
    assert full == pytest.approx(0.01)  # not 0.5
    assert rgb[3, :, 5, 5].tolist() == pytest.approx([1.0, 0.0, 0.0])  # the common change: full red
    assert rgb[0, :, 0, 0].tolist() == pytest.approx([1.0, 0.0, 0.0])  # the outlier saturates
    _, largest = difference_rgb(initial, now, mean=(0.5,), std=(0.5,), quantile=1.0)
    assert largest == pytest.approx(0.5)  # the old scale, under which the common change is 2 % red
    with pytest.raises(ValueError, match="quantile"):
        difference_rgb(initial, now, mean=(0.5,), std=(0.5,), quantile=0.0)


def test_timeline_and_payoff_figures(pair, digits, tmp_path):
    from dclab.analysis.coverage_timeline import coverage_timeline
    from dclab.viz.analysis_figures import coverage_lines_figure, payoff_figure, timeline_figure

    tl = coverage_timeline([pair["dc"].path, pair["dm"].path], digits, "cpu", max_real=100)
    fig = timeline_figure(tl)
    assert [f.name for f in fig.frames] == [str(it) for it in tl.iterations()]
    assert len(fig.frames[-1].data) == 3  # real + both runs in every frame
    assert len(fig.layout.sliders[0].steps) == len(tl.iterations())
    assert len(coverage_lines_figure(tl).data) == 4  # coverage and MMD per run
    result = payoff(pair["dm"].load_final(), digits, EvalProtocol.build("quick", {"models": 1, "epochs": 2}), "cpu",
                    coreset="random", cache_dir=tmp_path, whole_steps=6)
    bars = payoff_figure(result).data[0]
    assert list(bars.x) == [b.label for b in result.bars]
    assert list(bars.y) == pytest.approx([100 * b.result.mean for b in result.bars])

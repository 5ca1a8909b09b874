"""The analysis layer on real tiny runs (digits): compare, feature space, multisize; their CLI commands."""
from __future__ import annotations

import json

import pytest

from dclab.analysis.compare import compare_accuracy, plan_accuracy
from dclab.analysis.feature_space import feature_space
from dclab.analysis.multisize import find_baselines, plan_subset_curves
from dclab.cli.main import main
from dclab.eval.multisize import BASELINE_A, BASELINE_B, BASELINE_C, MULTISIZE
from dclab.jobs import JobManager, RunSpec
from dclab.runs import RunDir
from dclab.runs.record import read_record

SMALL = {"batch_real": "16", "width": "8"}
QUICK = {"preset": "quick", "models": 1, "epochs": 2}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An MDC run (base dm, IPC 2), its baseline C (dm IPC 2), two dm IPC-1 runs and a dc IPC-2 run."""
    root = tmp_path_factory.mktemp("runs")
    manager = JobManager(root, max_running_per_device=1)
    specs = {
        "mdc": RunSpec("digits", "mdc", 2, preset="cpu_dm", iterations=4, overrides={**SMALL, "delta_t": "2"}),
        "c": RunSpec("digits", "dm", 2, iterations=4, overrides=SMALL, label="C"),
        "b1": RunSpec("digits", "dm", 1, seed=1, iterations=3, overrides=SMALL),
        "b2": RunSpec("digits", "dm", 1, seed=2, iterations=3, overrides=SMALL),
        "dc": RunSpec("digits", "dc", 2, iterations=2, overrides=SMALL),
    }
    jobs = {k: manager.submit(s) for k, s in specs.items()}
    for job in jobs.values():
        assert job.wait(300) and job.status == "finished", job.message
    manager.shutdown(timeout=30)
    return {k: j.run_dir for k, j in jobs.items()}


def test_compare_evaluates_each_run_under_its_protocol_with_progress(runs):
    seen = []
    results = compare_accuracy([runs["c"], runs["dc"]], QUICK, device="cpu", progress=lambda d, t: seen.append((d, t)))
    assert [r.run.run_id for r in results] == [runs["c"].run_id, runs["dc"].run_id]
    for r in results:
        assert 0.0 <= r.result.mean <= 1.0 and len(r.result.accs) == 1
        assert "K=1, 2 ep" in r.result.protocol_text and r.run.source.startswith("final.pt")
    assert seen[-1] == (4, 4) and all(b >= a for (a, _), (b, _) in zip(seen, seen[1:]))  # 2 runs x 1 net x 2 ep
    assert json.loads(json.dumps([r.to_json() for r in results]))[1]["method"] == "dc"


def test_published_default_gives_each_method_its_own_protocol(runs):
    plan = plan_accuracy([runs["c"], runs["dc"]], device="cpu")
    dm_proto, dc_proto = plan.protocols
    assert dm_proto.augment == "dsa" and dc_proto.augment == "none"  # DM's paper trains with DSA, DC's without


def test_compare_refuses_a_run_given_twice_and_a_broken_run(runs, tmp_path):
    with pytest.raises(ValueError, match="given twice"):
        plan_accuracy([runs["c"], RunDir.open(runs["c"].path)], QUICK)
    broken = RunDir.create(tmp_path, "broken")
    (broken.path / "config.json").write_text('{"ipc": 2')
    with pytest.raises(ValueError, match="config.json"):
        plan_accuracy([runs["c"], broken], QUICK)


def test_feature_space_covers_every_run_in_one_embedding(runs):
    seen = []
    space = feature_space([runs["c"], runs["dc"]], device="cpu", feature_epochs=1,
                          progress=lambda d, t: seen.append((d, t)))
    assert set(space.coverage) == {runs["c"].run_id, runs["dc"].run_id}
    for c in space.coverage.values():
        assert 0.0 <= c.coverage <= 1.0 and c.mmd2 >= 0.0 and c.num_synthetic == 20
    sources = list(space.embedding.source)
    assert sources.count(runs["c"].run_id) == 20 and sources.count("real") == 600  # 60 per class
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    out = json.loads(json.dumps(space.to_json(points=True)))
    assert len(out["points"]) == out["tsne_points"] == 640


def test_multisize_finds_baselines_and_evaluates_every_prefix(runs):
    others = [r for k, r in runs.items() if k != "mdc"]
    found = find_baselines(runs["mdc"], others)
    assert found.base == "dm" and found.c_candidates == (runs["c"].run_id,) and found.separate == {}
    assert set(found.ipc1) == {runs["b1"].run_id, runs["b2"].run_id}  # the dc run is not a dm baseline
    plan = plan_subset_curves(runs["mdc"], baseline_c=runs["c"], ipc1=[runs["b1"]], separate={1: runs["b2"]},
                              settings=QUICK, device="cpu")
    curves = plan.run()
    points = curves.points()
    assert [n for n, _, _ in points[MULTISIZE]] == [1, 2] == [n for n, _, _ in points[BASELINE_C]]
    assert [n for n, _, _ in points[BASELINE_B]] == [1] and [n for n, _, _ in points[BASELINE_A]] == [1]
    assert curves.gain_over_c is not None and "K=1, 2 ep" in curves.protocol_text
    with pytest.raises(ValueError, match="not an MDC run"):
        plan_subset_curves(runs["c"], settings=QUICK)
    with pytest.raises(ValueError, match="has IPC 1, not 2"):
        plan_subset_curves(runs["mdc"], separate={2: runs["b1"]}, settings=QUICK)


def test_cli_compare_tsne_and_multisize_print_json(runs, capsys):
    a, b = str(runs["c"].path), str(runs["dc"].path)
    assert main(["compare", a, b, "--protocol", "quick", "--models", "1", "--epochs", "2", "--device", "cpu",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["run"] for r in out["runs"]] == [runs["c"].run_id, runs["dc"].run_id]
    assert all("K=1, 2 ep" in r["protocol"] for r in out["runs"])
    assert main(["tsne", a, b, "--feature-epochs", "1", "--device", "cpu", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {c["run"] for c in out["coverage"]} == {runs["c"].run_id, runs["dc"].run_id} and "points" not in out
    assert main(["multisize", str(runs["mdc"].path), "--models", "1", "--epochs", "2", "--device", "cpu",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["baseline_c"] == runs["c"].run_id and out["found"]["base"] == "dm"
    assert [p["n"] for p in out["curves"][MULTISIZE]] == [1, 2]


@pytest.mark.parametrize("argv, message", [
    (["compare", "{c}", "{c}"], "given twice"),
    (["compare", "{c}", "--protocol", "nope"], "unknown preset"),
    (["multisize", "{c}"], "not an MDC run"),
    (["multisize", "{mdc}", "--sizes", "1,x"], "--sizes"),
    (["tsne", "{missing}"], "run"),
])
def test_cli_analysis_errors_are_one_line(runs, capsys, tmp_path, argv, message):
    paths = {"c": str(runs["c"].path), "mdc": str(runs["mdc"].path), "missing": str(tmp_path / "nope")}
    assert main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_record_reads_old_setting_names(runs, tmp_path):
    cfg = json.loads((runs["c"].path / "config.json").read_text())
    cfg["config"]["net_width"] = cfg["config"].pop("width")
    old = RunDir.create(tmp_path, "old")
    old.write_config(cfg)
    assert read_record(old).settings["width"] == 8 and "net_width" not in read_record(old).settings


def test_evaluation_plan_selects_a_coreset_then_evaluates_as_the_direct_calls():
    """The plan behind Evaluate and `dclab evaluate`: selection, the K nets, then cross-architecture."""
    from dclab.analysis.evaluation import CoresetChoice, plan_evaluation
    from dclab.coresets import select_coreset
    from dclab.data import load_dataset
    from dclab.eval.evaluate import evaluate_cross_arch, evaluate_synthetic

    data = load_dataset("digits")
    settings = {"preset": "quick", "models": 2, "epochs": 2}
    plan = plan_evaluation(data, settings, coreset=CoresetChoice("herding", 2, seed=3), cross=["mlp"], device="cpu")
    assert plan.what == "herding coreset, digits, IPC 2, seed 3" and plan.stages == 3
    seen = []
    accuracy = plan.run(progress=lambda d, t: seen.append((d, t)))
    chosen = select_coreset("herding", data, 2, seed=3, device="cpu")
    direct = evaluate_synthetic(chosen, data, plan.protocol, "cpu")
    assert accuracy.result.accs == direct.accs and accuracy.method == "herding" and accuracy.ipc == 2
    assert accuracy.cross["mlp"].accs == evaluate_cross_arch(chosen, data, plan.protocol, ["mlp"], "cpu")["mlp"].accs
    assert seen[-1] == (3000, 3000) and all(b >= a for (a, _), (b, _) in zip(seen, seen[1:]))
    assert set(accuracy.to_json()) >= {"mean", "accs", "protocol_text", "cross_arch"}
    assert accuracy.lines()[0].startswith("herding on digits, IPC 2: ") and "K=2, 2 ep" in accuracy.lines()[0]


def test_evaluation_plan_checks_before_any_work_and_a_stop_skips_cross_architecture(runs):
    import dataclasses
    import threading

    from dclab.analysis.evaluation import CoresetChoice, plan_evaluation
    from dclab.config import ConfigError
    from dclab.data import load_dataset
    from dclab.registry import UnknownNameError
    from dclab.runs.reader import synthetic_from_run

    data = load_dataset("digits")
    with pytest.raises(UnknownNameError):
        plan_evaluation(data, coreset=CoresetChoice("no_such_coreset", 2))
    with pytest.raises(ConfigError, match="IPC must be in"):
        plan_evaluation(data, coreset=CoresetChoice("random", 10_000))
    with pytest.raises(UnknownNameError):
        plan_evaluation(data, coreset=CoresetChoice("random", 2), cross=["no_such_net"])
    synthetic = synthetic_from_run(runs["dc"])
    cropped = dataclasses.replace(synthetic, images=synthetic.images[:, :, :4, :4])  # 4x4, digits is 8x8
    with pytest.raises(ValueError, match="do not fit"):
        plan_evaluation(data, synthetic=cropped)
    plan = plan_evaluation(data, synthetic=synthetic, cross=["mlp"], device="cpu")
    assert plan.protocol.augment == "none" and plan.protocol.source  # DC's published protocol by default
    stop = threading.Event()
    stop.set()
    accuracy = plan_evaluation(data, QUICK, synthetic=synthetic, cross=["mlp"], device="cpu").run(stop=stop)
    assert accuracy.result.extra.get("stopped") and accuracy.cross == {}

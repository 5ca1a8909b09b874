"""The Streamlit app under AppTest: every page loads, controls exist, starting a run creates a job.

AppTest never fires `run_every`, so live parts are polled with sleep + at.run(). The server-wide
registries (cache_resource) are shared by all AppTest instances: the fixture stops their threads
and clears the cache after each test.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from dclab.device import describe_device, resolve_device
from dclab.methods import METHODS, get_method
from dclab.presets import default_preset

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["home", "condense", "compare", "multisize", "evaluate", "runs"]


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DCLAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("DCLAB_CACHE", str(tmp_path / "cache"))
    yield tmp_path / "runs"
    from ui.state import OPEN_REGISTRIES

    for registry in list(OPEN_REGISTRIES):
        registry.shutdown(timeout=30)
    st.cache_resource.clear()


def app_at(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    if page is not None:
        at.switch_page(f"pages/{page}.py").run()
    return at


def poll(at: AppTest, ok, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        if ok(at):
            return True
        time.sleep(0.5)
    return False


def tiny_run(runs: Path, method: str = "dm", ipc: int = 2, seed: int = 0, iterations: int = 3):
    """A real, finished tiny run in the app's runs folder (a manager of its own, as the CLI would)."""
    from dclab.jobs import JobManager, RunSpec

    job = JobManager(runs).submit(RunSpec(dataset="digits", method=method, ipc=ipc, seed=seed,
                                          iterations=iterations, overrides={"batch_real": 16}))
    assert job.wait(120) and job.status == "finished", job.message
    return job.run_dir


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_without_exception(runs_dir, page):
    at = app_at(page)
    assert not at.exception, at.exception
    assert at.title[0].value


def test_home_shows_device_and_datasets(runs_dir):
    at = app_at()
    text = "\n".join(m.value for m in at.markdown)
    assert describe_device(resolve_device("auto")) in text
    rows = at.dataframe[0].value
    assert "digits" in set(rows["data set"]) and rows.set_index("data set").loc["digits", "available"] == "yes"


@pytest.mark.parametrize("method", METHODS.names())
def test_condense_form_is_generated_from_the_method_config(runs_dir, method):
    at = app_at("condense")
    at.selectbox(key="method").set_value(method).run()
    assert not at.exception
    cls = get_method(method).config_class
    preset = default_preset(resolve_device("auto"), cls)
    for f in cls.fields_info():
        widget = at.get_by_key(f"cfg_{method}_{preset}_{f.name}")
        assert widget is not None, f"no widget for {method}.{f.name}"
        start = getattr(cls.build(preset), f.name)
        if not (start is None) and f.choices is None and f.type in (int, float, bool):
            assert widget.value == start
    for key in ("start", "dataset", "ipc", "seed", "device", f"preset_{method}"):
        assert at.get_by_key(key) is not None


def test_quick_start_creates_a_job_and_shows_it_live(runs_dir):
    at = app_at()
    at.button(key="quick_start").click().run()
    assert not at.exception
    from ui.state import job_manager

    jobs = job_manager().jobs()
    assert len(jobs) == 1 and jobs[0].spec.method == "dm" and jobs[0].spec.ipc == 10
    assert (runs_dir / jobs[0].id / "config.json").is_file()
    # landed on Condense, showing that run; iterations advance without input
    assert at.get_by_key("stop") is not None and at.get_by_key("pause") is not None
    assert poll(at, lambda a: any(f"iteration {i}" in captions(a) for i in range(2, 400)), 90), captions(at)
    assert any("synthetic images at iteration" in c for i in at.image for c in i.captions)
    at.button(key="stop").click().run()
    assert jobs[0].wait(60) and jobs[0].status == "stopped"


def test_condense_start_pause_resume_stop(runs_dir):
    method = "dm"
    at = app_at("condense")
    at.selectbox(key="method").set_value(method).run()
    preset = default_preset(resolve_device("auto"), get_method(method).config_class)
    at.number_input(key="ipc").set_value(1).run()
    at.number_input(key=f"cfg_{method}_{preset}_iterations").set_value(400).run()
    at.button(key="start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    from ui.state import job_manager

    (job,) = job_manager().jobs()
    assert job.prepared.total_iterations == 400 and job.spec.ipc == 1
    assert poll(at, lambda a: job.status == "running", 60)
    at.run()
    at.button(key="pause").click().run()
    assert poll(at, lambda a: job.status == "paused", 30)
    it = job.snapshot().iteration
    time.sleep(1.0)
    assert job.snapshot().iteration == it  # paused really holds
    at.run()
    at.button(key="resume").click().run()
    assert poll(at, lambda a: job.status == "running" and job.snapshot().iteration > it, 30)
    at.button(key="stop").click().run()
    assert job.wait(60) and job.status == "stopped"


def test_condense_shows_a_user_error_not_a_traceback(runs_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DCLAB_DATA", str(tmp_path / "empty-data-root"))  # mnist is surely absent here
    at = app_at("condense")
    at.selectbox(key="method").set_value("dm").run()
    at.selectbox(key="dataset").set_value("mnist").run()
    at.button(key="start").click().run()
    assert not at.exception
    from ui.state import job_manager

    assert len(at.error) == 1 and "mnist" in at.error[0].value.lower(), [e.value for e in at.error]
    assert "\n" not in at.error[0].value and not job_manager().jobs()


def test_runs_page_lists_exports_and_rejects_a_bad_pt(runs_dir):
    run = tiny_run(runs_dir)
    at = app_at("runs")
    assert not at.exception
    assert run.run_id in list(at.dataframe[0].value["run"])
    assert at.get_by_key("dl_png") is not None and at.get_by_key("dl_pt") is not None
    assert at.get_by_key("dl_zip") is not None
    before = sorted(p.name for p in runs_dir.iterdir())
    at.file_uploader(key="import_file").upload("bad.pt", b"this is not a torch file", "application/octet-stream")
    at.run()
    at.button(key="import").click().run()
    assert not at.exception and at.error and "bad.pt" in at.error[0].value
    assert sorted(p.name for p in runs_dir.iterdir()) == before  # nothing changed


def test_runs_page_imports_a_good_pt(runs_dir, tmp_path):
    from dclab.runs.export import save_official_pt
    from dclab.runs.reader import synthetic_from_run

    run = tiny_run(runs_dir)
    save_official_pt(synthetic_from_run(run), tmp_path / "good.pt")
    at = app_at("runs")
    at.file_uploader(key="import_file").upload("good.pt", (tmp_path / "good.pt").read_bytes(),
                                               "application/octet-stream")
    at.run()
    at.button(key="import").click().run()
    assert not at.exception and not at.error
    imported = [p for p in runs_dir.iterdir() if "imported" in p.name]
    assert len(imported) == 1
    from dclab.runs import RunDir

    assert torch.equal(RunDir.open(imported[0]).load_final().images, synthetic_from_run(run).images)


def test_compare_shows_tsne_and_coverage_for_two_runs(runs_dir):
    a = tiny_run(runs_dir, seed=0)
    b = tiny_run(runs_dir, seed=1)
    at = app_at("compare")
    assert not at.exception
    assert set(at.multiselect(key="compare_select").value) == {a.run_id, b.run_id}
    at.button(key="tsne").click().run()
    assert poll(at, lambda a_: len(at.dataframe) >= 1 or at.error, 180)
    assert not at.error and not at.exception
    table = at.dataframe[-1].value
    assert set(table["run"]) == {a.run_id, b.run_id}
    assert ((table["coverage (5-NN)"] >= 0) & (table["coverage (5-NN)"] <= 1)).all()
    assert [c.key for c in at.get("plotly_chart")].count("tsne_chart") == 1  # the t-SNE figure, once


def evaluate_on_page(at: AppTest, epochs: int) -> None:
    """On the Evaluate page: the quick preset with K=1 net, `epochs` epochs, click Evaluate, wait for the metric."""
    at.selectbox(key="ev_preset").set_value("quick").run()
    at.number_input(key="ev_quick_models").set_value(1).run()
    at.number_input(key="ev_quick_epochs").set_value(epochs).run()
    at.button(key="evaluate").click().run()
    assert poll(at, lambda a: len(a.metric) >= 1 or a.error, 120)
    assert not at.error, at.error[0].value
    assert "%" in at.metric[0].value


def test_evaluate_page_reports_accuracy_with_protocol(runs_dir):
    run = tiny_run(runs_dir)
    at = app_at("evaluate")
    assert at.selectbox(key="ev_preset").value == "published"  # the set's own protocol by default
    evaluate_on_page(at, epochs=3)
    assert "K=1, 3 ep" in captions(at)
    assert run.run_id in at.metric[0].label


def test_evaluate_page_selects_and_evaluates_a_coreset_and_refuses_a_bad_ipc(runs_dir):
    tiny_run(runs_dir)
    at = app_at("evaluate")
    at.radio(key="ev_source").set_value("coreset").run()
    at.selectbox(key="ev_coreset").set_value("herding").run()
    at.number_input(key="ev_ipc").set_value(500).run()  # digits' smallest class has 131 training images
    at.button(key="evaluate").click().run()
    assert at.error and "IPC must be in" in at.error[0].value and not at.metric  # refused, nothing started
    at.number_input(key="ev_ipc").set_value(2).run()
    evaluate_on_page(at, epochs=2)
    assert at.metric[0].label == "herding coreset, digits, IPC 2, seed 0"
    assert "K=1, 2 ep" in captions(at)


def test_starting_a_job_and_an_evaluation_keeps_the_process_thread_count(runs_dir):
    """Jobs and evaluations compute on every thread torch has: neither lowers the process's count."""
    from dclab.threads import apply_threads

    before = torch.get_num_threads()
    apply_threads(2)  # the process's budget, as the CLI flag / $DCLAB_THREADS / app start set it
    try:
        at = app_at()
        at.button(key="quick_start").click().run()
        assert poll(at, lambda a: any(f"iteration {i}" in captions(a) for i in range(2, 400)), 90), captions(at)
        assert torch.get_num_threads() == 2
        at.button(key="stop").click().run()
        from ui.state import job_manager

        # while the job finishes its last step the evaluation would get half the budget (fair share)
        assert all(job.wait(60) for job in job_manager().jobs())

        at.switch_page("pages/evaluate.py").run()
        evaluate_on_page(at, epochs=2)
        assert "2 CPU threads" in captions(at)
        assert torch.get_num_threads() == 2
    finally:
        apply_threads(before)

"""The classroom views end to end in a real Chromium (server and browser fixtures of
test_e2e_browser.py, a server of this module's own): Home's quick start above the fold; DC and DM
started side by side at the `classroom` preset both finish with their grids changed from the shared
start, updating live; the payoff chart and the coverage animation render; the HTML hand-out
downloads; Condense explains the method and shows initial vs now. Screenshots go to artifacts/.
"""
from __future__ import annotations

import re
import time

import pytest
from test_e2e_browser import (  # noqa: F401 - page and server are fixtures
    ARTIFACTS,
    SERVER_RUNS,
    WAIT_MS,
    _goto,
    _no_exception,
    page,
    server,
)

pytestmark = pytest.mark.browser

PAIR_WAIT_S = 900  # the pair at the classroom preset: ~3 min on an idle 2-core CPU, more when shared
PAIR_IPC = "10"  # the form's default, as a teacher starts it


def _fill(pg, key: str, value: str) -> None:
    box = pg.locator(f".st-key-{key} input")
    box.fill(value)
    box.press("Enter")
    pg.wait_for_timeout(700)


def _grid(pg, caption: re.Pattern):
    """The <img> of the st.image whose caption matches."""
    return pg.locator('[data-testid="stImage"]', has_text=caption).locator("img").first


def test_home_quick_start_is_visible_without_scrolling(page, server):  # noqa: F811
    pg = page
    _goto(pg, server, "")
    button = pg.locator(".st-key-quick_start button")
    button.wait_for()
    box = button.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 1000, box  # inside the 1400x1000 viewport
    hero = pg.locator('[data-testid="stImage"] img').first
    hero.wait_for()
    assert hero.bounding_box()["y"] > box["y"] + box["height"]  # the quick start first, then the picture
    _no_exception(pg)
    pg.screenshot(path=str(ARTIFACTS / "10_home_above_the_fold.png"))


def test_pair_at_classroom_preset_finishes_with_both_grids_changed(page, server):  # noqa: F811
    pg = page
    _goto(pg, server, "compare")
    preset = pg.locator(".st-key-pair_preset input")
    preset.wait_for()
    assert preset.input_value() == "classroom"  # the default on a CPU
    assert pg.locator(".st-key-pair_ipc input").input_value() == PAIR_IPC
    pg.locator(".st-key-start_pair button").click()
    start = pg.locator(".st-key-same_start")
    captions = {m: re.compile(rf"_{m}_digits_ipc{PAIR_IPC}_pair \(") for m in ("dc", "dm")}
    for m in captions:
        _grid(start, captions[m]).wait_for(timeout=WAIT_MS)
    initial_src = _grid(start, re.compile("the same for every run")).get_attribute("src")
    seen = {m: set() for m in captions}
    finished = {m: re.compile(rf"_{m}_digits_ipc{PAIR_IPC}_pair \(finished") for m in captions}
    t0, live_shot = time.monotonic(), False
    while time.monotonic() - t0 < PAIR_WAIT_S:
        for m in captions:
            try:
                seen[m].add(_grid(start, captions[m]).get_attribute("src", timeout=2000))
            except Exception:  # noqa: BLE001 - the fragment redrew while read: read it next time
                pass
        if all(start.get_by_text(finished[m]).count() for m in finished):
            break
        if len(seen["dc"]) > 2 and len(seen["dm"]) > 2 and not live_shot:
            start.screenshot(path=str(ARTIFACTS / "11_pair_live.png"))
            live_shot = True
        pg.wait_for_timeout(400)
    wall = time.monotonic() - t0
    assert all(start.get_by_text(finished[m]).count() for m in finished), f"pair not finished in {wall:.0f} s"
    print(f"\npair at the classroom preset finished in {wall:.0f} s (browser clock)")
    for m in captions:
        final = _grid(start, captions[m]).get_attribute("src")
        assert final != initial_src, f"{m}: the final grid is the initial one"
        assert len(seen[m]) >= 2, f"{m}: the grid did not update live ({len(seen[m])} versions seen)"
    moved = [float(x) for x in re.findall(r"most in class \S+ \(([0-9.]+)\)", start.inner_text())]
    assert len(moved) == 2 and min(moved) > 0, moved  # both difference maps show a change
    legend = pg.locator(".st-key-loss_curves .js-plotly-plot").first.locator(".legendtext")
    assert sorted(legend.evaluate_all("els => els.map(e => e.textContent)")) == ["dc", "dm"]  # one chart, both
    _no_exception(pg)
    start.screenshot(path=str(ARTIFACTS / "12_pair_same_start.png"))
    pg.locator(".st-key-loss_curves").screenshot(path=str(ARTIFACTS / "13_pair_losses.png"))


@pytest.fixture
def pair_runs(server):  # noqa: F811
    """The pair of the test above in the server's runs folder; when run alone, a short one made here."""
    from dclab.jobs import JobManager, RunSpec

    runs = SERVER_RUNS[-1]
    if not list(runs.glob(f"*_dm_digits_ipc{PAIR_IPC}_pair")):
        manager = JobManager(runs)
        for m in ("dc", "dm"):
            job = manager.submit(RunSpec(dataset="digits", method=m, ipc=int(PAIR_IPC), seed=0, preset="classroom",
                                         iterations=4, label="pair"))
            assert job.wait(600) and job.status == "finished", job.message
    return runs


def test_payoff_chart_and_coverage_animation_render(page, server, pair_runs):  # noqa: F811
    """After the pair: the payoff chart (a bar per run beside the baselines) and the coverage animation."""
    pg = page
    _goto(pg, server, "compare")
    panel = pg.locator(".st-key-compare_payoff")
    _fill(pg, "compare_payoff_protocol_quick_epochs", "10")
    panel.locator(".st-key-compare_payoff_go button").click()
    bars = panel.locator(".js-plotly-plot .barlayer .point")
    bars.first.wait_for(timeout=5 * WAIT_MS)
    assert bars.count() == 5  # synthetic (dc), synthetic (dm), random real, coreset, whole training set
    labels = panel.locator(".js-plotly-plot .xtick text").evaluate_all("els => els.map(e => e.textContent)")
    assert sorted(labels[:2]) == [f"synthetic ({m}) ({PAIR_IPC}/class)" for m in ("dc", "dm")], labels
    assert labels[-1] == "whole training set (all/class)", labels
    assert panel.locator(".js-plotly-plot .errorbar").count() == 5  # error bars: std over the K networks
    assert panel.get_by_text(re.compile(r"protocol: .*K=2, 10 ep")).count() >= 1  # the one stated protocol
    _no_exception(pg)
    panel.screenshot(path=str(ARTIFACTS / "14_payoff_chart.png"))

    cov = pg.locator(".st-key-compare_coverage")
    cov.locator(".st-key-compare_coverage_go button").click()
    plot = cov.locator(".js-plotly-plot").first
    cov.locator(".js-plotly-plot .slider-container").first.wait_for(timeout=5 * WAIT_MS)
    steps = plot.locator(".slider-label").count()
    assert steps >= 3  # one stop per snapshot iteration of the two runs
    names = plot.locator(".legendtext").evaluate_all("els => els.map(e => e.textContent)")
    assert {n.split(" ")[0] for n in names} == {"real", "dc", "dm"}, names  # both methods in one animation
    assert cov.locator(".js-plotly-plot").count() == 2  # the animation and the coverage/MMD lines
    cov.locator(".js-plotly-plot").last.scroll_into_view_if_needed()  # the play button clear of the header
    plot.locator(".updatemenu-button").first.click()  # play: the frames advance, the legends follow
    deadline = time.monotonic() + 30
    later = names
    while later == names and time.monotonic() < deadline:
        pg.wait_for_timeout(300)
        later = plot.locator(".legendtext").evaluate_all("els => els.map(e => e.textContent)")
    assert later != names, names  # e.g. "dm (it 0)" -> "dm (it 12)"
    _no_exception(pg)
    cov.screenshot(path=str(ARTIFACTS / "15_coverage_animation.png"))


def test_html_hand_out_downloads_with_the_charts(page, server, tmp_path):  # noqa: F811
    """After the payoff and coverage tests: the hand-out holds both, self-contained."""
    pg = page
    export = pg.locator(".st-key-compare_export")
    assert "loss curves, payoff chart, coverage animation and the protocol" in export.inner_text()
    export.locator(".st-key-compare_export_build button").click()
    button = export.locator(".st-key-compare_export_download button")
    button.wait_for(timeout=WAIT_MS)
    with pg.expect_download() as info:
        button.click()
    path = tmp_path / "hand-out.html"
    info.value.save_as(path)
    html = path.read_text()
    assert html.count("data:image/png;base64,") >= 2  # the grids, inlined
    assert "synthetic (dc)" in html and "whole training set" in html  # the payoff chart
    assert "<script src=\"http" not in html  # nothing fetched from elsewhere
    _no_exception(pg)
    export.screenshot(path=str(ARTIFACTS / "16_hand_out.png"))


def test_condense_explains_the_method_and_shows_initial_vs_now(page, server):  # noqa: F811
    pg = page
    _goto(pg, server, "condense")
    view = pg.locator(".st-key-initial_vs_now")
    view.wait_for(timeout=WAIT_MS)
    assert view.get_by_text("initial images (iteration 0)").count() == 1
    assert view.get_by_text(re.compile(r"difference now − initial")).count() == 1
    pg.get_by_text(re.compile(r"How \w+ works: the algorithm box")).first.click()
    box = pg.locator(".st-key-explain_run")
    box.locator(".katex").first.wait_for(timeout=WAIT_MS)  # the objective, typeset
    assert "Cost here:" in box.inner_text() and "s per iteration on cpu" in box.inner_text()
    _no_exception(pg)
    view.screenshot(path=str(ARTIFACTS / "17_condense_initial_vs_now.png"))
    box.screenshot(path=str(ARTIFACTS / "18_condense_algorithm_box.png"))

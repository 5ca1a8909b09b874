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
from test_e2e_browser import ARTIFACTS, WAIT_MS, _goto, _no_exception, page, server  # noqa: F401 - fixtures

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
    t0 = time.monotonic()
    while time.monotonic() - t0 < PAIR_WAIT_S:
        for m in captions:
            try:
                seen[m].add(_grid(start, captions[m]).get_attribute("src", timeout=2000))
            except Exception:  # noqa: BLE001 - the fragment redrew while read: read it next time
                pass
        if all(start.get_by_text(finished[m]).count() for m in finished):
            break
        if len(seen["dc"]) > 1 and len(seen["dm"]) > 1 and not (ARTIFACTS / "11_pair_live.png").exists():
            start.screenshot(path=str(ARTIFACTS / "11_pair_live.png"))
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
    assert sorted(t.split(" ")[0] for t in legend.all_inner_texts()) == ["dc", "dm"]  # one chart, both losses
    _no_exception(pg)
    start.screenshot(path=str(ARTIFACTS / "12_pair_same_start.png"))
    pg.locator(".st-key-loss_curves").screenshot(path=str(ARTIFACTS / "13_pair_losses.png"))

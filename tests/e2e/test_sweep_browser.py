"""End to end in a real browser: launch a 2-trial sweep on Ray from the Train page, watch both curves
grow and the group's band appear, then see the sweep and the band on the Compare page."""

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import current, plot_js, settle

pytestmark = [pytest.mark.browser, pytest.mark.own_server]  # its assertions count the runs in its store
SIZE = {"width": 1400, "height": 900}


def traces(page, key: str) -> list[dict]:
    """Name, point count and fill of each trace of the current chart with widget key `key`."""
    return page.evaluate(
        f"""() => {{ const plot = {plot_js(key)};
                    if (!plot || !plot.data) return [];
                    return plot.data.map(t => ({{name: t.name, points: t.x ? t.x.length : 0,
                                                fill: t.fill || null}})); }}""")


def band_is_drawn(band: list[dict]) -> bool:
    """The band (filled) and the mean of both trials, over all 17 report points."""
    return [t["fill"] for t in band] == ["toself", None] and band[1]["points"] == 17


def shoot(page, key: str, path) -> None:
    """Screenshot once the chart with widget key `key` is scrolled into view (to the pixel)."""
    chart = page.locator(current(key)).filter(visible=True)
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_in_viewport(ratio=0.99)  # a sub-pixel edge may fall outside
    page.screenshot(path=str(path))


def test_launch_a_sweep_watch_both_curves_and_the_band(server, page, screenshots):
    """LeNet, two seeds, three epochs of the whole built-in dataset (enough to learn it)."""
    page.set_viewport_size(SIZE)
    page.goto(f"{server}/?model=lenet")
    settle(page)
    page.get_by_role("link", name="Train").click()
    settle(page)
    page.locator(".st-key-sweep_grid textarea").fill("lr=0.01")
    page.locator(".st-key-sweep_repeats input").fill("2")
    page.locator(".st-key-sweep_epochs input").fill("3")
    page.get_by_role("button", name="Launch", exact=True).click()
    settle(page)
    expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text("2 trials on this machine")

    seen, deadline = [], time.monotonic() + 240
    while time.monotonic() < deadline:
        curves, band = traces(page, "sweep_live_curves"), traces(page, "sweep_live_bands")
        seen.append(tuple(t["points"] for t in curves))
        if seen[-1] == (17, 17) and band_is_drawn(band):  # the band follows the curves in each refresh
            break
        time.sleep(0.5)
    # Five points an epoch, and the first epoch's two early ones (cnnlab.train.loop.FIRST_REPORTS).
    assert seen[-1] == (17, 17), f"both trials' train-loss curves reach 3 × 5 + 2 points, saw {seen[-5:]}"
    assert any(0 < sum(s) < 2 * 15 for s in seen), f"the curves were never drawn part-way: {seen}"
    assert band_is_drawn(band), band
    assert band[1]["name"].endswith("(mean of 2)")
    shoot(page, "sweep_live_bands", screenshots / "sweep-train.png")

    page.get_by_role("link", name="Compare").click()
    settle(page)
    page.get_by_role("tab", name="Sweeps").click()
    page.wait_for_selector(f"{current('sweep_curves')} .js-plotly-plot")
    assert len(traces(page, "sweep_curves")) == 2
    shoot(page, "sweep_curves", screenshots / "sweep-compare.png")
    page.get_by_role("tab", name="Groups (repeats)").click()
    page.wait_for_selector(f"{current('band_chart')} .js-plotly-plot")
    # Trials of a few steps may end at chance, which draws each seed first: ask for the band.
    fills, deadline = [], time.monotonic() + 30
    while fills != ["toself", None] and time.monotonic() < deadline:  # a click during a refresh may be lost,
        page.locator(".st-key-band_spread").get_by_text("mean ± std").click()  # and its rerun start late
        time.sleep(0.5)
        settle(page)
        fills = [t["fill"] for t in traces(page, "band_chart")]
    assert fills == ["toself", None], f"the band and the mean of the sweep's group, saw fills {fills}"
    shoot(page, "band_chart", screenshots / "group-band.png")

"""End to end in a real browser: launch a 2-trial sweep on Ray from the Train page, watch both curves
grow and the group's band appear, then see the sweep and the band on the Compare page."""

import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
SIZE = {"width": 1400, "height": 900}


def settle(page) -> None:
    """Wait until the app is connected and its script has finished running."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    page.wait_for_function(
        """() => { const app = document.querySelector('[data-testid="stApp"]');
                   return app && app.getAttribute('data-test-script-state') === 'notRunning'
                          && !document.querySelector('[data-stale="true"]'); }""")


def traces(page, key: str) -> list[dict]:
    """Name, point count and fill of each trace of the chart with widget key `key`."""
    return page.evaluate(
        """(key) => { const plot = document.querySelector(
                          `.st-key-${key}:not([data-stale="true"]) .js-plotly-plot`);
                      if (!plot || !plot.data) return [];
                      return plot.data.map(t => ({name: t.name, points: t.x ? t.x.length : 0,
                                                  fill: t.fill || null})); }""", key)


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
        curves = traces(page, "sweep_live_curves")
        seen.append(tuple(t["points"] for t in curves))
        if len(curves) == 2 and all(t["points"] == 3 * 5 for t in curves):
            break
        time.sleep(0.5)
    assert seen[-1] == (15, 15), f"both trials' train-loss curves reach 5 points an epoch, saw {seen[-5:]}"
    assert any(0 < sum(s) < 2 * 15 for s in seen), f"the curves were never drawn part-way: {seen}"
    band = traces(page, "sweep_live_bands")
    assert [t["fill"] for t in band] == ["toself", None] and band[1]["points"] == 15
    assert band[1]["name"].endswith("(mean of 2)")
    page.locator(".st-key-sweep_live_bands:not([data-stale=\"true\"])").first.scroll_into_view_if_needed()
    time.sleep(1)
    page.screenshot(path=str(screenshots / "sweep-train.png"))

    page.get_by_role("link", name="Compare").click()
    settle(page)
    page.get_by_role("tab", name="Sweeps").click()
    page.wait_for_selector(".st-key-sweep_curves .js-plotly-plot")
    assert len(traces(page, "sweep_curves")) == 2
    page.locator(".st-key-sweep_curves:not([data-stale=\"true\"])").first.scroll_into_view_if_needed()
    time.sleep(1)
    page.screenshot(path=str(screenshots / "sweep-compare.png"))
    page.get_by_role("tab", name="Groups (repeats)").click()
    page.wait_for_selector(".st-key-band_chart .js-plotly-plot")
    assert [t["fill"] for t in traces(page, "band_chart")] == ["toself", None]
    page.locator(".st-key-band_chart:not([data-stale=\"true\"])").first.scroll_into_view_if_needed()
    time.sleep(1)
    page.screenshot(path=str(screenshots / "group-band.png"))

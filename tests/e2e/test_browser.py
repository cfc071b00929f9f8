"""End to end in a real browser: build VGG-16, train a model, watch the curve grow, compare runs."""

import time

import pytest
from playwright.sync_api import expect

from cnnlab.analysis import analyze
from cnnlab.units import format_count

pytestmark = pytest.mark.browser


def settle(page) -> None:
    """Wait until the app is connected and its script has finished running."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    page.wait_for_function(
        """() => { const app = document.querySelector('[data-testid="stApp"]');
                   return app && app.getAttribute('data-test-script-state') === 'notRunning'
                          && !document.querySelector('[data-stale="true"]'); }""")


def choose(page, key: str, option: str) -> None:
    page.locator(f".st-key-{key} input[role='combobox']").click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def metric(page, label: str):
    return page.locator('[data-testid="stMetric"]').filter(has_text=label).locator(
        '[data-testid="stMetricValue"]')


def curve_points(page) -> int:
    return page.evaluate(
        """() => { const plot = document.querySelector('.st-key-live_curves .js-plotly-plot');
                   if (!plot || !plot.data) return 0;
                   return plot.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0); }""")


def test_build_train_watch_and_compare(server, page, screenshots):
    page.goto(server)
    settle(page)
    assert "Build a network" in page.locator("h1").first.inner_text()
    choose(page, "vgg_preset", "VGG-16")
    expect(metric(page, "Parameters")).to_have_text(format_count(analyze("vgg16").totals.params))
    assert "model=vgg16" in page.url
    page.wait_for_selector('[data-testid="stDataFrame"]')
    page.get_by_role("tab", name="Parameters").click()
    page.wait_for_selector(".st-key-params_chart .js-plotly-plot")
    page.screenshot(path=str(screenshots / "build-vgg16.png"))

    choose(page, "family", "LeNet")
    expect(metric(page, "Parameters")).to_have_text(format_count(analyze("lenet").totals.params))
    page.get_by_role("link", name="Train").click()
    settle(page)
    page.get_by_text("More").click()
    page.locator(".st-key-epochs input").fill("4")
    page.locator(".st-key-run_name input").fill("browser run")
    page.get_by_role("button", name="Launch run").click()
    settle(page)
    assert "launched" in page.locator('[data-testid="stAlertContentSuccess"]').inner_text()

    counts, deadline = [], time.monotonic() + 180
    while time.monotonic() < deadline:
        counts.append(curve_points(page))
        if "done" in page.locator('[data-testid="stProgress"]').inner_text():
            time.sleep(1.5)
            counts.append(curve_points(page))
            break
        time.sleep(0.5)
    growing = sorted(set(counts))
    assert len(growing) >= 3, f"the curve should gain points while the run goes, saw {counts}"
    assert counts[-1] == 4 * 5 * 2 + 4  # loss and acc at 5 report points per epoch, test acc per epoch
    page.screenshot(path=str(screenshots / "train-live.png"))

    page.get_by_role("link", name="Compare").click()
    settle(page)
    page.wait_for_selector(".st-key-overlay_chart .js-plotly-plot")
    assert page.locator('[data-testid="stDataFrame"]').count() >= 1
    page.screenshot(path=str(screenshots / "compare.png"))

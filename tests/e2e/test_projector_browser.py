"""In a real browser at a projector's 1024×768: the tour is one line with its ✕ in sight and stays
dismissed; the A/B headline's ratio column and the layer table's MACs and output columns show without
scrolling; Train shows loss and accuracy on the first screen; no legend covers a chart's title."""

import json
import re

import pytest
from playwright.sync_api import expect

from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from tests.e2e.test_browser import current, fresh, settle

# A server of its own: no earlier test has dismissed its tour.
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.own_server]
WIDTH, HEIGHT = 1024, 768


@pytest.fixture
def projector(page):
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    yield page
    page.set_viewport_size({"width": 1400, "height": 900})


def box(page, selector: str) -> dict:
    found = page.locator(selector).filter(visible=True).first.bounding_box()
    assert found is not None, selector
    return found


def fully_shown(page, where: str) -> None:
    """The data grid under `where` shows every column: no horizontal scroll, its right edge inside the
    window."""
    grid = f"{fresh(where)} [data-testid='stDataFrame']"
    page.locator(grid).first.scroll_into_view_if_needed()  # a grid is drawn once in sight
    page.wait_for_selector(f"{grid} [data-testid='data-grid-canvas']")
    widths = page.evaluate(f"""() => [...document.querySelectorAll({json.dumps(grid + ' .dvn-scroller')})]
                                     .map(e => [e.scrollWidth, e.clientWidth])""")
    assert widths and all(scroll <= client for scroll, client in widths), widths
    shown = box(page, grid)
    assert shown["x"] >= 0 and shown["x"] + shown["width"] <= WIDTH, shown


def record_run(home, name: str, losses: list[float], accs: list[float]) -> int:
    """A finished LeNet run with one report per epoch, written to the server's store."""
    store = RunStore(home)
    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), dataset="shapes", epochs=len(losses))
    run_id = store.create_run(config.to_dict(), name=name, model="lenet", dataset="shapes")
    for epoch, (loss, acc) in enumerate(zip(losses, accs, strict=True), 1):
        store.log_metrics(run_id, epoch, float(epoch),
                          {"train_loss": loss, "train_acc": acc, "test_acc": acc})
    store.finish(run_id, "done", final_test_acc=accs[-1], epochs_done=float(len(losses)))
    return run_id


def test_the_tour_is_one_line_its_cross_in_sight_and_it_stays_dismissed(server, projector):
    page = projector
    page.goto(f"{server}/?model=lenet&input=1x28x28")
    settle(page)
    strip = box(page, current("tour"))
    assert strip["height"] < 70, strip  # one line
    cross = box(page, f"{current('tour_hide')} button")
    assert cross["x"] + cross["width"] <= WIDTH and cross["y"] + cross["height"] <= HEIGHT, cross
    page.locator(f"{current('tour_hide')} button").first.click()
    settle(page)
    expect(page).to_have_url(re.compile(r"[?&]tour=hidden(&|$)"))
    page.reload()
    settle(page)
    expect(page.locator("h1").first).to_contain_text("Build a network")
    expect(page.locator(".st-key-tour")).to_have_count(0)


def test_the_ab_ratios_and_the_layer_tables_columns_show_without_scrolling(server, projector, screenshots):
    page = projector
    page.goto(f"{server}/?model=vgg11&input=1x224x224&pin_model=vgg11&pin_input=1x224x224"
              "&pin_width_divisor=4&tour=hidden")
    settle(page)
    fully_shown(page, ".st-key-pin_headline")  # its last column is B/A
    fully_shown(page, ".st-key-pin_stages_a")  # and the stages' RF
    fully_shown(page, ".st-key-pin_stages_b")
    # the title and the headline metrics take at most a third of the height
    page.evaluate("() => { for (const e of document.querySelectorAll('*')) e.scrollTop = 0; }")
    metrics = box(page, '[data-testid="stMetricValue"]')
    title = box(page, "h1")
    assert metrics["y"] + metrics["height"] - title["y"] <= HEIGHT / 3, (title, metrics)
    page.screenshot(path=str(screenshots / "projector-build.png"))
    fully_shown(page, '[data-testid="stTabs"]')  # the layer table: its last columns are MACs and output


def test_train_shows_loss_and_accuracy_on_the_first_screen(server, server_home, projector, screenshots):
    page = projector
    run_id = record_run(server_home, "first screen", [2.31, 1.2, 0.6], [0.12, 0.61, 0.83])
    page.goto(f"{server}/train?model=lenet&input=1x28x28&watch_run={run_id}&tour=hidden")
    settle(page)
    chart = f"{current('live_curves')} .js-plotly-plot"
    page.wait_for_selector(chart)
    page.evaluate("() => { for (const e of document.querySelectorAll('*')) e.scrollTop = 0; }")
    loss, accuracy = box(page, f"{chart} .g-ytitle"), box(page, f"{chart} .g-y2title")
    assert loss["y"] >= 0 and accuracy["y"] + accuracy["height"] <= HEIGHT, (loss, accuracy)
    legend, title = box(page, f"{chart} .legend"), box(page, f"{chart} .gtitle")
    assert legend["y"] > title["y"] + title["height"], (legend, title)  # the legend is not on the title
    page.screenshot(path=str(screenshots / "projector-train.png"))


def test_compares_overlay_legend_is_one_entry_per_run_below_the_title(server, server_home, projector):
    page = projector
    for k in range(4):
        record_run(server_home, f"overlay {k}", [2.3 - 0.3 * k, 1.0, 0.5], [0.1, 0.5 + 0.05 * k, 0.8])
    page.goto(f"{server}/compare?tour=hidden")
    settle(page)
    chart = f"{current('overlay_chart')} .js-plotly-plot"
    page.wait_for_selector(chart)
    entries = page.locator(f"{chart} .legend .traces").filter(visible=True)
    assert entries.count() == 4  # the first four runs are chosen
    legend, title = box(page, f"{chart} .legend"), box(page, f"{chart} .gtitle")
    assert legend["y"] > title["y"] + title["height"], (legend, title)

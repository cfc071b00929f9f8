"""End to end in a real browser: what only a browser shows of the lecturer's polish items — the
parameters chart's log ticks, See's layer box after the model changed size, the number fields' errors
as typed, and Lessons opening Build in the same tab."""

import re

import pytest
from playwright.sync_api import expect

from cnnlab.runs import service
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from tests.e2e.test_browser import current, plot_js, settle

pytestmark = [pytest.mark.browser, pytest.mark.own_server]  # it adds a run to its store


def type_into(page, key: str, text: str) -> None:
    """Replace the text of field `key` and press Enter."""
    field = page.locator(f"{current(key)} input")
    field.fill(text)
    field.press("Enter")
    settle(page)


@pytest.mark.parametrize("width, height", [(1400, 900), (1024, 768)])
def test_the_parameters_chart_is_ticked_at_powers_of_ten(server, page, screenshots, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{server}/?model=vgg11")
    settle(page)
    page.get_by_role("tab", name="Parameters").click()
    page.wait_for_selector(f"{current('params_chart')} .js-plotly-plot .ytick")
    ticks = page.evaluate(f"""() => [...{plot_js('params_chart')}.querySelectorAll('.ytick text')]
                                     .map(t => t.textContent)""")
    # VGG-11's layers hold 640 (conv1) to 102,764,544 (fc1) parameters
    assert ticks == ["1k", "10k", "100k", "1M", "10M", "100M"]
    expect(page.get_by_text("128,806,154 exactly")).to_be_visible()
    page.screenshot(path=str(screenshots / f"build-params-{width}.png"))


def test_a_size_typed_as_1e9_is_echoed_as_typed(server, page, screenshots):
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(f"{server}/?model=lenet")
    settle(page)
    type_into(page, "in_size", "1e9")
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_text(
        "Input size must be a whole number from 28 to 256, got 1e9.")
    page.screenshot(path=str(screenshots / "build-size-1e9.png"))


def test_the_see_layer_box_follows_the_model_on_screen(server, server_home, page, screenshots, monkeypatch):
    """Switching See from the Build model (LeNet at 28 px) to a run trained at 32 px keeps the layer's
    name: the box showed the label the browser was last sent, 16×5×5 over a 6×6 map."""
    monkeypatch.setenv("CNNLAB_HOME", str(server_home))
    config = RunConfig(model=fit_input(model_config("lenet"), "shapes", 32), dataset="shapes", resize=32,
                       epochs=1, batch_size=64, limit_train=64, limit_test=32, device="cpu",
                       save_weights=True)
    assert service.execute(service.create_run(config, name="at 32 px")).status == "done"
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{server}/?model=lenet")
    settle(page)
    page.get_by_role("link", name="See").click()
    settle(page)
    box = page.locator(f"{current('see_layer')} input[role='combobox']")  # shows the chosen label
    expect(box).to_have_value("pool2 — 16×5×5, field 16")
    page.get_by_text("A trained run", exact=True).click()
    settle(page)
    expect(box).to_have_value("pool2 — 16×6×6, field 16")  # sides at 32: 32, 16, 12, 6
    page.wait_for_selector(f"{current('see_field_True')} .js-plotly-plot")
    page.screenshot(path=str(screenshots / "see-run-at-32.png"))
    type_into(page, "see_row", "6")
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_text(
        "Row must be a whole number from 0 to 5, got 6.")
    expect(page.locator(".st-key-see_field_True")).to_have_count(0)  # no field left under the error
    page.screenshot(path=str(screenshots / "see-row-out-of-range.png"))
    page.set_viewport_size({"width": 1024, "height": 768})
    page.screenshot(path=str(screenshots / "see-row-out-of-range-1024.png"))


def test_open_a_and_b_stays_in_this_tab(server, page, screenshots):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{server}/lessons")
    settle(page)
    pages = len(page.context.pages)
    page.locator(current("lesson_stack2_link")).get_by_role("button").click()
    settle(page)
    expect(page).to_have_url(re.compile(r"pin_model=seq"))
    expect(page.locator("h1")).to_have_text("Build a network")
    assert len(page.context.pages) == pages  # no new tab (a new session)
    page.screenshot(path=str(screenshots / "lessons-open-a-and-b.png"))

"""End to end in a real browser: pin a model as A, change B, see both; FC→conv; the Lessons page."""

import re

import pytest
from playwright.sync_api import expect

from cnnlab.analysis import analyze
from cnnlab.units import format_count
from tests.e2e.test_browser import choose, current, settle

pytestmark = pytest.mark.browser
VIEW = {"width": 1400, "height": 900}  # the screenshots'; the page is driven in the fixture's taller one
TALL = {"width": 1400, "height": 1500}


def shot(page, path, target=None) -> None:
    """A 1400×900 screenshot (with `target` scrolled into view), then back to the taller viewport (a
    select box low in a 900-pixel window does not open its list)."""
    page.set_viewport_size(VIEW)
    if target is not None:
        target.scroll_into_view_if_needed()
    page.screenshot(path=str(path))
    page.set_viewport_size(TALL)


def test_pin_a_change_b_and_switch_fc_as_conv(server, page, screenshots):
    page.set_viewport_size(TALL)
    page.goto(server)
    settle(page)
    page.get_by_role("button", name="Pin this model as A").click()
    expect(page).to_have_url(re.compile("pin_model=vgg11"))
    expect(page.locator(current("pin_stages_a"))).to_be_visible()
    settle(page)
    choose(page, "vgg_preset", "VGG-16")
    expect(page).to_have_url(re.compile(r"\?model=vgg16&.*pin_model=vgg11"))
    for key in ("pin_headline", "pin_stages_a", "pin_stages_b"):
        expect(page.locator(current(key))).to_be_visible()
    expect(page.locator(current("pin_headline"))).to_contain_text(format_count(analyze("vgg16").totals.params))
    shot(page, screenshots / "teach-pin-compare.png", page.locator(current("pin_headline")))

    page.locator(".st-key-fc_as_conv label").click()
    settle(page)
    table = page.locator(current("fc_conv_table"))
    expect(table).to_be_visible(timeout=60_000)  # VGG-16 as convolutions: seconds on a busy machine
    expect(page.get_by_text("10×4×4 map of class scores")).to_be_visible()
    shot(page, screenshots / "teach-fc-as-conv.png", table)


def test_the_lessons_page(server, page, screenshots):
    page.set_viewport_size(TALL)
    page.goto(server)
    settle(page)
    page.get_by_role("link", name="Lessons").click()
    settle(page)
    expect(page.locator("h1").first).to_have_text("Lessons")
    expect(page.locator(current("lesson_fc_conv"))).to_contain_text("10×4×4")
    shot(page, screenshots / "teach-lessons.png")
    shot(page, screenshots / "teach-lessons-evolution.png", page.locator(current("lesson_evolution")))
    shot(page, screenshots / "teach-lessons-fc-conv.png", page.locator(current("lesson_fc_conv")))
    expect(page.locator(current("lesson_erf"))).to_contain_text("The effective field is much smaller")
    shot(page, screenshots / "teach-lessons-erf.png", page.locator(current("lesson_erf")))

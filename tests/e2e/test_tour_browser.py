"""The first-minute tour walked end to end in Chromium at 1400×900 and 1024×768: each step one click,
landing on its page with its model; screenshots kept in docs/screenshots/tour-*.png."""

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import current, settle

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# step key, the page's title, what its link must carry, an element the step is about
STEPS = [
    (0, "Build a network", r"model=lenet&input=1x28x28", '[data-testid="stDataFrame"]'),
    (1, "Build a network", r"model=vgg11&input=1x224x224&width_divisor=4", '[data-testid="stDataFrame"]'),
    (2, "Lessons", r"/lessons", None),
    (3, "See what the network sees", r"/see\?model=lenet&input=1x28x28&layer=pool2", current("see_grid")),
    (4, "Train", r"/train\?model=lenet&input=1x28x28", current("launch")),
    (5, "Compare", r"/compare", None),
]


@pytest.mark.parametrize(("width", "height"), [(1400, 900), (1024, 768)])
def test_walk_the_tour(server, page, screenshots, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{server}/?model=lenet&input=1x28x28")
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=180_000)
    settle(page)  # a cold server's first run imports torch
    expect(page.locator(current("tour"))).to_contain_text("Start here")
    for step, title, link, element in STEPS:
        page.locator(f"{current(f'tour_{step}')} button").click()
        settle(page)
        expect(page).to_have_url(re.compile(link))
        expect(page.locator("h1").first).to_contain_text(title)
        expect(page.locator(current("tour"))).to_contain_text(f"step {step + 1} of 6")
        if element:
            expect(page.locator(element).first).to_be_visible()
        if step == 3:  # the heat is what the step is about: in the first screen, under the tour's strip
            title = page.locator(".gtitle", has_text="pool2 unit (2, 2)").bounding_box()  # atop the heat
            assert title is not None and title["y"] + 120 < height, title
        shot = screenshots / f"tour-{width}-{step + 1}.png"
        page.screenshot(path=str(shot))
        shutil.copy(shot, DOCS / shot.name)
    page.locator(f"{current('tour_hide')} button").first.click()
    settle(page)
    expect(page.locator(".st-key-tour")).to_have_count(0)

"""In a real browser: the Train form is the link and survives a visit to Compare; the live panel follows
the run its own tab launched (queued, running, done, then the tab's next one), with no banner outliving
its state, in one tab and in two tabs launching within a second."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import fresh, settle

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TINY = "model=lenet&epochs=1&limit_train=64"  # a run of a few seconds once its worker starts
INFO, SUCCESS = '[data-testid="stAlertContentInfo"]', '[data-testid="stAlertContentSuccess"]'


def watched(page) -> str:
    """The run the 'Watch run' list shows."""
    return page.locator(fresh(".st-key-watch_run input")).input_value()


def progress(page):
    return page.locator(fresh('[data-testid="stProgress"]'))


def launch(page, before: int = 0) -> int:
    """Press Launch run; the id of the run the banner names (a later one than `before`)."""
    page.get_by_role("button", name="Launch run").click()
    banner = page.locator(fresh(f"{SUCCESS}, {INFO}"))
    expect(banner).to_contain_text(re.compile(rf"Run #(?!{before}\b)\d+ (launched|queued)"), timeout=30_000)
    return int(re.search(r"Run #(\d+)", banner.inner_text()).group(1))


def test_the_links_form_survives_a_visit_to_compare(server, server_home, page):
    data = os.environ.get("CNNLAB_TEST_DATA")
    if not data or not (Path(data) / "MNIST" / "raw").is_dir():
        pytest.skip("the MNIST subset is not here: set CNNLAB_TEST_DATA to a folder with MNIST/raw")
    (server_home / "data").mkdir(exist_ok=True)
    if not (server_home / "data" / "MNIST").exists():
        (server_home / "data" / "MNIST").symlink_to(Path(data) / "MNIST")
    page.goto(f"{server}/train?model=lenet&input=1x28x28&dataset=mnist&epochs=3")
    settle(page)
    expect(page.locator(".st-key-dataset input")).to_have_value(re.compile("^mnist — "))
    page.get_by_role("link", name="Compare").click()
    settle(page)
    page.get_by_role("link", name="Train").click()
    settle(page)
    expect(page.locator(".st-key-dataset input")).to_have_value(re.compile("^mnist — "))
    expect(page.locator(".st-key-epochs input")).to_have_value("3")
    expect(page).to_have_url(re.compile(r"[?&]dataset=mnist(&|$)"))


def test_one_tab_follows_its_queued_second_run(server, page):
    page.goto(f"{server}/train?model=lenet&epochs=200&limit_train=512")
    settle(page)
    first = launch(page)
    page.locator(".st-key-epochs input").fill("1")
    page.locator(".st-key-epochs input").press("Enter")
    page.get_by_text("More").click()
    page.locator(".st-key-limit_train input").fill("64")
    page.locator(".st-key-limit_train input").press("Enter")
    settle(page)
    second = launch(page, first)
    expect(page.locator(fresh(INFO))).to_contain_text(f"Run #{second} queued", timeout=30_000)
    expect(page.locator(fresh(INFO))).to_contain_text(f"waiting behind #{first}")
    assert watched(page).startswith(f"#{first} ")  # the tab's first run, still going
    expect(progress(page)).to_contain_text("running", timeout=120_000)
    page.locator(f".st-key-stop_{first} button").click()
    # The first run stopped, the second starts: the panel moves to it and the queued banner goes.
    expect(page.locator(fresh(".st-key-watch_run input"))).to_have_value(re.compile(f"^#{second} "),
                                                                      timeout=60_000)
    expect(progress(page)).to_contain_text("done · epoch 1.00 of 1", timeout=180_000)
    expect(page.locator(fresh(INFO))).to_have_count(0)
    expect(page.locator(fresh(SUCCESS))).to_have_count(0)  # the run ended: the panel says how
    going = page.locator(fresh('[data-testid="stCaptionContainer"]')).filter(has_text="queued or running")
    expect(going).to_have_count(1)  # a fragment's rerun of the page can show its last line twice a moment
    expect(going).to_have_text("0 runs queued or running")


def test_two_tabs_launching_within_a_second_each_watch_their_own(server, page):
    tabs = [page, page.context.browser.new_page(viewport={"width": 1400, "height": 900})]
    tabs[1].set_default_timeout(60_000)
    for tab in tabs:
        tab.goto(f"{server}/train?{TINY}")
        settle(tab)
    for tab in tabs:
        expect(tab.get_by_role("button", name="Launch run")).to_be_enabled()
    buttons = [tab.get_by_role("button", name="Launch run").element_handle() for tab in tabs]
    for button in buttons:  # back to back, without waiting for either page to answer
        button.evaluate("b => b.click()")
    ids = []
    for tab in tabs:
        banner = tab.locator(fresh(f"{SUCCESS}, {INFO}"))
        expect(banner).to_contain_text(re.compile(r"Run #\d+ (launched|queued)"), timeout=30_000)
        ids.append(int(re.search(r"Run #(\d+)", banner.inner_text()).group(1)))
    assert len(set(ids)) == 2
    for tab, own in zip(tabs, ids, strict=True):
        expect(tab.locator(fresh(".st-key-watch_run input"))).to_have_value(re.compile(f"^#{own} "),
                                                                         timeout=60_000)
        expect(progress(tab)).to_contain_text("done · epoch 1.00 of 1", timeout=180_000)
        assert watched(tab).startswith(f"#{own} ")
        expect(tab.locator(fresh(f"{SUCCESS}, {INFO}"))).to_have_count(0)
    tabs[1].close()

"""In a real browser: Enter in a Train field applies the value and never launches a run; only the Launch
button does, once per click."""

import re

import pytest
from playwright.sync_api import expect

from cnnlab.runs.store import RunStore
from tests.e2e.test_browser import settle

pytestmark = [pytest.mark.browser, pytest.mark.own_server]  # its assertions count the runs in its store


def enter(page, key: str, text: str) -> None:
    """Type `text` in the number field `key` and press Enter; wait for the page to apply it (the value
    reaches the link)."""
    field = page.locator(f".st-key-{key} input")
    field.fill(text)
    field.press("Enter")
    expect(page).to_have_url(re.compile(f"[?&]{key}={re.escape(text)}(&|$)"))
    settle(page)


def test_enter_in_a_train_field_applies_it_and_only_the_button_launches(server, server_home, page):
    page.set_default_timeout(180_000)  # a first visit of a fresh server on a busy machine
    page.goto(f"{server}/train?model=lenet")
    settle(page)
    enter(page, "lr", "0.001")
    enter(page, "epochs", "1")
    page.get_by_text("More").click()
    enter(page, "limit_train", "64")
    assert RunStore(server_home).list_runs() == []  # three Enters, no run
    page.get_by_role("button", name="Launch run").click()
    # The launch starts the run's worker before the page answers: on a busy machine that takes seconds.
    expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text("Run #1 launched",
                                                                                timeout=60_000)
    enter(page, "epochs", "2")  # the page reruns after the click: no second launch
    assert [(run.id, run.config["lr"], run.config["epochs"]) for run in RunStore(server_home).list_runs()] \
        == [(1, 0.001, 1)]

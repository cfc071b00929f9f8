"""End to end in a real browser: upload a model saved with torch.export.save on Build, see its feature
maps on See."""

import re

import pytest
import torch
from playwright.sync_api import expect

from cnnlab.inspect import initial
from cnnlab.spec import model_config
from tests.e2e.test_browser import plot_js, settle

pytestmark = pytest.mark.browser


def test_upload_a_model_and_see_its_feature_maps(server, page, screenshots, tmp_path):
    model = initial(model_config("lenet"), seed=5).model
    path = tmp_path / "mine.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 1, 28, 28),)), path)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{server}/?model=lenet")
    settle(page)
    page.locator(".st-key-upload_model input[type='file']").set_input_files(str(path), timeout=180_000)
    settle(page)
    expect(page.get_by_text("Your model: mine.pt2")).to_be_visible(timeout=120_000)  # upload, then load
    page.get_by_role("link", name="See").click()
    settle(page)
    page.get_by_text("Your uploaded model", exact=True).click()
    settle(page)
    page.get_by_text("Feature maps", exact=True).click()
    settle(page)
    page.wait_for_selector(".st-key-see_maps_conv1 .js-plotly-plot")
    title = page.evaluate(f"() => {plot_js('see_maps_conv1')}.layout.title.text")
    assert re.sub("<[^>]+>", "", title) == "conv1: 6×28×28 (first 6 channels)"  # Plotly's bold tags off
    page.screenshot(path=str(screenshots / "see-uploaded-model.png"))

"""End to end in a real browser: the See page's One unit view steps its unit across conv1's map, and the
numbers it shows are the model's own forward values."""

import pytest
import torch
from playwright.sync_api import expect

from cnnlab.inspect import dataset_images, initial
from cnnlab.spec import model_config
from tests.e2e.test_browser import current, metric, open_list, plot_js, settle

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def lenet_conv1() -> torch.Tensor:
    """LeNet's (seed 0) conv1 output on shapes test image 0, by a hook of the test's own."""
    model = initial(model_config("lenet"), seed=0).model
    seen = {}

    def hook(_module: torch.nn.Module, _args: tuple, out: torch.Tensor) -> None:
        seen["out"] = out[0].clone()

    model.conv1.register_forward_hook(hook)
    with torch.no_grad():
        model(dataset_images("shapes", 1, model_config("lenet").input))
    return seen["out"]


def unit_title(page) -> str:
    return page.evaluate(f"() => {plot_js('see_u_figure')}.layout.title.text")


def test_step_the_unit_and_see_its_real_values(server, page, screenshots):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{server}/see?model=lenet")
    settle(page)
    page.get_by_text("One unit", exact=True).click()
    settle(page)
    open_list(page, "see_u_layer")
    page.get_by_role("option", name="conv1 (conv)").click()
    settle(page)
    page.wait_for_selector(f"{current('see_u_figure')} .js-plotly-plot")
    out = lenet_conv1()
    assert "conv1, channel 0, unit (14, 14)<br>" in unit_title(page)  # the page draws titles bold
    expect(metric(page, "Real output (forward pass)")).to_have_text(f"{out[0, 14, 14].item():.5g}")
    for column in (15, 16):
        page.locator(f"{current('see_u_next')} button").click()
        settle(page)
        # Mid-refresh no copy of the chart may be drawn yet: wait through that too.
        title = f"{plot_js('see_u_figure')}?.layout?.title?.text"
        page.wait_for_function(f"() => ({title} || '').includes('unit (14, {column})')")
        expect(metric(page, "Real output (forward pass)")).to_have_text(f"{out[0, 14, column].item():.5g}")
    # The window is drawn on the image where the unit reads: 5×5 cells at rows 12..16, columns 14..18.
    cells = page.evaluate(f"""() => {{ const plot = {plot_js('see_u_slide')};
                                      const dots = plot._fullData.find(t => t.type === 'scatter');
                                      const y = Array.from(dots.y), x = Array.from(dots.x);
                                      return [Math.min(...y), Math.max(...y), Math.min(...x),
                                              Math.max(...x), x.length]; }}""")
    assert cells == [12, 16, 14, 18, 25]
    page.screenshot(path=str(screenshots / "see-one-unit.png"))

"""End to end in a real browser: open See, click a unit on the map's grid, the fields are drawn for it."""

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import current, plot_js, settle

pytestmark = pytest.mark.browser


def wait_for_field_of(page, unit: str) -> None:
    """Wait until the field chart is drawn for `unit` (e.g. "pool2 unit (2, 2)")."""
    page.wait_for_function(
        f"""unit => {{ const plot = {plot_js('see_field_True')};
                      return !!(plot && plot.layout && plot.layout.title
                                && plot.layout.title.text.includes(unit)); }}""", arg=unit)


def test_click_a_unit_and_see_its_fields(server, page, screenshots):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{server}/?model=lenet")
    settle(page)
    page.get_by_role("link", name="See").click()
    settle(page)
    grid = f"{current('see_grid')} .js-plotly-plot"
    page.wait_for_selector(grid)
    wait_for_field_of(page, "pool2 unit (2, 2)")
    # Click the marker of unit (row 1, column 3) on the 5×5 grid: its position in the plot's own axes,
    # on the plot area (Playwright scrolls it into view and waits until it stands still).
    x, y = page.evaluate(f"""() => {{ const layout = {plot_js('see_grid')}._fullLayout;
                                     return [layout.xaxis.l2p(3), layout.yaxis.l2p(1)]; }}""")
    page.locator(f"{grid} .nsewdrag").click(position={"x": x, "y": y})
    settle(page)
    wait_for_field_of(page, "pool2 unit (1, 3)")
    expect(page.locator(".st-key-see_row input")).to_have_value("1")
    expect(page.locator(".st-key-see_col input")).to_have_value("3")
    # The overlay is drawn: the heatmap trace and the theoretical box (rows 2..17, columns 10..25).
    drawn = page.evaluate(
        f"""() => {{ const plot = {plot_js('see_field_True')};
                    const box = plot.layout.shapes.find(s => s.name === 'theoretical field');
                    return [plot.data.map(t => t.type), [box.y0, box.x0, box.y1, box.x1]]; }}""")
    assert drawn == [["image", "heatmap"], [1.5, 9.5, 17.5, 25.5]]
    page.screenshot(path=str(screenshots / "see-unit.png"))


@pytest.mark.parametrize(("view", "chart"), [("Feature maps", "see_maps_conv1"),
                                             ("Filters", "see_kernels_True"), ("Top images", "see_tops")])
def test_the_other_views_draw(server, page, screenshots, view, chart):
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{server}/?model=lenet")
    settle(page)
    page.get_by_role("link", name="See").click()
    settle(page)
    page.get_by_text(view, exact=True).click()
    settle(page)
    page.wait_for_selector(f".st-key-{chart} .js-plotly-plot")
    page.screenshot(path=str(screenshots / f"see-{view.lower().replace(' ', '-')}.png"))

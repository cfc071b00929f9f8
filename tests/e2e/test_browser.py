"""End to end in a real browser: build VGG-16, train a model, watch the curve grow, compare runs."""

import contextlib
import json
import re
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from cnnlab.analysis import analyze
from cnnlab.units import format_count

pytestmark = [pytest.mark.browser, pytest.mark.own_server]  # its assertions count the runs in its store


def settle(page) -> None:
    """Wait until the app is connected and its script has finished running."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    page.wait_for_function(
        """() => { const app = document.querySelector('[data-testid="stApp"]');
                   return app && app.getAttribute('data-test-script-state') === 'notRunning'
                          && !document.querySelector('[data-stale="true"]'); }""")


def open_list(page, key: str) -> None:
    """Open select box `key`'s list; right after a button press the first click may only focus the
    box, so the arrow key opens the list when the click did not."""
    box = page.locator(f".st-key-{key} input[role='combobox']")
    box.click()
    try:
        expect(page.get_by_role("option").first).to_be_visible(timeout=2000)
    except AssertionError:
        box.press("ArrowDown")
        expect(page.get_by_role("option").first).to_be_visible()


def choose(page, key: str, option: str) -> None:
    open_list(page, key)
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def fresh(selector: str) -> str:
    """`selector` without the copies a rerun may leave for a moment (Streamlit marks them stale)."""
    return f'{selector}:not([data-stale="true"]):not([data-stale="true"] *)'


def current(key: str) -> str:
    """The element with widget key `key`, as this run drew it."""
    return fresh(f".st-key-{key}")


def plot_js(key: str) -> str:
    """JavaScript for the Plotly chart with widget key `key` as the page shows it: current, and not
    one of the hidden empty copies a refreshing fragment may leave behind."""
    plots = f"document.querySelectorAll('{current(key)} .js-plotly-plot')"
    return f"[...{plots}].find(e => e.offsetHeight > 0)"


def metric(page, label: str):
    return page.locator('[data-testid="stMetric"]').filter(has_text=label).locator(
        '[data-testid="stMetricValue"]')


# The tables are canvas grids. Their accessibility table names each cell by row and column title and
# marks the selected one: a cell is reached by focusing the grid, then arrow keys until the wanted cell
# is the selected one, and Enter opens its editor. Only the row marker (select, delete) is reached by
# position: Streamlit's row height and marker column width.
ROW, MARKER = 35, 33


def grid_cell(page, key: str, row: int, column: str):
    """The cell of data editor `key` at `row` (0-based) under the column titled `column`."""
    page.wait_for_selector(f".st-key-{key} [data-testid='data-grid-canvas']")
    header = page.locator(f".st-key-{key} th[role='columnheader']").filter(
        has_text=re.compile(f"^{re.escape(column)}$"))
    index = header.get_attribute("aria-colindex")
    return page.locator(f".st-key-{key} tr[aria-rowindex='{row + 2}'] td[aria-colindex='{index}']")


def select_cell(page, key: str, row: int, column: str) -> None:
    """Make this cell the grid's selected one: focus a cell of its row while the grid has no focus or
    no selection (its first focus may select nothing), then one arrow key at a time, each after the
    last one shows in the selection."""
    target = grid_cell(page, key, row, column)
    goal = [int(target.get_attribute("aria-colindex")), row + 2]
    focusable = (target, page.locator(f".st-key-{key} tr[aria-rowindex='{row + 2}'] td").first)
    where = f"""() => {{ const grid = document.querySelector(".st-key-{key}");
                        const cell = grid.querySelector("td[aria-selected='true']");
                        const focus = document.activeElement;  // keys reach the grid from a cell
                        if (!cell || !grid.contains(focus) || !["TD", "CANVAS"].includes(focus.tagName))
                            return null;
                        return [+cell.getAttribute('aria-colindex'),
                                +cell.parentElement.getAttribute('aria-rowindex')]; }}"""
    seen = []
    for attempt in range(30):
        now = page.evaluate(where)
        seen.append(now)
        if now == goal:
            return
        if now is None:
            focusable[attempt % 2].focus()
        else:
            page.keyboard.press("ArrowRight" if now[0] < goal[0] else "ArrowLeft" if now[0] > goal[0]
                                else "ArrowDown" if now[1] < goal[1] else "ArrowUp")
        with contextlib.suppress(PlaywrightTimeoutError):  # a focus may change nothing
            page.wait_for_function(f"before => JSON.stringify(({where})()) !== before",  # until it shows
                                   arg=json.dumps(now, separators=(",", ":")), timeout=3000)
    raise AssertionError(f"could not select row {row}, column {column!r} of {key}: {seen}")


def edit_cell(page, key: str, row: int, column: str, value: int) -> None:
    """Open a cell of data editor `key`, type `value`, press Enter."""
    select_cell(page, key, row, column)
    page.keyboard.press("Enter")
    editor = page.locator("input.gdg-input")
    editor.fill(str(value))
    editor.press("Enter")
    settle(page)


def no_errors(page) -> None:
    """No error on the page as its last run drew it: a busy machine may leave an earlier run's error
    (a row in the middle of being added) for a while, so wait for it to go; else name what it says."""
    errors = page.locator(fresh('[data-testid="stAlertContentError"]'))
    with contextlib.suppress(AssertionError):
        expect(errors).to_have_count(0, timeout=30_000)
    assert errors.all_inner_texts() == []


def expect_blocks(page, blocks: str, inp: str) -> None:
    """The URL and the parameter count follow the edited table."""
    expect(page).to_have_url(re.compile("model=" + re.escape(f"vgg:{blocks}".replace(":", "%3A")
                                                             .replace(",", "%2C")) + "&"))
    expect(metric(page, "Parameters")).to_have_text(format_count(analyze(f"vgg:{blocks}", inp).totals.params))


# The number of points the current live chart draws (JavaScript, evaluated in the page).
CURVE_POINTS = f"""() => {{ const plot = {plot_js("live_curves")};
                           if (!plot || !plot.data) return 0;
                           return plot.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0); }}"""


def curve_points(page) -> int:
    return page.evaluate(CURVE_POINTS)


def test_edit_the_vgg_block_table_cell_by_cell(server, page, screenshots):
    page.goto(f"{server}/?model=vgg:1x64,1x128,2x256&input=1x96x96")
    settle(page)
    edit_cell(page, "blocks", 0, "channels", 32)
    expect_blocks(page, "1x32,1x128,2x256", "1x96x96")

    page.locator(".st-key-blocks").hover()
    page.get_by_role("button", name="Add row").click()  # a new row starts filled in: 1 conv, 256 channels
    settle(page)
    expect_blocks(page, "1x32,1x128,2x256,1x256", "1x96x96")
    no_errors(page)
    edit_cell(page, "blocks", 3, "convs", 2)
    expect_blocks(page, "1x32,1x128,2x256,2x256", "1x96x96")
    edit_cell(page, "blocks", 3, "channels", 512)
    expect_blocks(page, "1x32,1x128,2x256,2x512", "1x96x96")
    no_errors(page)

    page.wait_for_selector(".st-key-blocks [data-testid='data-grid-canvas']")
    box = page.locator(".st-key-blocks [data-testid='data-grid-canvas']").bounding_box()
    before = page.url
    for _ in range(6):  # a click while the grid redraws after the last edit selects nothing: click again
        page.mouse.click(box["x"] + MARKER / 2, box["y"] + ROW * 2.5)  # select row 2 by its marker
        page.keyboard.press("Delete")
        with contextlib.suppress(PlaywrightTimeoutError):
            page.wait_for_function("before => window.location.href !== before", arg=before, timeout=5000)
            break
    expect_blocks(page, "1x32,2x256,2x512", "1x96x96")
    page.screenshot(path=str(screenshots / "build-edited-blocks.png"))


@pytest.mark.parametrize("link, key", [
    ("model=seq:c5-6p2,sig,a2,c5-16,sig,a2,fc120,sig,fc84,sig,fc10&input=1x28x28", "seq_layers"),
    ("model=vgg11&input=1x224x224", "blocks"),
])
def test_at_1024_by_768_a_layer_table_shows_every_column(server, page, screenshots, link, key):
    page.set_viewport_size({"width": 1024, "height": 768})
    try:
        page.goto(f"{server}/?{link}")
        settle(page)
        page.wait_for_selector(f".st-key-{key} [data-testid='data-grid-canvas']")
        # the grid's scroller is as wide as its columns: nothing hidden to the side
        widths = page.evaluate(f"""() => [...document.querySelectorAll('.st-key-{key} .dvn-scroller')]
                                         .map(e => [e.scrollWidth, e.clientWidth])""")
        assert len(widths) == 1 and widths[0][0] <= widths[0][1], widths
        page.locator(f".st-key-{key}").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshots / f"build-1024-{key}.png"))
    finally:
        page.set_viewport_size({"width": 1400, "height": 900})


def plot_data(page, key: str) -> list[dict]:
    """The traces of the Plotly chart with this key, as the browser holds them."""
    page.wait_for_selector(f"{current(key)} .js-plotly-plot")
    return page.evaluate(f"""() => {plot_js(key)}.data
                              .map(t => ({{name: t.name, x: Array.from(t.x || [])}}))""")


def test_resnet18_receptive_fields_run_forward(server, page, screenshots):
    page.goto(f"{server}/?model=resnet18")
    settle(page)
    page.get_by_role("tab", name="Receptive field").click()
    main, side, _ = plot_data(page, "rf_chart")
    assert main["name"] == "receptive field (pixels)" and side["name"] == "side branch (shortcut)"
    assert all(a < b for a, b in zip(main["x"], main["x"][1:], strict=False))
    assert len(main["x"]) + len(side["x"]) == 58  # 60 rows; avgpool and fc have no field
    page.screenshot(path=str(screenshots / "build.png"))


def watch_list_stays_open(page) -> None:
    """The run picker, opened during a live run, is still open after several refreshes."""
    open_list(page, "watch_run")
    time.sleep(3)  # the live panel refreshes every second
    assert page.get_by_role("option").count() >= 1, "the list closed during a refresh"
    # One chart shows: a refresh that overlaps the previous one may leave its copy for a moment, marked
    # stale, and hidden empty copies.
    expect(page.locator(current("live_curves")).filter(visible=True)).to_have_count(1)
    page.keyboard.press("Escape")


def test_build_train_watch_and_compare(server, page, screenshots):
    page.goto(server)
    settle(page)
    assert "Build a network" in page.locator("h1").first.inner_text()
    choose(page, "vgg_preset", "VGG-16")
    expect(metric(page, "Parameters")).to_have_text(format_count(analyze("vgg16").totals.params))
    expect(page).to_have_url(re.compile("model=vgg16"))
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
    page.locator(".st-key-run_name input").press("Tab")  # applies the name (a rerun) before the click
    settle(page)
    launch = page.get_by_role("button", name="Launch run")
    with contextlib.suppress(AssertionError):
        expect(launch).to_be_enabled(timeout=30_000)
    assert launch.is_enabled(), page.locator(fresh('[data-testid="stAlert"]')).all_inner_texts()
    launch.click()
    settle(page)
    # The launch starts the run's worker before the page answers: on a busy machine that takes seconds.
    expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text("launched", timeout=30_000)
    page.wait_for_selector(".st-key-live_curves .js-plotly-plot")
    # loss and acc at 5 report points per epoch and after steps 1 and 4 of the first; test acc per epoch
    final = 4 * 5 * 2 + 2 * 2 + 4
    # The page samples the chart every 100 ms from its first draw: a short run ends in seconds.
    page.evaluate(f"""() => {{ window.curveCounts = [];
                               setInterval(() => window.curveCounts.push(({CURVE_POINTS})()), 100); }}""")
    # Where the chart sits on the page as it opens: measured with every scroll container at its top.
    page.evaluate("() => { for (const e of document.querySelectorAll('*')) e.scrollTop = 0; }")
    top = page.locator(current("live_curves")).filter(visible=True).bounding_box()["y"]
    assert 0 <= top < 900 - 200, f"the live chart starts at {top} px, below the first screen"
    watch_list_stays_open(page)
    page.locator("h1").first.scroll_into_view_if_needed()

    points, shot_at, deadline = 0, 0, time.monotonic() + 180
    while time.monotonic() < deadline:
        points = curve_points(page)
        if "done" in page.locator(fresh('[data-testid="stProgress"]')).inner_text():
            # The chart redraws on the panel's next refresh: wait for it, not for a fixed time.
            last = time.monotonic() + 30
            while (points := curve_points(page)) != final and time.monotonic() < last:
                time.sleep(0.5)
            break
        if 0 < points < final and points != shot_at:  # training, a few reports drawn: the latest
            page.screenshot(path=str(screenshots / "train.png"))
            shot_at = points
        time.sleep(0.5)
    sampled = page.evaluate("() => window.curveCounts")
    drawn = [c for c in sampled if c]  # 0: the chart was being redrawn at that moment
    assert drawn == sorted(drawn), f"the curve lost points while the run went: {drawn}"
    assert any(0 < c < final for c in drawn), f"the curve was never drawn part-way: {drawn}"
    assert points == final

    # VGG-11 (width ÷4) starts at its recipe's 64 px; it cannot take 28×28 shapes: the page says so
    # before Launch and offers the model's own size as the fix.
    page.goto(f"{server}/?model=vgg11&width_divisor=4")
    settle(page)
    page.get_by_role("link", name="Train").click()
    settle(page)
    expect(page.locator(".st-key-resize input[role='combobox']")).to_have_value("64")
    choose(page, "resize", "native")
    expect(page.locator('[data-testid="stAlertContentError"]')).to_contain_text("at most 4 pooling blocks")
    expect(page.get_by_role("button", name="Launch run")).to_be_disabled()
    page.get_by_role("button", name="Resize to 64×64").click()
    settle(page)
    expect(page.get_by_role("button", name="Launch run")).to_be_enabled()
    page.get_by_text("More").click()
    page.locator(".st-key-epochs input").fill("2")
    page.locator(".st-key-limit_train input").fill("512")
    page.locator(".st-key-lr input").fill("0.001")
    page.locator(".st-key-run_name input").fill("small VGG-11")
    page.get_by_role("button", name="Launch run").click()
    settle(page)
    expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text("Run #2 launched",
                                                                                timeout=30_000)
    expect(page.locator(fresh('[data-testid="stProgress"]'))).to_contain_text("done · epoch 2.00 of 2",
                                                                       timeout=180_000)

    page.get_by_role("link", name="Compare").click()
    settle(page)
    page.wait_for_selector(".st-key-overlay_chart .js-plotly-plot")
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    runs = ((1, "browser run"), (2, "small VGG-11"))
    assert sorted(t["name"] for t in plot_data(page, "overlay_chart")) == sorted(
        [f"#{i} {name}: {curve}" for i, name in runs for curve in ("train loss", "train acc", "test acc")]
        + [f"#{i} {name}" for i, name in runs])  # one legend entry per run
    page.screenshot(path=str(screenshots / "compare.png"))


def test_edit_a_seq_layer_row(server, page, screenshots):
    """Start from a seq link, change the first convolution's channels in the layer table."""
    page.goto(f"{server}/?model=seq:c3-8p1,relu,m2,c3-16p1,relu,m2,fc10&input=1x28x28")
    settle(page)
    page.wait_for_selector(".st-key-seq_layers [data-testid='data-grid-canvas']")  # longer than 5 s
    expect(metric(page, "Parameters")).to_have_text(
        format_count(analyze("seq:c3-8p1,relu,m2,c3-16p1,relu,m2,fc10", "1x28x28").totals.params))
    edit_cell(page, "seq_layers", 0, "out", 32)
    edited = "seq:c3-32p1,relu,m2,c3-16p1,relu,m2,fc10"
    expect(page).to_have_url(re.compile("model=" + re.escape(edited.replace(":", "%3A").replace(",", "%2C"))))
    expect(metric(page, "Parameters")).to_have_text(format_count(analyze(edited, "1x28x28").totals.params))
    page.get_by_role("tab", name="Layers").click()
    page.screenshot(path=str(screenshots / "build-seq-edited.png"))

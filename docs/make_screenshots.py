"""Retake the Train and Compare screenshots of docs/DASHBOARD.md from LeNet runs on the MNIST subset that
learn: {1400,1024}-train.png (a run training, its live curves), {1400,1024}-compare-overlay.png (4 runs),
{1400,1024}-compare-bands.png (two groups of three seeds) and 1024-compare.png (the first screen).

Run from the repository root, with the MNIST subset in the data folder (docs/DATASETS.md) and Debian's
Chromium at /usr/bin/chromium:

    CNNLAB_DATA=/path/to/datasets PYTHONPATH=$PWD .venv/bin/python docs/make_screenshots.py

It starts `cnnlab dashboard` on a fresh run store in a temporary folder and, on the Train page, launches two
groups of three seeds from the sweep panel (LeNet's recipe, Adam at lr 0.003 in batches of 16, and the same
at lr 0.001) and then one run of the form (the recipe); it screenshots Train while that run trains and
Compare once every run is done, then ends the server and removes the store. Seven 3-epoch runs: about two
minutes on a 2-core CPU.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, sync_playwright

from cnnlab.runs.store import RunStore
from cnnlab.train.status import Status
from tests.conftest import kill_workers
from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS, free_port

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SIZES = {1400: 900, 1024: 768}
# LeNet with the Train page's defaults (its family's recipe) on MNIST, for 3 epochs; no tour strip
FORM = "model=lenet&input=1x28x28&dataset=mnist&epochs=3&tour=hidden"
RATES = ("0.003", "0.001")  # the recipe's rate and a third of it: both learn in 3 epochs, at different speeds
SEEDS = 3
HEADER = 70  # px: the page's header bar, over the top of the scrolled main area
PAST_FIRST_EPOCH = re.compile(r"running · epoch [12]\.\d+ of 3")  # the Train page's status line
GOING = {Status.QUEUED, Status.RUNNING}


def settle(page: Page) -> None:
    """Wait until the app is connected and its script has finished running."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    page.wait_for_function(
        """() => { const app = document.querySelector('[data-testid="stApp"]');
                   return app && app.getAttribute('data-test-script-state') === 'notRunning'
                          && !document.querySelector('[data-stale="true"]'); }""", timeout=240_000)


def open_pages(browser, url: str) -> dict[int, Page]:
    """One page per window size, at `url`, settled."""
    pages = {}
    for width, height in SIZES.items():
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(120_000)
        page.goto(url)
        settle(page)
        pages[width] = page
    return pages


def launch(page: Page, base: str) -> int:
    """From the Train page: the groups of seeds (its sweep panel, one launch per rate), then one run of
    the form as it opens (its *Launch run*), which the page then watches; returns that run's id."""
    for rate in RATES:
        page.goto(f"{base}/train?{FORM}&sweep_repeats={SEEDS}&sweep_lr={rate}")
        settle(page)
        page.locator(".st-key-sweep_launch button").click()
        settle(page)
    page.goto(f"{base}/train?{FORM}")
    settle(page)
    page.locator(".st-key-launch button").click()
    settle(page)
    return int(parse_qs(urlparse(page.url).query)["watch_run"][0])


def train_shots(browser, base: str, store: RunStore) -> None:
    """Launch the runs from Train and screenshot it at each size: the last shot whose status line says
    the run it watches is past its first epoch, taken while the run still trained."""
    pages = {width: browser.new_page(viewport={"width": width, "height": height})
             for width, height in SIZES.items()}
    for page in pages.values():
        page.set_default_timeout(240_000)
    run_id = launch(pages[1400], base)
    pages[1024].goto(f"{base}/train?{FORM}&watch_run={run_id}")
    for page in pages.values():
        page.wait_for_selector(".st-key-live_curves .js-plotly-plot", timeout=600_000)
    pages[1400].mouse.move(0, 0)  # off the Launch button
    kept = {}
    while store.get(run_id).status in GOING:
        for width, page in pages.items():
            if page.get_by_text(PAST_FIRST_EPOCH).count():
                png = page.screenshot()
                if store.get(run_id).status == Status.RUNNING:  # so the page could not show it ended
                    kept[width] = png
    if len(kept) < len(SIZES):
        sys.exit(f"run {run_id} ended before each page showed it past its first epoch")
    for width, png in kept.items():
        (OUT / f"{width}-train.png").write_bytes(png)
        pages[width].close()


def scroll_to(page: Page, selector: str, block: str) -> None:
    """Scroll `selector` to the window's top (below the page's header bar) or bottom; the pointer off the
    charts, so no chart toolbar shows."""
    page.locator(selector).first.evaluate(
        """(e, [block, header]) => {
             e.scrollIntoView({block});
             let box = e.parentElement;
             while (box && box.scrollTop === 0) box = box.parentElement;
             if (box && block === "start") box.scrollBy(0, -header);
           }""", [block, HEADER])
    page.mouse.move(0, 0)
    page.wait_for_timeout(1000)


def compare_shots(browser, base: str) -> None:
    """Compare's first screen (1024), its Overlay of the four newest runs and the two groups' bands."""
    pages = open_pages(browser, f"{base}/compare?tour=hidden")
    for width, page in pages.items():
        page.wait_for_selector(".st-key-overlay_chart .js-plotly-plot")
        if width == 1024:
            page.screenshot(path=str(OUT / "1024-compare.png"))
        scroll_to(page, ".st-key-compare_runs", "start")
        page.screenshot(path=str(OUT / f"{width}-compare-overlay.png"))
        page.wait_for_selector(".st-key-band_chart .js-plotly-plot")  # test accuracy, the first curve
        for top in ("text=Groups (repeats)", ".st-key-band_metric"):  # the most of the section that fits
            scroll_to(page, top, "start")
            table = page.get_by_text("Final test accuracy of each group").bounding_box()
            if table["y"] + table["height"] <= SIZES[width]:
                break
        page.screenshot(path=str(OUT / f"{width}-compare-bands.png"))
        page.close()


def wait_healthy(base: str, server: subprocess.Popen) -> None:
    """Wait until the server at `base` answers its health check; exit if it ends first."""
    while server.poll() is None:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"the dashboard ended with status {server.returncode}")


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="cnnlab-screenshots-"))
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "cnnlab", "dashboard", "--port", str(port),
                               "--home", str(home)], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT, env={**os.environ, "CNNLAB_HOME": str(home)})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, server)
        store = RunStore(home)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            train_shots(browser, base, store)
            while store.list_runs({"queued", "running"}):
                time.sleep(1)
            compare_shots(browser, base)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        kill_workers(home)  # none after a full pass; a failed one may leave runs queued or training
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()

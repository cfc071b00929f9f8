"""A run of your own loop (cnnlab.track, in another process) drawn live on the Train page in Chromium."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

import cnnlab
from tests.e2e.test_browser import curve_points, fresh

pytestmark = [pytest.mark.browser, pytest.mark.own_server]  # its assertions count the runs in its store

HALF = 5  # train_loss points logged before the page has drawn them, then as many again
LOOP = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import cnnlab
    more = Path(sys.argv[1])
    with cnnlab.track.start("my own loop", config={"lr": 0.1, "epochs": 2}) as run:
        for step in range(2 * %(half)d):
            if step == %(half)d:
                print(run.id, flush=True)
                while not more.exists():
                    time.sleep(0.05)
            run.log(step, epoch=(step + 1) / %(half)d, train_loss=1.0 / (step + 1))
""") % {"half": HALF}


def wait_for_points(page, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while curve_points(page) != count:
        assert time.monotonic() < deadline, f"the live chart shows {curve_points(page)} points, not {count}"
        time.sleep(0.3)


def test_a_tracked_run_is_drawn_live_on_the_train_page(server, server_home, page, screenshots, tmp_path):
    env = {**os.environ, "CNNLAB_HOME": str(server_home),
           "PYTHONPATH": str(Path(cnnlab.__file__).parents[1])}
    more = tmp_path / "more"
    loop = subprocess.Popen([sys.executable, "-c", LOOP, str(more)], env=env, stdout=subprocess.PIPE,
                            text=True)
    try:
        run_id = int(loop.stdout.readline())  # half the points logged, the loop waits
        page.goto(f"{server}/train")
        # Not settle(): the live panel reruns every second, so the script may never rest on a busy machine.
        progress = page.locator(fresh('[data-testid="stProgress"]'))
        expect(progress).to_contain_text("running · epoch 1.00 of 2 · external (track)", timeout=120_000)
        wait_for_points(page, HALF)
        expect(page.locator(f'.st-key-stop_{run_id}')).to_have_count(0)
        page.screenshot(path=str(screenshots / "train-tracked.png"))
        more.touch()
        assert loop.wait(60) == 0
        expect(progress).to_contain_text("done · epoch 2.00 of 2 · external (track)", timeout=30_000)
        wait_for_points(page, 2 * HALF)
    finally:
        loop.kill()

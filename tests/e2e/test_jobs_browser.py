"""Two sessions on one real server: a long effective field in one does not hold up another's Build page,
and its Cancel ends the worker process that computes it."""

import re
import subprocess
import sys
import time

import psutil
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, free_port, stop, wait_ok

pytestmark = [pytest.mark.browser, pytest.mark.own_server]


def job_processes(server: psutil.Process) -> list[psutil.Process]:
    """The server's job processes: the children of its pool's fork server (cnnlab.jobs.pool)."""
    forkservers = [p for p in server.children(recursive=True)
                   if "multiprocessing.forkserver" in " ".join(p.cmdline())]
    return [child for fork in forkservers for child in fork.children()]


def long_job(server: psutil.Process, seconds: float = 5.0, timeout: float = 120.0) -> psutil.Process:
    """The one job process that has run for `seconds`: a heavy job's (a page's quick jobs, its analyses,
    end well within that, and one may be starting beside it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            old = [p for p in job_processes(server) if time.time() - p.create_time() >= seconds]
        except psutil.NoSuchProcess:  # a quick job ended while it was looked at
            old = []
        if old:
            [worker] = old
            return worker
        time.sleep(0.2)
    raise AssertionError(f"no job process ran for {seconds} s within {timeout} s")


def test_a_long_field_leaves_another_session_alone_and_cancel_ends_its_worker(tmp_path, chromium):
    port, log = free_port(), tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "cnnlab", "dashboard", "--port", str(port), "--home",
                                   str(tmp_path / "home")], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ok(f"{url}/_stcore/health", server, log)
        # Session A: VGG-11's effective field over 256 images at 224 px (minutes of one core).
        long = chromium.new_page(viewport={"width": 1400, "height": 900})
        long.goto(f"{url}/see?model=vgg11")
        images = long.locator(".st-key-see_images input")
        expect(images).to_be_visible(timeout=240_000)
        images.fill("256")
        images.press("Enter")
        progress = long.locator('[data-testid="stProgress"]').filter(has_text="over 256 images")
        expect(progress).to_be_visible(timeout=120_000)
        worker = long_job(psutil.Process(server.pid))  # the heavy lane's one worker, computing

        # Session B, meanwhile: a model no session has opened, on Build.
        other = chromium.new_page(viewport={"width": 1400, "height": 900})
        asked = time.monotonic()
        other.goto(f"{url}/?model=vgg:1x8,1x16")
        expect(other.locator('[data-testid="stMetric"]').filter(has_text="Parameters")).to_be_visible(
            timeout=120_000)
        print(f"Build page of a new model beside a running field: {time.monotonic() - asked:.1f} s")
        assert worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE  # A's field still computes
        expect(progress).to_be_visible()

        # A cancels: the page says so, the worker process is gone, and no job process is left.
        cancelled = time.monotonic()
        long.get_by_role("button", name="Cancel").click()
        note = re.compile(r"^Effective field of \S+ over 256 images .*: cancelled\.$")
        expect(long.get_by_text(note)).to_be_visible(timeout=30_000)
        worker.wait(timeout=30)
        print(f"Cancel to the worker's end: {time.monotonic() - cancelled:.1f} s")
        assert job_processes(psutil.Process(server.pid)) == []
        expect(progress).to_have_count(0)
        expect(long.get_by_role("button", name="Compute it again")).to_be_visible()
        long.close()
        other.close()
    finally:
        stop(server)

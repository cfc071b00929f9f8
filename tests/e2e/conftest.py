"""Real Streamlit servers on 127.0.0.1 (one shared by the session, others where a module needs an empty
run store) and one Debian Chromium driven by Playwright."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import kill_workers

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ok(url: str, process: subprocess.Popen, log: Path) -> None:
    """Wait until `url` answers "ok" (a server's health check); fail with the end of `log` if `process`
    ends first or 90 s pass."""
    deadline = time.monotonic() + 90
    while True:
        try:
            if urllib.request.urlopen(url, timeout=2).read() == b"ok":
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{url} did not answer: {log.read_text()[-2000:]}")
        time.sleep(0.5)


def stop(process: subprocess.Popen) -> None:
    """End a server the tests started: SIGTERM, then SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def streamlit_server(home: Path) -> Iterator[str]:
    """`streamlit run dashboard/app.py` with its run store at `home`; yields the base URL. Afterwards
    the server is stopped and the runs launched from its pages (detached from it) are ended."""
    port = free_port()
    env = {**os.environ, "CNNLAB_HOME": str(home), "CNNLAB_DATA": str(home / "data")}
    with open(home / "streamlit.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ok(f"{url}/_stcore/health", process, home / "streamlit.log")
        yield url
    finally:
        stop(process)
        kill_workers(home)


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The session's one Streamlit server (base URL, run store folder), for the modules that do not
    need an empty run store of their own."""
    home = tmp_path_factory.mktemp("shared-home")
    with streamlit_server(home) as url:
        yield url, home


@pytest.fixture(scope="module")
def served(request, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The module's server (base URL, run store folder): the session's shared one, or a server of its own
    with an empty run store for a module marked `own_server`. The runs a module launched end with it."""
    if request.node.get_closest_marker("own_server"):
        home = tmp_path_factory.mktemp("home")
        with streamlit_server(home) as url:
            yield url, home
    else:
        url, home = request.getfixturevalue("shared_server")
        yield url, home
        kill_workers(home)


@pytest.fixture(scope="module")
def server(served) -> str:
    """The base URL of the module's server."""
    return served[0]


@pytest.fixture(scope="module")
def server_home(served) -> Path:
    """The run store folder of the module's server."""
    return served[1]


@pytest.fixture(scope="module")
def screenshots():
    """The folder the screenshots are left in (test-artifacts/screenshots, git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def chromium():
    """The session's one Chromium (Debian's, driven by Playwright); each user opens its own pages."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(server, chromium):
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    # A cold server's first script run imports torch and the analysis (a minute or more on a busy
    # machine): done once here, so no test's own waits pay for it.
    page.goto(server)
    page.wait_for_selector("h1", timeout=240_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=240_000)
    page.set_default_timeout(60_000)
    yield page
    page.close()

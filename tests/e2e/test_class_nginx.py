"""Class mode behind a real nginx (Debian's package, started here on loopback ports with its own prefix
and config, stopped at the end) in front of `streamlit run`: nginx authenticates (HTTP basic auth, as
oauth2-proxy or any login would), names the user in X-Forwarded-User and vouches for it with the class's
shared secret. Chromium loads the pages through it over the WebSocket; the same header sent straight to
the Streamlit port is ignored; two students each launch a run and neither can stop or delete the
other's, in the page or the CLI; the teacher can."""

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cnnlab.train.store import RunStore
from tests.conftest import kill_workers
from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS, ROOT, SCREENSHOTS, free_port
from tests.e2e.test_browser import settle

pytestmark = pytest.mark.browser
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECRET = "class-secret-0123456789abcdef"
USERS = {"alice": "alice-pw", "bob": "bob-pw", "prof": "prof-pw"}
CLASS = f"""teachers = ["prof"]
visitor_pages = ["Build", "Lessons"]
[identity]
proxy_header = "X-Forwarded-User"
proxy_secret = "{SECRET}"
"""


def nginx_conf(prefix: Path, listen: int, upstream: int) -> str:
    """The site of docs/DEPLOY.md on plain HTTP and loopback ports, with test paths."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # the workers must read the password file here
    return f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream cnnlab {{ ip_hash; server 127.0.0.1:{upstream}; }}
    server {{
        listen 127.0.0.1:{listen};
        auth_basic "cnnlab class";
        auth_basic_user_file {prefix}/htpasswd;
        location / {{
            proxy_pass http://cnnlab;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-User $remote_user;
            proxy_set_header X-Cnnlab-Proxy "{SECRET}";
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
        }}
        location = /_stcore/health {{ auth_basic off; proxy_pass http://cnnlab; }}
    }}
}}
"""


def wait_ok(url: str, process: subprocess.Popen, log: Path) -> None:
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


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Streamlit in class mode on 127.0.0.1 and nginx in front; yields (proxy URL, direct URL, env for
    the CLI with the class config and the run store)."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is missing: install Debian's nginx package (make browser does)")
    home = tmp_path_factory.mktemp("class")
    (home / "class.toml").write_text(CLASS)
    (home / "htpasswd").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in USERS.items()))
    env = {**os.environ, "CNNLAB_HOME": str(home / "store"), "CNNLAB_DATA": str(home / "data"),
           "CNNLAB_CLASS_CONFIG": str(home / "class.toml")}
    direct_port, proxy_port = free_port(), free_port()
    (home / "nginx.conf").write_text(nginx_conf(home, proxy_port, direct_port))
    with open(home / "streamlit.log", "w") as log:
        app = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(direct_port),
             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        proxy = subprocess.Popen([NGINX, "-p", str(home), "-c", str(home / "nginx.conf"),
                                  "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
        try:
            direct, through = f"http://127.0.0.1:{direct_port}", f"http://127.0.0.1:{proxy_port}"
            wait_ok(f"{direct}/_stcore/health", app, home / "streamlit.log")
            wait_ok(f"{through}/_stcore/health", proxy, home / "error.log")
            yield through, direct, env, home
        finally:
            for process in (proxy, app):
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
            kill_workers(home / "store")


@pytest.fixture(scope="module")
def browser(site):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (make test does)")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def user_page(browser, url: str, user: str | None = None, headers: dict | None = None):
    """A page in a browser context of its own, signed in to nginx as `user`."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 1400}, extra_http_headers=headers or {},
        http_credentials={"username": user, "password": USERS[user]} if user else None)
    page = context.new_page()
    page.set_default_timeout(180_000)  # the first run of a page imports torch; a loaded machine is slow
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"] .st-key-identity')
    return page


def who(page) -> str:
    return page.locator(".st-key-identity").inner_text().strip()


def test_the_proxys_user_is_honoured_and_the_same_header_sent_straight_is_not(site, browser):
    through, direct, _, home = site
    # A student who adds the teacher's name to their own requests: nginx replaces it with theirs.
    # The server's first session opens the app's root: a first request for a page's own path is
    # routed by Streamlit to that page's file without app.py (the page itself still asks who is there).
    alice = user_page(browser, through, "alice", {"X-Forwarded-User": "prof"})
    assert who(alice) == "Signed in as alice (student)"
    expect(alice.get_by_role("link", name="Train")).to_be_visible()
    # The same header, or even a guessed secret, sent to the Streamlit port itself: a visitor.
    for headers in ({"X-Forwarded-User": "prof"},
                    {"X-Forwarded-User": "prof", "X-Cnnlab-Proxy": "guessed-secret-123456"}):
        sneaky = user_page(browser, f"{direct}/lessons", headers=headers)
        assert who(sneaky) == "Visitor: read-only."
        expect(sneaky.get_by_role("link", name="Lessons")).to_be_visible()
        expect(sneaky.get_by_role("link", name="Train")).to_have_count(0)
        sneaky.context.close()
    alice.context.close()
    # The page ran over the proxied WebSocket: nginx logs the upgrade (101) for alice once it closes.
    stream = re.compile(r'127\.0\.0\.1 - alice \[[^]]+\] "GET /_stcore/stream HTTP/1\.1" 101 ')
    deadline = time.monotonic() + 30
    while not stream.search((home / "access.log").read_text()):
        assert time.monotonic() < deadline, (home / "access.log").read_text()[-1000:]
        time.sleep(0.2)


def launch(page, name: str) -> None:
    """Launch a long LeNet run from the Train page `page` shows."""
    settle(page)
    page.get_by_text("More").click()
    page.locator(".st-key-epochs input").fill("200")
    page.locator(".st-key-limit_train input").fill("128")
    page.locator(".st-key-run_name input").fill(name)
    page.get_by_role("button", name="Launch run").click()
    settle(page)
    expect(page.locator('[data-testid="stAlert"]').first).to_contain_text(re.compile("launched|queued"))
    page.screenshot(path=str(SCREENSHOTS / f"class-nginx-{name.split(chr(39))[0]}-launched.png"))


def cli(env: dict, user: str, *args: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-m", "cnnlab", *args], env={**env, "CNNLAB_USER": user},
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stderr


def test_two_students_cannot_stop_or_delete_each_others_runs_and_the_teacher_can(site, browser):
    through, _, env, home = site
    alice = user_page(browser, f"{through}/train?model=lenet", "alice")
    launch(alice, "alice's run")
    bob = user_page(browser, f"{through}/train?model=lenet", "bob")
    launch(bob, "bob's run")
    store = RunStore(home / "store")
    owners = {run.owner: run.id for run in store.list_runs()}
    assert sorted(owners) == ["alice", "bob"]
    a_run, b_run = owners["alice"], owners["bob"]
    # Bob's run waits behind Alice's, so his page watches hers: no Stop for him; Alice's page has one.
    expect(bob.locator(".st-key-watch_run")).to_contain_text(f"#{a_run} alice's run")
    expect(bob.get_by_text(f"Run {a_run}: alice's run")).to_be_visible()
    expect(bob.locator(f".st-key-stop_{a_run}")).to_have_count(0)
    expect(alice.locator(f".st-key-stop_{a_run}")).to_have_count(1)
    # Compare offers each student only their own run to delete.
    bob.get_by_role("link", name="Compare").click()
    settle(bob)
    bob.locator(".st-key-delete_run input[role='combobox']").click()
    expect(bob.get_by_role("option")).to_have_text([re.compile(f"#{b_run} bob's run")])
    # The CLI as Bob: refused, one line, exit status 2.
    for verb in ("cancel", "delete"):
        status, err = cli(env, "bob", "runs", verb, str(a_run))
        assert (status, err) == (2, f"cnnlab: error: run {a_run} belongs to alice: bob may not {verb} it "
                                    "(only its owner or a teacher may)\n")
    # The teacher stops Alice's run from the page and Bob's from the CLI, then deletes it.
    prof = user_page(browser, f"{through}/train", "prof")
    assert who(prof) == "Signed in as prof (teacher)"
    expect(prof.locator(".st-key-watch_run")).to_contain_text(f"#{a_run} alice's run")  # the running one
    prof.locator(f".st-key-stop_{a_run} button").click()
    assert cli(env, "prof", "runs", "cancel", str(b_run)) == (0, "")
    deadline = time.monotonic() + 120
    while {store.get(i).status for i in (a_run, b_run)} != {"cancelled"}:
        assert time.monotonic() < deadline, [store.get(i).status for i in (a_run, b_run)]
        time.sleep(0.3)
    assert cli(env, "prof", "runs", "delete", str(b_run)) == (0, "")
    assert [(run.id, run.owner) for run in store.list_runs()] == [(a_run, "alice")]
    for page in (alice, bob, prof):
        page.context.close()

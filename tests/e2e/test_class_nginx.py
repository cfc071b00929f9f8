"""Class mode behind a real nginx (Debian's package, started here on loopback ports with its own prefix
and config, stopped at the end) in front of `streamlit run`: nginx authenticates (HTTP basic auth, as
oauth2-proxy or any login would), names the user in X-Forwarded-User and vouches for it with the class's
shared secret. Chromium loads the pages through it over the WebSocket; the same header sent straight to
the Streamlit port is ignored."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cnnlab.runs.store import RunStore
from cnnlab.train.status import TERMINAL
from tests.conftest import kill_workers
from tests.e2e.conftest import ROOT, SCREENSHOTS, free_port, stop, wait_ok
from tests.e2e.test_browser import open_list, settle

pytestmark = pytest.mark.browser
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECRET = "class-secret-0123456789abcdef"
USERS = {"alice": "alice-pw", "bob": "bob-pw", "prof": "prof-pw"}
CLASS = f"""teachers = ["prof"]
visitor_pages = ["Build", "Lessons"]
[identity]
proxy_header = "X-Forwarded-User"
proxy_secret = "{SECRET}"
[quotas]
epochs = 3
"""


def documented_site() -> str:
    """The nginx site of docs/DEPLOY.md, as the reader copies it."""
    text = (ROOT / "docs" / "DEPLOY.md").read_text()
    (site,) = re.findall(r"```nginx\n(.*?)```", text, flags=re.S)
    return site


def nginx_conf(prefix: Path, listen: int, upstreams: list[int]) -> str:
    """The site of docs/DEPLOY.md, word for word but for plain HTTP on loopback ports, the test's password
    file and secret, and its replicas at `upstreams` (the documented second one uncommented where there
    are two), inside a main config with the test's own paths. Besides nginx's usual access log, a log of
    which replica served each user's request (upstream.log: user, replica, request)."""
    site = documented_site()
    for line in ("    server_name class.example.org;\n", "    listen 443 ssl;\n"):
        assert line in site
        site = site.replace(line, f"    listen 127.0.0.1:{listen};\n" if "listen" in line else "")
    site = re.sub(r"    ssl_certificate.*\n", "", site)
    replicas = "\n    ".join(f"server 127.0.0.1:{port};" for port in upstreams)
    site = re.sub(r"\n *# server 127\.0\.0\.1:8502;.*\n", "\n", site)
    for documented, here in (("server 127.0.0.1:8501;", replicas),
                             ("/etc/nginx/cnnlab.htpasswd", f"{prefix}/htpasswd"),
                             ('"a long random string"', f'"{SECRET}"')):
        assert documented in site
        site = site.replace(documented, here)
    user = "user root;\n" if os.geteuid() == 0 else ""  # the workers must read the password file here
    return f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    log_format replica '$remote_user $upstream_addr "$request"';
    access_log {prefix}/upstream.log replica;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{site}}}
"""


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
    (home / "nginx.conf").write_text(nginx_conf(home, proxy_port, [direct_port]))
    direct, through = f"http://127.0.0.1:{direct_port}", f"http://127.0.0.1:{proxy_port}"
    with open(home / "streamlit.log", "a") as log:
        def start() -> subprocess.Popen:
            app = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless", "true",
                 "--server.address", "127.0.0.1", "--server.port", str(direct_port),
                 "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log,
                stderr=subprocess.STDOUT)
            wait_ok(f"{direct}/_stcore/health", app, home / "streamlit.log")
            return app

        apps = [start()]

        def restart() -> None:
            """Stop the dashboard's server and start a new one on the same port and store."""
            stop(apps.pop())
            apps.append(start())

        proxy = subprocess.Popen([NGINX, "-p", str(home), "-c", str(home / "nginx.conf"),
                                  "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ok(f"{through}/_stcore/health", proxy, home / "error.log")
            yield through, direct, env, home, restart
        finally:
            for process in (proxy, *apps):
                stop(process)
            kill_workers(home / "store")


@pytest.fixture(scope="module")
def browser(site, chromium):
    """The session's Chromium; the browser contexts the module's users opened are closed after it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    before = set(chromium.contexts)
    yield chromium
    for context in set(chromium.contexts) - before:
        context.close()


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
    through, direct, _, home, _ = site
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


def train_page(browser, through: str, user: str):
    """`user`'s Train page on LeNet, reached through the proxy from the app's root."""
    page = user_page(browser, f"{through}/?model=lenet", user)
    settle(page)  # the Build page has read its link's model
    page.get_by_role("link", name="Train").click()
    settle(page)
    expect(page.get_by_text("Model from the Build page: lenet")).to_be_visible()
    page.get_by_text("More").click()
    page.locator(".st-key-limit_train input").fill("64")
    return page


def launch(page, epochs: int, name: str) -> None:
    page.locator(".st-key-epochs input").fill(str(epochs))
    page.locator(".st-key-run_name input").fill(name)
    page.get_by_role("button", name="Launch run").click()
    settle(page)


def deletable(browser, through: str, user: str) -> list[str]:
    """The runs Compare offers `user` to delete."""
    page = user_page(browser, through, user)  # from the root, as above: app.py names the user
    settle(page)
    page.get_by_role("link", name="Compare").click()
    settle(page)
    deadline = time.monotonic() + 30
    while True:  # a refresh of the page may close the list before its options are read: open it again
        open_list(page, "delete_run")
        offered = page.get_by_role("option").all_inner_texts()  # at once: the list may close meanwhile
        if offered or time.monotonic() > deadline:
            break
        page.keyboard.press("Escape")
        settle(page)
    page.context.close()
    return offered


def cli(env: dict, user: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnnlab", *args], env={**env, "CNNLAB_USER": user},
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_two_students_and_a_teacher_act_as_their_roles_allow_across_a_restart(site, browser):
    through, _, env, home, restart = site
    store = RunStore(home / "store")
    alice = train_page(browser, through, "alice")
    launch(alice, 5, "alice too long")  # over the class's epochs quota: refused, nothing recorded
    expect(alice.locator('[data-testid="stAlertContentError"]')).to_contain_text(
        "quota epochs refused the launch: 5 epochs in one run, the limit is 3 (2 over)")
    assert store.list_runs() == []
    launch(alice, 1, "alice run")
    expect(alice.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text("launched", timeout=60_000)
    bob = train_page(browser, through, "bob")
    launch(bob, 1, "bob run")
    # started, or queued behind alice's run while it still trains (one run per device)
    answer = bob.locator('[data-testid="stAlertContentSuccess"], [data-testid="stAlertContentInfo"]')
    expect(answer.filter(has_text=re.compile(r"Run #2 (launched|queued)"))).to_have_count(1, timeout=60_000)
    for page in (alice, bob):
        page.context.close()
    deadline = time.monotonic() + 300
    while {run.status in TERMINAL for run in store.list_runs()} != {True}:
        assert time.monotonic() < deadline, [(run.id, run.status) for run in store.list_runs()]
        time.sleep(0.5)
    owners = {run.name: (run.id, run.owner, run.status) for run in store.list_runs()}
    assert owners == {"alice run": (1, "alice", "done"), "bob run": (2, "bob", "done")}

    for restarted in (False, True):  # the same rules before and after the server restarts
        if restarted:
            restart()
        assert deletable(browser, through, "bob") == ["#2 bob run [done]"]
        assert deletable(browser, through, "alice") == ["#1 alice run [done]"]
        assert deletable(browser, through, "prof") == ["#2 bob run [done]", "#1 alice run [done]"]
        refused = cli(env, "bob", "runs", "delete", "1")
        assert (refused.returncode, refused.stderr) == (
            2, "cnnlab: error: run 1 belongs to alice: bob may not delete it (only its owner or a teacher "
               "may)\n")
    assert cli(env, "prof", "runs", "delete", "1").returncode == 0  # the teacher may
    assert [(run.id, run.owner) for run in store.list_runs()] == [(2, "bob")]


@pytest.mark.slow
def test_a_model_of_two_megabytes_uploads_through_the_documented_site(site, browser, tmp_path):
    """nginx's own default (1 MiB) answered the probe's 2.1 MB upload with 413 and the page showed nothing."""
    import torch
    from torch import nn

    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.Flatten(), nn.Linear(8 * 26 * 26, 100)).eval()
    path = tmp_path / "big.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 1, 28, 28),)), path)
    assert 2.0e6 < path.stat().st_size < 2.5e6  # 540,908 float32 weights
    through, _, _, home, _ = site
    page = user_page(browser, through, "alice")
    settle(page)
    page.locator(".st-key-upload_model input[type=file]").set_input_files(str(path))
    expect(page.get_by_text("Your model: big.pt2")).to_be_visible(timeout=120_000)
    log = (home / "access.log").read_text()
    uploads = re.findall(r'"PUT /_stcore/upload_file/\S+ HTTP/[\d.]+" (\d{3}) ', log)
    assert uploads == ["204"]  # the status field of nginx's combined log, not a byte count
    page.context.close()

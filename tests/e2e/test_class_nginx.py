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

from tests.conftest import kill_workers
from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS, ROOT, SCREENSHOTS, free_port, wait_ok

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

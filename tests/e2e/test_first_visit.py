"""A freshly started server whose first visitor opens a page's link directly (a shared /train link)
gets that page through app.py — its navigation and, in class mode, its visitor rules — not the page's
script alone, as Streamlit gives a folder named `pages/` beside the entry point."""

import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, free_port, stop, wait_ok

pytestmark = pytest.mark.browser

CLASS = """
[identity]
proxy_header = "X-Forwarded-User"
proxy_secret = "a long random string for the proxy"
"""


def test_a_cold_servers_first_visitor_on_a_page_link_gets_the_app_and_its_visitor_rules(tmp_path, chromium):
    (tmp_path / "class.toml").write_text(CLASS)
    port, log = free_port(), tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "cnnlab", "dashboard", "--port", str(port), "--home",
                                   str(tmp_path / "home"), "--class", str(tmp_path / "class.toml")],
                                  cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ok(f"http://127.0.0.1:{port}/_stcore/health", server, log)
        page = chromium.new_page(viewport={"width": 1024, "height": 768})
        page.goto(f"http://127.0.0.1:{port}/train?model=lenet")  # the server's first session
        # No header from a proxy: a visitor, who may not see Train; the app's own navigation.
        expect(page.get_by_text("Visitor: read-only.")).to_be_visible(timeout=240_000)
        expect(page.get_by_role("link", name="Build")).to_be_visible()
        expect(page.get_by_role("link", name="Train")).to_have_count(0)
        expect(page.get_by_role("button", name="Launch run")).to_have_count(0)
        expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)  # no page list of its own
        page.close()
    finally:
        stop(server)

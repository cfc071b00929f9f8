"""Two dashboard replicas behind the nginx site of docs/DEPLOY.md, sharing one run store: a student's run
launched through one replica is watched live by the teacher through the other, and restarting the
student's replica while the run trains loses nothing."""

import base64
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cnnlab.runs.store import RunStore
from tests.conftest import kill_workers
from tests.e2e.conftest import ROOT, free_port, stop, wait_ok
from tests.e2e.test_browser import fresh, plot_js, settle
from tests.e2e.test_class_nginx import CLASS, NGINX, launch, nginx_conf

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# The teacher and twenty students: the hash on the user name puts some of them on each replica.
USERS = {"prof": "prof-pw"} | {f"student{i}": f"pw-{i}" for i in range(20)}


@pytest.fixture
def replicas(tmp_path):
    """Two `streamlit run` replicas of the class's dashboard on one store, and nginx in front; yields
    (proxy URL, replica ports, a function that restarts the replica on a port, the folder)."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is missing: install Debian's nginx package (make browser does)")
    (tmp_path / "class.toml").write_text(CLASS)
    (tmp_path / "htpasswd").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in USERS.items()))
    env = {**os.environ, "CNNLAB_HOME": str(tmp_path / "store"), "CNNLAB_DATA": str(tmp_path / "data"),
           "CNNLAB_CLASS_CONFIG": str(tmp_path / "class.toml")}
    ports, proxy_port = [free_port(), free_port()], free_port()
    (tmp_path / "nginx.conf").write_text(nginx_conf(tmp_path, proxy_port, ports))
    servers: dict[int, subprocess.Popen] = {}
    log = open(tmp_path / "streamlit.log", "a")  # noqa: SIM115 (both replicas write it until the end)

    def start(port: int) -> None:
        servers[port] = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats",
             "false"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def restart(port: int) -> None:
        stop(servers.pop(port))
        start(port)
        wait_ok(f"http://127.0.0.1:{port}/_stcore/health", servers[port], tmp_path / "streamlit.log")

    for port in ports:
        start(port)
    for port in ports:
        wait_ok(f"http://127.0.0.1:{port}/_stcore/health", servers[port], tmp_path / "streamlit.log")
    proxy = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                              "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ok(f"http://127.0.0.1:{proxy_port}/_stcore/health", proxy, tmp_path / "error.log")
        yield f"http://127.0.0.1:{proxy_port}", ports, restart, tmp_path
    finally:
        for process in (proxy, *servers.values()):
            stop(process)
        log.close()
        kill_workers(tmp_path / "store")


def replicas_of_users(through: str, home: Path) -> dict[str, int]:
    """Each user's replica (its port): where nginx sends a request of theirs (its upstream.log)."""
    for user, password in USERS.items():
        request = urllib.request.Request(f"{through}/", headers={
            "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()})
        assert urllib.request.urlopen(request, timeout=30).status == 200
    lines = re.findall(r'^(\w+) 127\.0\.0\.1:(\d+) "GET / ', (home / "upstream.log").read_text(), flags=re.M)
    return {user: int(port) for user, port in lines}


def user_page(chromium, url: str, user: str):
    """A page in a browser context of its own, signed in to nginx as `user`."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000},
                                   http_credentials={"username": user, "password": USERS[user]})
    page = context.new_page()
    page.set_default_timeout(180_000)  # the first run of a page imports torch; a loaded machine is slow
    page.goto(url)
    settle(page)
    return page


def train_page(chromium, url: str, user: str):
    """`user`'s Train page, reached from the app's root at `url` (as a student follows a link)."""
    page = user_page(chromium, url, user)
    page.get_by_role("link", name="Train").click()
    settle(page)
    return page


def live_points(page) -> int:
    """Points of the first curve on the Train page's live chart (0 before it is drawn)."""
    return page.evaluate(f"() => {{ const plot = {plot_js('live_curves')};"
                         "return plot && plot.data && plot.data[0] && plot.data[0].x ? plot.data[0].x.length "
                         ": 0; }")


def test_a_run_launched_through_one_replica_is_watched_live_through_the_other(replicas, chromium):
    through, ports, restart, home = replicas
    where = replicas_of_users(through, home)
    assert set(where.values()) == set(ports)  # the hash spreads the class over both replicas
    student = next(user for user in USERS if where[user] != where["prof"])

    # The teacher, on the other replica, has the Train page open before the student launches.
    teacher = train_page(chromium, f"{through}/?model=lenet", "prof")
    expect(teacher.get_by_text("No runs yet: launch one.")).to_be_visible()
    # ResNet-18 on 2,048 of the built-in shapes, 3 epochs at its recipe's 32 px: a minute or two.
    page = train_page(chromium, f"{through}/?model=resnet18", student)
    page.get_by_text("More").click()  # the run's name and the examples are among the form's other fields
    page.locator(".st-key-limit_train input").fill("2048")
    launch(page, 3, f"{student} on {where[student]}")
    expect(page.locator(fresh('[data-testid="stAlertContentSuccess"]'))).to_contain_text(
        "Run #1 launched", timeout=60_000)
    # The teacher watches it live: the page offers it, and its curve gains points while it trains.
    watched = teacher.locator(fresh(".st-key-watch_run input"))
    expect(watched).to_have_value(f"#1 {student} on {where[student]}", timeout=120_000)
    drawn = f"({plot_js('live_curves')}?.data?.[0]?.x?.length || 0)"
    teacher.wait_for_function(f"() => {drawn} >= 1", timeout=240_000)
    seen = live_points(teacher)
    teacher.wait_for_function(f"n => {drawn} > n", arg=seen, timeout=240_000)
    store = RunStore(home / "store")
    assert store.get(1).status == "running"
    restart(where[student])  # the student's replica goes down and comes back while the run trains
    deadline = time.monotonic() + 600
    while store.get(1).status in ("queued", "running"):
        assert time.monotonic() < deadline, store.get(1)
        time.sleep(0.5)
    run = store.get(1)
    assert (run.status, run.owner, run.epochs_done) == ("done", student, 3)
    epochs = [row["epoch"] for row in store.metrics(1) if row["name"] == "test_acc"]
    assert epochs == [1.0, 2.0, 3.0]  # every epoch recorded across the replica's restart
    expect(teacher.locator(fresh('[data-testid="stProgress"]'))).to_contain_text(
        re.compile(r"^done\W+epoch 3\.00 of 3"), timeout=60_000)
    settle(teacher)
    page.context.close()
    teacher.context.close()

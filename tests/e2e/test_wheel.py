"""The wheel, installed into a fresh virtual environment offline, gives a `cnnlab` command that works from a
folder outside the repository: the summary verb, and the dashboard with its server settings in Chromium.

The fresh environment has no pip and no packages of its own: the wheel goes in with this interpreter's pip
(`--no-index --no-deps`), and a .pth file lets it see this interpreter's site-packages (torch, streamlit, ...)
after its own, so the installed cnnlab, not the source tree's, is the one imported."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import free_port, stop, wait_ok
from tests.e2e.test_allowed_hosts import handshake
from tests.e2e.test_browser import metric, settle

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "cnnlab", "dashboard")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the sources (so the build leaves nothing in the repository)."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index",
                    "-q", "-w", str(out), str(src)], check=True)
    (built,) = out.glob("cnnlab-*.whl")
    return built


@pytest.fixture(scope="module")
def env(wheel, tmp_path_factory) -> dict:
    """A fresh venv with the wheel installed; yields the environment to run its commands in."""
    target = tmp_path_factory.mktemp("venv")
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index",
                    "--no-deps", "-q", str(wheel)], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "shared-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    home = tmp_path_factory.mktemp("home")
    return {**environment, "PATH": f"{target / 'bin'}:{environment['PATH']}", "CNNLAB_HOME": str(home),
            "HOME": str(home), "VENV": str(target)}


@pytest.fixture
def outside(tmp_path) -> Path:
    """A working folder outside the repository, with no .streamlit/ of its own."""
    assert not tmp_path.resolve().is_relative_to(ROOT)
    return tmp_path


def test_the_wheel_needs_only_the_core_packages_and_names_its_extras(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(meta).decode())
        entry_points = archive.read(meta.replace("METADATA", "entry_points.txt")).decode()
    requires = metadata.get_all("Requires-Dist")
    assert sorted(r for r in requires if "extra ==" not in r) == ["numpy", "pandas", "torch", "torchvision"]
    assert sorted(metadata.get_all("Provides-Extra")) == ["dashboard", "notebook", "sweep", "tensorboard",
                                                          "timm"]
    assert "cnnlab = cnnlab.cli:main" in entry_points
    for packaged in ("dashboard/app.py", "dashboard/views/build.py", "dashboard/.streamlit/config.toml",
                     "cnnlab/figures/build.py", "cnnlab/cli/dashboard.py"):
        assert packaged in names


def test_cnnlab_summary_runs_from_outside_the_repository(env, outside):
    found = "import importlib.util as u; print(*(u.find_spec(n).origin for n in ('cnnlab', 'dashboard')))"
    where = subprocess.run(["python", "-c", found], cwd=outside, env=env, check=True, capture_output=True,
                           text=True).stdout.split()
    assert all(Path(p).is_relative_to(env["VENV"]) for p in where)
    done = subprocess.run(["cnnlab", "summary", "lenet", "--format", "json"], cwd=outside, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    # d2l's LeNet on 1×28×28: 6·(25+1) + 16·(6·25+1) + 120·(400+1) + 84·(120+1) + 10·(84+1)
    assert summary["totals"]["params"] == 156 + 2416 + 48120 + 10164 + 850 == 61706
    assert [layer["output_shape"] for layer in summary["layers"] if layer["type"] == "Conv2d"] == [
        [6, 28, 28], [16, 10, 10]]
    module = subprocess.run(["python", "-m", "cnnlab", "summary", "lenet", "--format", "json"], cwd=outside,
                            env=env, check=True, capture_output=True, text=True)
    assert module.stdout == done.stdout


def test_cnnlab_dashboard_serves_the_build_page_from_outside_the_repository(env, outside, chromium):
    port = free_port()
    home = outside / "runs"
    log = outside / "dashboard.log"
    with open(log, "w") as out:
        process = subprocess.Popen(["cnnlab", "dashboard", "--port", str(port), "--home", str(home)],
                                   cwd=outside, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ok(f"{url}/_stcore/health", process, log)
        assert handshake(url, f"evil.example:{port}").startswith("HTTP/1.1 403")
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(300_000)  # a cold first run on a busy machine
        page.goto(f"{url}/?model=lenet")
        settle(page)
        assert "Build a network" in page.locator("h1").first.inner_text()
        expect(metric(page, "Parameters")).to_have_text("61.71K")  # 61,706, as above
        page.close()
    finally:
        stop(process)
    served = log.read_text()
    assert "127.0.0.1" in served and "0.0.0.0" not in served


@pytest.mark.parametrize("how", ["streamlit run", "cnnlab dashboard"])
def test_the_server_settings_apply_wherever_it_starts(env, outside, how):
    """Started from another folder, plainly with `streamlit run …/app.py` or with the command, the server
    listens on 127.0.0.1 only and refuses a rebinding Host (issue 22, abuse 4)."""
    port = free_port()
    app = Path(env["VENV"]).glob("lib/python*/site-packages/dashboard/app.py").__next__()
    command = (["python", "-m", "streamlit", "run", str(app), "--server.port", str(port)]
               if how == "streamlit run" else ["cnnlab", "dashboard", "--port", str(port)])
    log = outside / "server.log"
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=outside, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ok(f"http://127.0.0.1:{port}/_stcore/health", process, log)
        listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
        assert [line.split()[3] for line in listening.splitlines()] == [f"127.0.0.1:{port}"]
        url = f"http://127.0.0.1:{port}"
        assert handshake(url, f"evil.example:{port}").startswith("HTTP/1.1 403")
        assert handshake(url, f"localhost:{port}") == "HTTP/1.1 101 Switching Protocols"
    finally:
        stop(process)


def test_on_all_interfaces_the_server_accepts_its_own_name(env, outside):
    """`cnnlab dashboard --address 0.0.0.0` allows the machine's own name and addresses, and still refuses
    a rebinding Host."""
    import socket

    port = free_port()
    log = outside / "server.log"
    with open(log, "w") as out:
        process = subprocess.Popen(["cnnlab", "dashboard", "--port", str(port), "--address", "0.0.0.0"],
                                   cwd=outside, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ok(f"{url}/_stcore/health", process, log)
        assert handshake(url, f"{socket.gethostname()}:{port}") == "HTTP/1.1 101 Switching Protocols"
        assert handshake(url, f"evil.example:{port}").startswith("HTTP/1.1 403")
    finally:
        stop(process)

"""Fixtures shared by the suites: training workers cleaned up, the CLI run in this process as a user,
and the tiers: what starts a server, browser, Ray cluster or worker process is marked `slow`."""

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.runs.store import DB_FILE, RunStore
from cnnlab.train.status import Status


def kill_workers(home: Path) -> None:
    """End every run in the store at `home` that is still queued or running: the queued ones no process
    waits for are cancelled first (so no dispatcher starts them), then every recorded process but this
    one is SIGKILLed; again until none is left, as a worker may have handed its slot on meanwhile."""
    if not (home / DB_FILE).exists():
        return
    try:
        store = RunStore(home)
    except ConfigError:  # not a run store (a test's corrupt file): no workers recorded in it
        return
    for _ in range(20):
        for run in store.awaiting_dispatch():
            store.finish(run.id, Status.CANCELLED, when=frozenset({Status.QUEUED}))
        pids = {run.pid for run in store.list_runs({"queued", "running"})} - {None, os.getpid()}
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
        store.reconcile()


# A test that uses a fixture that starts workers (and ends them however the test ends) or busy
# processes is `slow`; so is every test under tests/e2e (a real server and browser). What no fixture
# shows (a cnnlab or Jupyter process, a Ray cluster, real training) its module or test marks itself.
SLOW_FIXTURES = frozenset({"no_stray_workers", "every_core_busy"})
E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `slow` every test outside the fast tier that the rule above can see."""
    for item in items:
        if E2E in item.path.parents or SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def no_stray_workers(tmp_path):
    """However a test ends, no worker it launched into the store at `tmp_path` keeps training (a test
    that launches workers uses it, which puts it in the slow tier)."""
    yield
    kill_workers(tmp_path)


@pytest.fixture
def cnnlab(capsys):
    """Run the CLI in this process (as `python -m cnnlab ARGS --home HOME`); return (status, out, err)."""

    def call(*args: str, home=None) -> tuple[int, str, str]:
        status = main([*args, *(["--home", str(home)] if home is not None else [])])
        out, err = capsys.readouterr()
        return status, out, err

    return call


@pytest.fixture
def cli(capsys, tmp_path, monkeypatch):
    """Run `python -m cnnlab ARGS --home HOME` in this process as `user`; return (status, out, err)."""

    def call(user: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setenv("CNNLAB_USER", user)
        status = main([*args, "--home", str(tmp_path)])
        out, err = capsys.readouterr()
        return status, out, err

    return call


@pytest.fixture
def class_config(tmp_path, monkeypatch):
    """A function that writes its text as this test's class config (CNNLAB_CLASS_CONFIG)."""
    def write(text: str) -> None:
        path = tmp_path / "class.toml"
        path.write_text(text)
        monkeypatch.setenv("CNNLAB_CLASS_CONFIG", str(path))

    return write


@pytest.fixture
def extra_option(monkeypatch):
    """One more training option as docs/DESIGN.md says to add one: a row of the option table and a field
    of RunConfig (in cnnlab.train.config and every module that imported it), both gone after the test."""
    import dataclasses
    import sys

    from cnnlab.train import config
    from cnnlab.train.options import OPTIONS, TrainOption

    row = TrainOption("ema_decay", "EMA decay", "decay of an exponential moving average of the weights",
                      float, 0.0, low=0, high=1, open_high=True, sweep=True, section="advanced")
    monkeypatch.setitem(OPTIONS, row.name, row)
    base = config.RunConfig
    with_field = dataclasses.make_dataclass(
        "RunConfig", [(row.name, float, dataclasses.field(default=row.default))], bases=(base,), frozen=True)
    for module in [config, *sys.modules.values()]:
        if getattr(module, "RunConfig", None) is base:
            monkeypatch.setattr(module, "RunConfig", with_field)
    return row

"""Fixtures shared by the suites that launch training workers."""

import contextlib
import os
import signal
from pathlib import Path

import pytest

from cnnlab.errors import ConfigError
from cnnlab.train.store import DB_FILE, RunStore


def kill_workers(home: Path) -> None:
    """SIGKILL the worker of every run in the store at `home` that is still queued or running."""
    if not (home / DB_FILE).exists():
        return
    try:
        runs = RunStore(home).list_runs({"queued", "running"})
    except ConfigError:  # not a run store (a test's corrupt file): no workers recorded in it
        return
    for run in runs:
        if run.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(run.pid, signal.SIGKILL)


@pytest.fixture
def no_stray_workers(tmp_path):
    """However a test ends, no worker it launched into the store at `tmp_path` keeps training."""
    yield
    kill_workers(tmp_path)

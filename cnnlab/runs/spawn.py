"""Detached processes: a run's worker or a sweep's driver, in its own session so that it outlives the
tab or the shell that started it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import cnnlab
from cnnlab.access import USER_ENV

LOG_FILE = "worker.log"  # a run's worker's output, in the run's folder


def worker_args(run_id: int, home: Path) -> list[str]:
    """The detached worker's command line (after `python -m cnnlab`) for run `run_id` of store `home`."""
    return ["train", "--run-id", str(run_id), "--home", str(home)]


def worker_env(owner: str | None) -> dict[str, str]:
    """The worker acts as the run's owner (cnnlab.access)."""
    return {} if owner is None else {USER_ENV: owner}


def spawn_detached(args: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Start `python -m cnnlab ARGS` (this cnnlab first on its path, `env` added to the environment)
    with stdout and stderr appended to `log`; return its pid. A thread reaps it when it ends, so a
    long-lived launcher (the dashboard) collects no zombies. OSError if it cannot be started."""
    package_root = str(Path(cnnlab.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "PYTHONPATH": path, **(env or {})}
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "cnnlab", *args], start_new_session=True,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=environment,
                                   close_fds=True)
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
    return process.pid


def replace_process(args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    """Become `python -m cnnlab ARGS` (`env` added to this environment, which already has this cnnlab
    on its path): a fresh interpreter in this process, same pid and session, with stdout and stderr
    appended to `log`. Returns only by raising OSError."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.execve(sys.executable, [sys.executable, "-m", "cnnlab", *args], {**os.environ, **(env or {})})

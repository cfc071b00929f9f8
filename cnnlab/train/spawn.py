"""Detached processes: a run's worker or a sweep's driver, in its own session so that it outlives the
tab or the shell that started it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import cnnlab


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

"""The guard of a sweep's driver: a small process that outlives a driver killed without its cleanup
(SIGKILL, SIGTERM), then ends the sweep in the store and brings down the Ray processes the driver left.

The driver holds the write end of the guard's stdin: at its normal end it writes one byte; a driver that
dies closes the pipe unwritten. The guard then ends the sweep and its trials (`interrupted`) and kills
the processes of the driver's process group (and of its session, where the driver led one: the detached
driver does), which is where Ray's processes started from the driver run. It is started only by a driver
that leads its process group, so no group but its own is ever touched. It runs as a plain script (no
torch imported) until it has work to do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DONE = b"."
DEATH_POLL_SECONDS = 0.05
IGNORED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # sent to the whole group (Ctrl-C, a closed shell)


def start(home: Path) -> subprocess.Popen | None:
    """The guard of this driver process, whose sweeps are in the store at `home`; None where this process
    does not lead its process group (a driver inside another program's group, as under a test runner)."""
    if os.getpgrp() != os.getpid():
        return None
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    # -P: the script's own folder stays off sys.path (its modules' names would shadow others).
    return subprocess.Popen([sys.executable, "-P", __file__, str(home)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, env=env)


def stop(guard: subprocess.Popen | None) -> None:
    """The driver ended normally: the guard leaves without touching anything."""
    if guard is not None:
        with contextlib.suppress(BrokenPipeError):  # the guard was killed: nothing to tell it
            guard.stdin.write(DONE)
            guard.stdin.close()
        guard.wait()


def members(group: int) -> list[int]:
    """The processes whose process group, or session, is `group`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        pgrp, session = stat[stat.rindex(")") + 2:].split()[2:4]
        if group in (int(pgrp), int(session)):
            found.append(int(entry.name))
    return found


def _watch(home: str) -> None:
    for number in IGNORED:
        signal.signal(number, signal.SIG_IGN)
    driver = os.getppid()
    if sys.stdin.buffer.read() == DONE:
        return  # the driver ended normally
    from cnnlab.runs.processes import process_alive
    from cnnlab.runs.store import RunStore

    # The pipe closed unwritten: the driver is dying. Its files close before it is gone, so wait until
    # it is (else `reconcile` would still see it alive and leave the sweep running).
    while process_alive(driver):
        time.sleep(DEATH_POLL_SECONDS)
    store = RunStore(home)
    store.reconcile()  # the driver's process is gone: the sweep and its trials end interrupted
    for pid in members(driver):
        if pid != os.getpid():
            with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    _watch(sys.argv[1])

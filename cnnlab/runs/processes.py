"""A run's process, identified by its pid and its start time, so that a pid the system reused for an
unrelated process is never taken for the run's (and never killed).

Linux gives every process its start time in clock ticks since boot (`/proc/PID/stat`, field 22); a pid
and that start time name one process for as long as the machine runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of `/proc/PID/stat` after the command name (field 3 on), or None if there is none."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start(pid: int | None) -> int | None:
    """Process `pid`'s start time (clock ticks since boot), or None if there is no such process."""
    if not pid:
        return None
    found = _stat_fields(pid)
    return int(found[19]) if found and len(found) > 19 else None


def process_alive(pid: int | None, start: int | None = None) -> bool:
    """Whether process `pid` exists, is not a zombie and, if `start` is given, started at `start` (else
    the pid now names another process)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    found = _stat_fields(pid)
    if found is None:
        return start is None
    return found[0] != "Z" and (start is None or int(found[19]) == start)


def kill_process(pid: int | None, start: int | None) -> bool:
    """SIGKILL process `pid` (a stopped one too) only if it is the process that started at `start`; say
    whether it was. With no recorded start time the process cannot be proved to be the one meant, and is
    left alone. Race-free: the signal goes through a handle on the process checked (a pidfd), so a pid
    reused after the check is not reached."""
    if not pid or start is None:
        return False
    try:
        handle = os.pidfd_open(pid)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        if process_start(pid) != start:
            return False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            signal.pidfd_send_signal(handle, signal.SIGKILL)
            return True
        return False
    finally:
        os.close(handle)

"""How many CPU cores are free now: the runnable tasks of other processes, read from Linux's /proc.

On a core that another busy process shares, a second intra-op thread costs more than it brings: each
parallel operation waits at its barrier for whichever thread the scheduler has set aside. LeNet's
training step on a 2-core AMD EPYC VM (docs/BENCHMARKS.md): with one busy loop beside it, 5.5k
examples/s on 2 threads and 10k on 1; with two, 3.4k and 5.8k; on the quiet machine 2 threads win.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

SAMPLES = 5  # readings, SAMPLE_GAP_S apart; the fewest counts (a passing command is not load)
SAMPLE_GAP_S = 0.002


def busy_elsewhere() -> int | None:
    """Runnable tasks outside this process now (the fewest of SAMPLES readings, so that a command
    passing by does not count); None where the system does not tell (no /proc)."""
    readings = []
    for sample in range(SAMPLES):
        if sample:
            time.sleep(SAMPLE_GAP_S)
        try:
            running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
            own = sum(_runnable(task) for task in Path("/proc/self/task").iterdir())
        except (OSError, ValueError, IndexError):
            return None
        readings.append(running - own)
    return max(min(readings), 0)


def threads_for_now(most: int) -> int:
    """Intra-op threads for the cores free now: one per core no other process is running on, at least
    1 and at most `most`; `most` where the system does not tell."""
    others = busy_elsewhere()
    if others is None:
        return most
    return max(1, min(most, len(os.sched_getaffinity(0)) - others))


def _runnable(task: Path) -> bool:
    """Whether one of this process's threads is running or waiting for a core (state R)."""
    try:
        stat = (task / "stat").read_text()
    except OSError:  # the thread ended meanwhile
        return False
    return stat[stat.rindex(")") + 2] == "R"

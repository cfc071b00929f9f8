"""A run's status: one enum shared by the store, the runner, the CLI and the dashboard.

Members are strings, so they compare equal to (and are stored as) their plain values: `"done"`.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DIVERGED = "diverged"
    INTERRUPTED = "interrupted"
    STOPPED_EARLY = "stopped early"  # a sweep ended the trial early (its scheduler)
    DAMAGED = "damaged"  # never stored: what the store reports for a row it cannot read


ACTIVE = frozenset({Status.QUEUED, Status.RUNNING})
# A run is queued, then running, then ends in one of these (a damaged row counts as ended: it can be deleted).
TERMINAL = frozenset(Status) - ACTIVE

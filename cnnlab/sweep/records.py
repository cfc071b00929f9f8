"""Sweeps and groups in the run store: a sweep row, and its trials as ordinary runs tagged with it.

A group (the repeats of one configuration) is the runs sharing a `group_id`: the id of its first run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnnlab.access import Actor, check_may_act, current_actor, current_user
from cnnlab.errors import ConfigError
from cnnlab.runs.processes import process_alive, process_start
from cnnlab.train.config import RunConfig
from cnnlab.train.runner import record_run
from cnnlab.train.store import TERMINAL, Run, RunStore

SWEEP_COLUMNS = ("id", "name", "created_at", "finished_at", "status", "spec", "cluster", "pid",
                 "cancel_requested", "error", "owner", "pid_start")


@dataclass(frozen=True)
class Sweep:
    """A sweep as recorded; `spec` holds the space, the early-stopping rule and the trials' parameters."""

    id: int
    name: str
    created_at: float
    finished_at: float | None
    status: str
    spec: dict[str, Any]
    cluster: str | None
    pid: int | None
    cancel_requested: bool
    error: str | None
    owner: str | None = None
    pid_start: int | None = None  # the start time of process `pid` (cnnlab.runs.processes)


class SweepStore(RunStore):
    """The run store, with the sweep rows and run tags that sweeps and groups need."""

    def create_group(self, configs: Sequence[RunConfig], *, name: str | None = None,
                     sweep_id: int | None = None, owner: str | None = None) -> list[int]:
        """Record `configs` as queued runs of one group (and of `sweep_id`) owned by `owner` (default:
        `access.current_user()`); return their ids."""
        ids = [record_run(self, config, name, owner=owner, sweep_id=sweep_id) for config in configs]
        self.tag_group(ids, sweep_id)
        return ids

    def tag_group(self, run_ids: Sequence[int], sweep_id: int | None = None) -> None:
        """Make `run_ids` one group (its id: the first run's), of `sweep_id` if given."""
        for run_id in run_ids:
            self.update(run_id, group_id=run_ids[0], sweep_id=sweep_id)

    def create_sweep(self, name: str, spec: dict[str, Any], cluster: str | None,
                     owner: str | None = None) -> int:
        """Record a queued sweep of `owner` (default: `access.current_user()`); return its id."""
        cursor = self._write("INSERT INTO sweeps (name, created_at, spec, cluster, owner) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (name, time.time(), json.dumps(spec), cluster, owner or current_user()))
        return int(cursor.lastrowid)

    def get_sweep(self, sweep_id: int) -> Sweep:
        row = self._db.execute(f"SELECT {', '.join(SWEEP_COLUMNS)} FROM sweeps WHERE id=?",
                               (sweep_id,)).fetchone()
        if row is None:
            raise ConfigError(f"no sweep with id {sweep_id} in {self.home}")
        return self._sweep(row)

    def list_sweeps(self) -> list[Sweep]:
        """All sweeps, newest first."""
        rows = self._db.execute(f"SELECT {', '.join(SWEEP_COLUMNS)} FROM sweeps ORDER BY id DESC").fetchall()
        return [self._sweep(row) for row in rows]

    def sweep_runs(self, sweep_id: int) -> list[Run]:
        """The sweep's trials in the order they were planned."""
        ids = [row[0] for row in self._db.execute("SELECT id FROM runs WHERE sweep_id=? ORDER BY id",
                                                  (sweep_id,))]
        return [self.get(run_id) for run_id in ids]

    def start_sweep(self, sweep_id: int, pid: int) -> bool:
        """queued -> running for the driver process `pid`; False if it was cancelled meanwhile."""
        cursor = self._write("UPDATE sweeps SET status='running', pid=?, pid_start=? WHERE id=? AND "
                             "status='queued' AND cancel_requested=0", (pid, process_start(pid), sweep_id))
        return cursor.rowcount == 1

    def set_sweep_pid(self, sweep_id: int, pid: int) -> None:
        self._write("UPDATE sweeps SET pid=?, pid_start=? WHERE id=?", (pid, process_start(pid), sweep_id))

    def finish_sweep(self, sweep_id: int, status: str, error: str | None = None) -> None:
        """End the sweep with a terminal `status` unless it has ended already."""
        if status not in TERMINAL:
            raise ValueError(f"run store: {status!r} is not a terminal status")
        self._write("UPDATE sweeps SET status=?, error=?, finished_at=? WHERE id=? AND status IN "
                    "('queued', 'running')", (status, error, time.time(), sweep_id))

    def request_cancel_sweep(self, sweep_id: int, actor: Actor | None = None) -> Sweep:
        """Flag the sweep and each trial that has not ended: queued trials end at once, running ones
        when the driver stops them. Only its owner or a teacher may (`actor`, default:
        `access.current_actor()`)."""
        sweep = self.get_sweep(sweep_id)
        actor = actor or current_actor()
        check_may_act(actor, sweep.owner, "cancel", f"sweep {sweep_id}")
        if sweep.status in TERMINAL:
            raise ConfigError(f"sweep {sweep_id} has already ended ({sweep.status})")
        self._write("UPDATE sweeps SET cancel_requested=1 WHERE id=?", (sweep_id,))
        for run in self.sweep_runs(sweep_id):
            if run.status not in TERMINAL:
                self.request_cancel(run.id, actor)
        if sweep.status == "queued":
            self.finish_sweep(sweep_id, "cancelled", error="cancelled before it started")
        return self.get_sweep(sweep_id)

    def sweep_cancel_requested(self, sweep_id: int) -> bool:
        row = self._db.execute("SELECT cancel_requested FROM sweeps WHERE id=?", (sweep_id,)).fetchone()
        return bool(row and row[0])

    def _sweep(self, row: tuple) -> Sweep:
        data = dict(zip(SWEEP_COLUMNS, row, strict=True))
        data["spec"] = json.loads(data["spec"])
        data["cancel_requested"] = bool(data["cancel_requested"])
        return Sweep(**data)

    def reconcile(self) -> list[int]:
        """As `RunStore.reconcile`, and a sweep whose driver process died ends as interrupted, after its
        trials: a reader that sees the sweep ended sees its trials ended too."""
        ended = super().reconcile()
        rows = self._db.execute("SELECT id, pid, pid_start FROM sweeps WHERE status IN ('queued', "
                                "'running') AND pid IS NOT NULL").fetchall()
        for sweep_id, pid, start in rows:
            if not process_alive(pid, start):
                self.finish_sweep(sweep_id, "interrupted", error="the sweep's driver process stopped")
        return ended

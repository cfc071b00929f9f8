"""The run store: every run's config, status and metrics in one SQLite file (WAL mode).

It is the only thing the trainer processes, the CLI and the dashboard share. Every write is one
transaction (`_transaction`), committed at once, so a crash loses at most the report being written.
Reads never write: ending the runs whose process is gone is `reconcile()`, which the CLI's `runs`, the
queue and the dashboard's one reaper thread call. The schema is declared once and an older file is
brought to it in place by idempotent steps (`schema.migrate_schema`); user data is never dropped. A NaN
metric value is stored as NULL and read back as None.

Damage is reported, never repaired: a row that cannot be decoded reads as a `damaged` run with its id
(the others stay usable); a damaged file, a missing table or a database of another program is one
ConfigError naming the file, which is left as it is.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import shutil
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlab.access import Actor, check_may_act, check_may_pin, current_actor, current_user
from cnnlab.errors import ConfigError, StoreWarning, quoted
from cnnlab.formats import JSON_SCHEMA_VERSION
from cnnlab.runs.jsontext import json_text
from cnnlab.runs.processes import kill_process, process_alive, process_start
from cnnlab.runs.rows import COLUMNS, SWEEP_COLUMNS, UPDATABLE, Run, Sweep, decode_run, decode_sweep
from cnnlab.runs.schema import SCHEMA_VERSION, TABLES, migrate_schema
from cnnlab.train.status import ACTIVE, TERMINAL, Status

if TYPE_CHECKING:
    import pandas as pd

DB_FILE = "runs.sqlite"
EXPORT_FORMATS = ("csv", "json")
# A live worker whose heartbeat is older than this is stopped or hung (it beats every 2 s).
HEARTBEAT_TIMEOUT = 60.0


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    """The store's folder: `home`, else $CNNLAB_HOME, else $XDG_DATA_HOME/cnnlab (~/.local/share/cnnlab)."""
    if home is None:
        home = os.environ.get("CNNLAB_HOME") or Path(
            os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "cnnlab"
    path = Path(home).expanduser()
    hint = "; give --home (or CNNLAB_HOME) a folder that can be created and written to"
    if path.exists() and not path.is_dir():
        raise ConfigError(f"cannot use {path} as the run store folder: it is a file, not a folder{hint}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is a file, not a folder" if blocker else (exc.strerror or str(exc)).lower()
        raise ConfigError(f"cannot use {path} as the run store folder: {why}{hint}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot use {path} as the run store folder: permission denied{hint}")
    return path


# How an ended run's error tells whether its unanswering process was killed (only one provably the
# run's is: cnnlab.runs.processes.kill_process).
_KILLED = {True: " and was killed", False: "; it was not killed (its process could not be proved to be "
           "the run's)"}


class RunStore:
    """A connection to the run store in `home`. Safe to share between threads (writes are serialised)."""

    def __init__(self, home: str | os.PathLike | None = None,
                 heartbeat_timeout: float = HEARTBEAT_TIMEOUT) -> None:
        self.home = resolve_home(home)
        self.path = self.home / DB_FILE
        self.heartbeat_timeout = heartbeat_timeout
        self._lock = threading.RLock()
        self._ended: list[tuple[tuple, Run]] = []  # list_runs' decoded ended runs, newest first ...
        self._ended_ids: list[int] = []  # ... their ids, negated (ascending, for bisect)
        self._ended_marker: list[tuple] | None = None  # ... as of this count of ended_changes
        if self.path.is_file() and self.path.stat().st_size == 0:
            warnings.warn(f"{self.path} was an empty file (0 bytes): whatever it held was lost before "
                          "cnnlab opened it; a new, empty run store was started in it", StoreWarning,
                          stacklevel=2)
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            version = self._check_ownership()
            self._db.execute("PRAGMA journal_mode=WAL")
            if version < SCHEMA_VERSION:
                self._migrate()
            self._db.execute("PRAGMA foreign_keys=ON")
            self._inode = self.path.stat().st_ino
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.path} is not a cnnlab run store ({exc}); it was left as it is: move it "
                              "away or use another --home / CNNLAB_HOME") from exc

    def _check_ownership(self) -> int:
        """The file's schema version, after refusing (before writing anything) a newer schema, a
        database of another program, or a store that lost a table every version has (damaged)."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ConfigError(f"{self.path} has schema version {version}, newer than this cnnlab "
                              f"({SCHEMA_VERSION}); upgrade cnnlab to read it (the file is not damaged "
                              "and was left as it is)")
        tables = [row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        if version == 0 and tables:
            raise ConfigError(f"{self.path} is an SQLite database of another program (tables: "
                              f"{', '.join(tables[:5])}), not a cnnlab run store; it was left as it is")
        if version > 0:
            self._check_tables(tables)
        return version

    def _check_tables(self, tables: Iterable[str]) -> None:
        """ConfigError (damaged) if a table every version has is not among `tables`."""
        missing = TABLES - set(tables)
        if missing:
            raise self._damaged(sqlite3.DatabaseError(f"no table {', '.join(sorted(missing))}"))

    def _migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION (`schema.migrate_schema`) in one transaction, foreign keys off
        meanwhile so a rebuilt table keeps its metrics; a process that migrated meanwhile leaves nothing
        to do."""
        self._db.execute("PRAGMA foreign_keys=OFF")
        with self._transaction() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                migrate_schema(db)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def same_file(self) -> bool:
        """Whether the store's file is still the one this connection opened (not removed or replaced)."""
        try:
            return self.path.stat().st_ino == self._inode
        except OSError:
            return False

    def check_readable(self) -> None:
        """One cheap read: ConfigError if the store can no longer be read or lost a table (damaged since it
        was opened)."""
        self._check_tables(row[0] for row in self._read("SELECT name FROM sqlite_master WHERE type='table'"))

    def run_dir(self, run_id: int) -> Path:
        """The run's folder for files (worker log, weights)."""
        return self.home / "runs" / str(int(run_id))

    # -- the two ways to touch the database ------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE; a busy database is waited for up to the
        connection's timeout), committed on success and rolled back on any exception. Nested calls join
        the transaction already open."""
        with self._lock:
            if self._db.in_transaction:
                yield self._db
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                raise self._damaged(exc) from exc

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from exc

    def _write(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._transaction() as db:
            return db.execute(sql, tuple(params))

    def _damaged(self, exc: sqlite3.DatabaseError) -> ConfigError:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return ConfigError(f"disk full: the run store {self.path} could not be written ({exc}); what it "
                               "recorded before is kept: free some space and try again")
        return ConfigError(f"the run store {self.path} is damaged or unreadable ({exc}); it was left as it "
                           "is: copy it away to repair it (sqlite3 .recover) and use another --home / "
                           "CNNLAB_HOME meanwhile")

    # -- lifecycle ---------------------------------------------------------------------------------

    def create_run(self, config: dict, *, name: str, model: str | None, dataset: str | None,
                   params: int | None = None, macs: int | None = None, source: dict | None = None,
                   owner: str | None = None, pid: int | None = None, sweep_id: int | None = None,
                   cluster: str | None = None) -> int:
        """Record a new run of `owner` (default: `access.current_user()`) as `queued` and return its id
        (ids are never reused, even after a delete). `source` says where a run cnnlab did not train
        came from; `pid` is the process that waits to train it (None: a dispatcher starts it,
        `awaiting_dispatch`); `sweep_id` the sweep whose trial it is; `cluster` the address of the Ray
        cluster a single run trains on."""
        cursor = self._write(
            "INSERT INTO runs (name, created_at, status, config, model, dataset, params, macs, source, "
            "owner, pid, sweep_id, cluster, pid_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, time.time(), Status.QUEUED, json.dumps(config), model, dataset, params, macs,
             None if source is None else json.dumps(source), owner or current_user(), pid, sweep_id,
             cluster, process_start(pid)))
        return int(cursor.lastrowid)

    def wait_in_queue(self, run_id: int, pid: int) -> None:
        """Record that process `pid` waits to train the run (and beats now), if it is still queued."""
        self._write("UPDATE runs SET pid=?, pid_start=?, heartbeat_at=? WHERE id=? AND status=?",
                    (pid, process_start(pid), time.time(), run_id, Status.QUEUED))

    def claim(self, run_id: int, pid: int, device: str) -> bool:
        """queued -> running, atomically; False if the run is no longer queued (cancelled meanwhile)."""
        now = time.time()
        cursor = self._write(
            "UPDATE runs SET status=?, pid=?, pid_start=?, device=?, started_at=?, heartbeat_at=? "
            "WHERE id=? AND status=? AND cancel_requested=0",
            (Status.RUNNING, pid, process_start(pid), device, now, now, run_id, Status.QUEUED))
        return cursor.rowcount == 1

    def heartbeat(self, run_id: int) -> None:
        self._write("UPDATE runs SET heartbeat_at=? WHERE id=?", (time.time(), run_id))

    def log_metrics(self, run_id: int, step: int, epoch: float, values: dict[str, float],
                    **results: Any) -> None:
        """One row per metric name, and the run's result columns `results` (as `update` sets them), in one
        transaction: a process killed meanwhile leaves all of it or none of it."""
        rows = [(run_id, int(step), float(epoch), str(name), _finite(value))
                for name, value in values.items()]
        with self._transaction() as db:
            db.executemany("INSERT INTO metrics (run_id, step, epoch, name, value) VALUES (?, ?, ?, ?, ?)",
                           rows)
            self.update(run_id, **results)

    def update(self, run_id: int, **values: Any) -> None:
        """Set result columns of a run (only the UPDATABLE ones; `provenance` is a dict). A new `pid`
        is recorded with its process's start time."""
        unknown = sorted(set(values) - UPDATABLE)
        if unknown:
            raise ValueError(f"run store: cannot update {', '.join(unknown)}")
        if "pid" in values:
            values["pid_start"] = process_start(values["pid"])
        if "provenance" in values:
            values["provenance"] = json.dumps(values["provenance"])
        if values:
            assignments = ", ".join(f"{key}=?" for key in values)
            self._write(f"UPDATE runs SET {assignments} WHERE id=?",
                        (*(_finite(v) if isinstance(v, float) else v for v in values.values()), run_id))

    def finish(self, run_id: int, status: Status, error: str | None = None,
               when: frozenset[Status] = ACTIVE, **values: Any) -> bool:
        """End the run with a terminal `status` if it is still in one of the `when` states; say whether it
        did. A run in any other state (an ended one, or one a worker claimed meanwhile) is left as it is."""
        if status not in TERMINAL or status == Status.DAMAGED:
            raise ValueError(f"run store: {status!r} is not a terminal status")
        with self._transaction() as db:
            row = db.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is None or row[0] not in when:
                return False
            self.update(run_id, **values)
            db.execute("UPDATE runs SET status=?, error=?, finished_at=? WHERE id=?",
                       (Status(status), error, time.time(), run_id))
            return True

    def request_cancel(self, run_id: int, actor: Actor | None = None) -> Run:
        """A queued run is cancelled at once; a running one is flagged and its trainer stops it (one whose
        process stopped answering is killed and cancelled at once). Only its owner or a teacher may
        (`actor`, default: `access.current_actor()`)."""
        run = self.get(run_id)
        check_may_act(actor or current_actor(), run.owner, "cancel", f"run {run_id}")
        if run.status in TERMINAL:
            raise ConfigError(f"run {run_id} has already ended ({run.status})")
        stale = self._stale(run)
        if stale is not None:  # it would never see the flag; killed first, as it may hold the write lock
            killed = kill_process(run.pid, run.pid_start)
            self.finish(run_id, Status.CANCELLED, error=f"cancelled; its process (pid {run.pid}) had "
                        f"stopped answering (last heartbeat {stale:.0f}s ago){_KILLED[killed]}")
            return self.get(run_id)
        self._write("UPDATE runs SET cancel_requested=1 WHERE id=?", (run_id,))
        # Only if still queued: a worker that claimed the run meanwhile stops it at its next poll.
        self.finish(run_id, Status.CANCELLED, error="cancelled before it started",
                    when=frozenset({Status.QUEUED}))
        return self.get(run_id)

    def pin_for_class(self, run_id: int, pinned: bool = True, actor: Actor | None = None) -> Run:
        """Pin (or unpin) a run for the class: every user sees it first and marked. Only a teacher may
        (`actor`, default: `access.current_actor()`)."""
        self.get(run_id)
        check_may_pin(actor or current_actor(), f"run {run_id}")
        self._write("UPDATE runs SET class_pinned=? WHERE id=?", (int(pinned), run_id))
        return self.get(run_id)

    def cancel_requested(self, run_id: int) -> bool:
        rows = self._read("SELECT cancel_requested FROM runs WHERE id=?", (run_id,))
        return bool(rows and rows[0][0])

    def reconcile(self) -> list[int]:
        """End as `interrupted` every queued or running run whose process is gone or stopped answering,
        then every sweep whose driver is gone; return the runs' ids.

        The one place where reading the store leads to a write; the CLI's `runs`, the queue and the
        dashboard's reaper call it. A running run is interrupted as soon as its recorded
        process has died, and a queued one as soon as the process waiting to train it has; a queued run
        with no process is waiting for a dispatcher, not gone (`awaiting_dispatch`). A process
        that is alive but whose heartbeat is older than `heartbeat_timeout` (stopped with SIGSTOP, or
        hung) is killed, so it cannot hold the queue or write later (`_stale` says which runs beat); with
        no process recorded, a stale heartbeat alone ends the run. A process is the run's only if it
        started when the one recorded did (`pid_start`): a pid reused by another process is the run's
        process gone, and is never killed.
        """
        ended = []
        for run in self.list_runs(set(ACTIVE)):
            error = self._why_gone(run)
            if error and self._stale(run) is not None:
                # first: a stopped process may hold the database's write lock
                error += _KILLED[kill_process(run.pid, run.pid_start)]
            if error and self.finish(run.id, Status.INTERRUPTED, error=error):
                ended.append(run.id)
        self._reconcile_sweeps()
        return ended

    def _stale(self, run: Run) -> float | None:
        """The age of the heartbeat of `run`'s live process if it is older than `heartbeat_timeout`.
        Only a worker's runs count: a sweep's trials are their driver's, which beats for none of them,
        and the process of a run cnnlab did not train (`source`) does not beat."""
        if (run.sweep_id is not None or run.source is not None or run.pid in (None, os.getpid())
                or run.heartbeat_at is None):
            return None
        age = time.time() - run.heartbeat_at
        return age if age > self.heartbeat_timeout and process_alive(run.pid, run.pid_start) else None

    def _why_gone(self, run: Run) -> str | None:
        stale = self._stale(run)
        if run.status == Status.RUNNING:
            if run.pid is None:
                age = time.time() - (run.heartbeat_at or run.started_at or run.created_at)
                return (f"the training process stopped without finishing (last heartbeat {age:.0f}s ago)"
                        if age > self.heartbeat_timeout else None)
            if not process_alive(run.pid, run.pid_start):
                return f"the training process (pid {run.pid}) stopped without finishing"
            return None if stale is None else (f"the training process (pid {run.pid}) stopped answering "
                                               f"(last heartbeat {stale:.0f}s ago)")
        if run.pid is not None and not process_alive(run.pid, run.pid_start):
            return "the process waiting to train it stopped before the run started"
        return None if stale is None else (f"the process waiting to train it (pid {run.pid}) stopped "
                                           f"answering (last heartbeat {stale:.0f}s ago)")

    # -- sweeps and groups: a sweep row, its trials ordinary runs tagged with it; a group (the repeats
    # of one configuration) is the runs sharing a `group_id`, the id of its first run ------------------

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
        rows = self._read(f"SELECT {', '.join(SWEEP_COLUMNS)} FROM sweeps WHERE id=?", (sweep_id,))
        if not rows:
            raise ConfigError(f"no sweep with id {sweep_id} in {self.home}")
        return decode_sweep(rows[0])

    def list_sweeps(self) -> list[Sweep]:
        """All sweeps, newest first."""
        rows = self._read(f"SELECT {', '.join(SWEEP_COLUMNS)} FROM sweeps ORDER BY id DESC")
        return [decode_sweep(row) for row in rows]

    def sweep_runs(self, sweep_id: int) -> list[Run]:
        """The sweep's trials in the order they were planned."""
        return [decode_run(row) for row in self._read(
            f"SELECT {_SELECT} FROM runs WHERE sweep_id=? ORDER BY id", (sweep_id,))]

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
        rows = self._read("SELECT cancel_requested FROM sweeps WHERE id=?", (sweep_id,))
        return bool(rows and rows[0][0])

    def _reconcile_sweeps(self) -> None:
        """A sweep whose driver process died ends as interrupted, after its trials (`reconcile`): a reader
        that sees the sweep ended sees its trials ended too."""
        rows = self._read("SELECT id, pid, pid_start FROM sweeps WHERE status IN ('queued', 'running') "
                          "AND pid IS NOT NULL")
        for sweep_id, pid, start in rows:
            if not process_alive(pid, start):
                self.finish_sweep(sweep_id, "interrupted", error="the sweep's driver process stopped")

    # -- reading (never writes) ------------------------------------------------------------------------

    def get(self, run_id: int) -> Run:
        rows = self._read(f"SELECT {_SELECT} FROM runs WHERE id=?", (run_id,))
        if not rows:
            raise ConfigError(f"no run with id {run_id} in {self.home}")
        return decode_run(rows[0])

    def list_runs(self, statuses: set[str] | None = None) -> list[Run]:
        """All runs, newest first (optionally only those with the given statuses, filtered in SQL on its
        index); unreadable rows are `damaged` runs.

        The ended runs are kept decoded between calls and read again only when one of them changed
        (`ended_changes`, counted by triggers in the database, whichever process wrote), so a look at
        a store of many ended runs reads only its queued and running ones."""
        if statuses is not None:
            wanted = sorted(str(status) for status in statuses)
            return [decode_run(row) for row in self._read(
                f"SELECT {_SELECT} FROM runs WHERE status IN ({', '.join('?' * len(wanted))}) "
                "ORDER BY id DESC", wanted)]
        with self._lock:
            marker = self._read("SELECT ended FROM ended_changes")
            if marker != self._ended_marker:
                rows = self._read(f"SELECT {_SELECT} FROM runs WHERE {_ENDED} ORDER BY id DESC")
                known = dict(self._ended)  # a row read before, unchanged, is not decoded again
                self._ended = [(row, known.get(row) or decode_run(row)) for row in rows]
                self._ended_ids = [-row[0] for row in rows]
                self._ended_marker = marker
            runs = [run for _, run in self._ended]
            ids = list(self._ended_ids)
        for run in [decode_run(row) for row in self._read(f"SELECT {_SELECT} FROM runs WHERE status IN "
                                                      "('queued', 'running') ORDER BY id DESC")]:
            at = bisect.bisect_left(ids, -run.id)
            ids.insert(at, -run.id)
            runs.insert(at, run)
        return runs

    def awaiting_dispatch(self) -> list[Run]:
        """The queued runs no process waits to train: launched to a detached worker, which a dispatcher
        (`cnnlab.runs.queue.dispatch`) starts when their turn comes. A sweep's trials are its driver's,
        a run on a cluster its own driver's."""
        return [decode_run(row) for row in self._read(
            f"SELECT {_SELECT} FROM runs WHERE status=? AND pid IS NULL AND sweep_id IS NULL AND cluster "
            "IS NULL ORDER BY id DESC", (Status.QUEUED,))]

    def running_count(self, device: str | None = None) -> int:
        """Runs recorded as running (on `device`, if given)."""
        if device is None:
            return self._read("SELECT COUNT(*) FROM runs WHERE status=?", (Status.RUNNING,))[0][0]
        return self._read("SELECT COUNT(*) FROM runs WHERE status=? AND device=?",
                          (Status.RUNNING, device))[0][0]

    def metrics(self, run_id: int) -> list[dict[str, Any]]:
        """The run's metric rows, in order: dicts with step, epoch, name, value (rows whose step, epoch or
        value are not numbers are left out)."""
        rows = self._read("SELECT step, epoch, name, value FROM metrics "
                          f"WHERE run_id=? AND {_NUMERIC_METRIC} ORDER BY rowid", (run_id,))
        return [dict(zip(("step", "epoch", "name", "value"), row, strict=True)) for row in rows]

    def highest(self, name: str) -> dict[int, float]:
        """Run id -> the highest value of metric `name` it reported (runs without one are left out)."""
        return dict(self._read(f"SELECT run_id, MAX(value) FROM metrics WHERE name=? AND {_NUMERIC_METRIC} "
                               "AND value IS NOT NULL GROUP BY run_id", (name,)))

    def metrics_frame(self, run_ids: Iterable[int]) -> pd.DataFrame:
        """Metrics of several runs as a long table: run_id, step, epoch, name, value."""
        import pandas as pd

        ids = [int(i) for i in run_ids]
        query = (f"SELECT run_id, step, epoch, name, value FROM metrics WHERE run_id IN "
                 f"({', '.join('?' * len(ids))}) AND {_NUMERIC_METRIC} ORDER BY run_id, rowid")
        return pd.DataFrame(self._read(query, ids) if ids else [],
                            columns=["run_id", "step", "epoch", "name", "value"])

    def export(self, run_id: int, fmt: str = "csv") -> str:
        """The run's metrics as CSV (long table), or the run (provenance included) and its metrics as JSON
        (strict: an infinite number as "inf" or "-inf", cnnlab.runs.jsontext)."""
        if fmt not in EXPORT_FORMATS:
            raise ConfigError(f"export format must be csv or json, got {quoted(fmt)}")
        run = self.get(run_id)
        if fmt == "json":
            return json_text({"schema_version": JSON_SCHEMA_VERSION, "run": run.to_dict(),
                              "metrics": self.metrics(run_id)}, indent=1)
        return self.metrics_frame([run_id]).drop(columns="run_id").to_csv(index=False)

    def delete(self, run_id: int, actor: Actor | None = None) -> None:
        """Remove a run that is not queued or running, with its metrics and files. Only its owner or a
        teacher may (`actor`, default: `access.current_actor()`)."""
        run = self.get(run_id)
        check_may_act(actor or current_actor(), run.owner, "delete", f"run {run_id}")
        if run.status not in TERMINAL:
            raise ConfigError(f"run {run_id} is {run.status}; cancel it before deleting it")
        self._write("DELETE FROM runs WHERE id=?", (run_id,))
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)


_SELECT = ", ".join(COLUMNS)
_ENDED = "status NOT IN ('queued', 'running')"
_NUMERIC_METRIC = ("typeof(step) = 'integer' AND typeof(epoch) IN ('integer', 'real') "
                   "AND typeof(value) IN ('integer', 'real', 'null')")


def _finite(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value

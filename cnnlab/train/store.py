"""The run store: every run's config, status and metrics in one SQLite file (WAL mode).

It is the only thing the trainer processes, the CLI and the dashboard share. Every write is committed
at once, so a crash loses at most the report being written. The schema is versioned with
`PRAGMA user_version`; an older file is migrated in place, and user data is never dropped.
Non-finite metric values (NaN) are stored as NULL and read back as None.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlab.errors import ConfigError
from cnnlab.spec import JSON_SCHEMA_VERSION

if TYPE_CHECKING:
    import pandas as pd

DB_FILE = "runs.sqlite"
# A run is "queued", then "running", then ends in one of these.
TERMINAL = frozenset({"done", "failed", "cancelled", "diverged", "interrupted", "stopped early"})
EXPORT_FORMATS = ("csv", "json")

# Each step upgrades the schema by one version; index i brings user_version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL,
        finished_at REAL, status TEXT NOT NULL DEFAULT 'queued', config TEXT NOT NULL, model TEXT,
        dataset TEXT, device TEXT, params INTEGER, macs INTEGER, epochs_done REAL DEFAULT 0,
        final_train_loss REAL, final_train_acc REAL, final_test_acc REAL, examples_per_sec REAL,
        tflops REAL, error TEXT, pid INTEGER, heartbeat_at REAL, cancel_requested INTEGER DEFAULT 0);
    CREATE TABLE metrics (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step INTEGER NOT NULL,
        epoch REAL NOT NULL, name TEXT NOT NULL, value REAL);
    """,
    """
    ALTER TABLE runs ADD COLUMN weights_path TEXT;
    CREATE INDEX metrics_by_run ON metrics(run_id, step);
    CREATE INDEX runs_by_status ON runs(status);
    """,
    # Sweeps (cnnlab/sweep): a sweep's trials and a group's repeats are runs tagged with their ids;
    # `node` is the Ray node a trial ran on.
    """
    CREATE TABLE sweeps (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL, finished_at REAL,
        status TEXT NOT NULL DEFAULT 'queued', spec TEXT NOT NULL, cluster TEXT, pid INTEGER,
        cancel_requested INTEGER DEFAULT 0, error TEXT);
    ALTER TABLE runs ADD COLUMN sweep_id INTEGER;
    ALTER TABLE runs ADD COLUMN group_id INTEGER;
    ALTER TABLE runs ADD COLUMN node TEXT;
    CREATE INDEX runs_by_sweep ON runs(sweep_id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
UPDATABLE = frozenset({"name", "device", "params", "macs", "epochs_done", "final_train_loss",
                       "final_train_acc", "final_test_acc", "examples_per_sec", "tflops", "pid",
                       "weights_path", "error", "sweep_id", "group_id", "node"})


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    """The store's folder: `home`, else $CNNLAB_HOME, else $XDG_DATA_HOME/cnnlab (~/.local/share/cnnlab)."""
    if home is None:
        home = os.environ.get("CNNLAB_HOME") or Path(
            os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "cnnlab"
    path = Path(home).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot use {path} as the run store folder: {exc.strerror}") from exc
    return path


@dataclass(frozen=True)
class Run:
    """One run as recorded; `config` is the parsed run config."""

    id: int
    name: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    status: str
    config: dict
    model: str | None
    dataset: str | None
    device: str | None
    params: int | None
    macs: int | None
    epochs_done: float | None
    final_train_loss: float | None
    final_train_acc: float | None
    final_test_acc: float | None
    examples_per_sec: float | None
    tflops: float | None
    error: str | None
    pid: int | None
    heartbeat_at: float | None
    cancel_requested: bool
    weights_path: str | None
    sweep_id: int | None = None
    group_id: int | None = None
    node: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


COLUMNS = tuple(f.name for f in fields(Run))


def process_alive(pid: int | None) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class RunStore:
    """A connection to the run store in `home`. Safe to share between threads (writes are serialised)."""

    def __init__(self, home: str | os.PathLike | None = None, heartbeat_timeout: float = 15.0) -> None:
        self.home = resolve_home(home)
        self.path = self.home / DB_FILE
        self.heartbeat_timeout = heartbeat_timeout
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.path} is not a cnnlab run store ({exc}); move it away or use another "
                              "--home / CNNLAB_HOME") from exc

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ConfigError(f"{self.path} has schema version {version}, newer than this cnnlab "
                              f"({SCHEMA_VERSION}); upgrade cnnlab to read it")
        with self._lock:
            for target in range(version + 1, SCHEMA_VERSION + 1):
                statements = [s for s in MIGRATIONS[target - 1].split(";") if s.strip()]
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    if self._db.execute("PRAGMA user_version").fetchone()[0] == target - 1:
                        for statement in statements:
                            self._db.execute(statement)
                        self._db.execute(f"PRAGMA user_version={target}")
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise

    def close(self) -> None:
        self._db.close()

    def run_dir(self, run_id: int) -> Path:
        """The run's folder for files (worker log, weights)."""
        return self.home / "runs" / str(int(run_id))

    def _write(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, tuple(params))

    # -- lifecycle ---------------------------------------------------------------------------------

    def create_run(self, config: dict, *, name: str, model: str, dataset: str,
                   params: int | None = None, macs: int | None = None) -> int:
        """Record a new run as `queued` and return its id."""
        cursor = self._write(
            "INSERT INTO runs (name, created_at, status, config, model, dataset, params, macs) "
            "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
            (name, time.time(), json.dumps(config), model, dataset, params, macs))
        return int(cursor.lastrowid)

    def claim(self, run_id: int, pid: int, device: str) -> bool:
        """queued -> running, atomically; False if the run is no longer queued (cancelled meanwhile)."""
        now = time.time()
        cursor = self._write(
            "UPDATE runs SET status='running', pid=?, device=?, started_at=?, heartbeat_at=? "
            "WHERE id=? AND status='queued' AND cancel_requested=0", (pid, device, now, now, run_id))
        return cursor.rowcount == 1

    def heartbeat(self, run_id: int) -> None:
        self._write("UPDATE runs SET heartbeat_at=? WHERE id=?", (time.time(), run_id))

    def log_metrics(self, run_id: int, step: int, epoch: float, values: dict[str, float]) -> None:
        """One row per metric name, in one transaction."""
        rows = [(run_id, int(step), float(epoch), str(name), _finite(value))
                for name, value in values.items()]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT INTO metrics (run_id, step, epoch, name, value) "
                                     "VALUES (?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def update(self, run_id: int, **values: Any) -> None:
        """Set result columns of a run (only the UPDATABLE ones)."""
        unknown = sorted(set(values) - UPDATABLE)
        if unknown:
            raise ValueError(f"run store: cannot update {', '.join(unknown)}")
        if values:
            assignments = ", ".join(f"{key}=?" for key in values)
            self._write(f"UPDATE runs SET {assignments} WHERE id=?",
                        (*(_finite(v) if isinstance(v, float) else v for v in values.values()), run_id))

    def finish(self, run_id: int, status: str, error: str | None = None,
               when: tuple[str, ...] = ("queued", "running"), **values: Any) -> None:
        """End the run with a terminal `status` if it is still in one of the `when` states; a run in
        any other state (an ended one, or one a worker claimed meanwhile) is left as it is."""
        if status not in TERMINAL:
            raise ValueError(f"run store: {status!r} is not a terminal status")
        with self._lock:
            row = self._db.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is not None and row[0] in when:
                self.update(run_id, **values)
                self._write(f"UPDATE runs SET status=?, error=?, finished_at=? WHERE id=? "
                            f"AND status IN ({', '.join('?' * len(when))})",
                            (status, error, time.time(), run_id, *when))

    def request_cancel(self, run_id: int) -> Run:
        """A queued run is cancelled at once; a running one is flagged and its trainer stops it."""
        run = self.get(run_id)
        if run.status in TERMINAL:
            raise ConfigError(f"run {run_id} has already ended ({run.status})")
        self._write("UPDATE runs SET cancel_requested=1 WHERE id=?", (run_id,))
        # Only if still queued: a worker that claimed the run meanwhile stops it at its next poll.
        self.finish(run_id, "cancelled", error="cancelled before it started", when=("queued",))
        return self.get(run_id)

    def cancel_requested(self, run_id: int) -> bool:
        row = self._db.execute("SELECT cancel_requested FROM runs WHERE id=?", (run_id,)).fetchone()
        return bool(row and row[0])

    # -- reading -----------------------------------------------------------------------------------

    def get(self, run_id: int) -> Run:
        row = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise ConfigError(f"no run with id {run_id} in {self.home}")
        return self._reconciled(self._run(row))

    def list_runs(self, statuses: set[str] | None = None) -> list[Run]:
        """All runs, newest first (optionally only those with the given statuses)."""
        rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM runs ORDER BY id DESC").fetchall()
        runs = [self._reconciled(self._run(row)) for row in rows]
        return [run for run in runs if statuses is None or run.status in statuses]

    def running_count(self, device: str | None = None) -> int:
        """Runs running now (on `device`, if given), after ending those whose process died."""
        runs = self.list_runs({"running"})
        return sum(1 for run in runs if device is None or run.device == device)

    def metrics(self, run_id: int) -> list[dict[str, Any]]:
        """The run's metric rows, in order: dicts with step, epoch, name, value."""
        cursor = self._db.execute("SELECT step, epoch, name, value FROM metrics WHERE run_id=? "
                                  "ORDER BY rowid", (run_id,))
        return [dict(zip(("step", "epoch", "name", "value"), row, strict=True)) for row in cursor]

    def metrics_frame(self, run_ids: Iterable[int]) -> pd.DataFrame:
        """Metrics of several runs as a long table: run_id, step, epoch, name, value."""
        import pandas as pd

        ids = [int(i) for i in run_ids]
        query = (f"SELECT run_id, step, epoch, name, value FROM metrics WHERE run_id IN "
                 f"({', '.join('?' * len(ids))}) ORDER BY run_id, rowid")
        return pd.DataFrame(self._db.execute(query, ids).fetchall() if ids else [],
                            columns=["run_id", "step", "epoch", "name", "value"])

    def export(self, run_id: int, fmt: str = "csv") -> str:
        """The run's metrics as CSV (long table), or the run and its metrics as JSON."""
        if fmt not in EXPORT_FORMATS:
            raise ConfigError(f"export format must be csv or json, got {fmt!r}")
        run = self.get(run_id)
        if fmt == "json":
            return json.dumps({"schema_version": JSON_SCHEMA_VERSION, "run": run.to_dict(),
                               "metrics": self.metrics(run_id)}, indent=1)
        return self.metrics_frame([run_id]).drop(columns="run_id").to_csv(index=False)

    def delete(self, run_id: int) -> None:
        """Remove a run that is not queued or running, with its metrics and files."""
        run = self.get(run_id)
        if run.status not in TERMINAL:
            raise ConfigError(f"run {run_id} is {run.status}; cancel it before deleting it")
        self._write("DELETE FROM runs WHERE id=?", (run_id,))
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    def _run(self, row: tuple) -> Run:
        data = dict(zip(COLUMNS, row, strict=True))
        data["config"] = json.loads(data["config"])
        data["cancel_requested"] = bool(data["cancel_requested"])
        return Run(**data)

    def _reconciled(self, run: Run) -> Run:
        """A run whose process is gone is recorded as interrupted: a running one once its heartbeat is
        stale, a queued one as soon as the process that was waiting to train it has died."""
        if run.status == "running":
            age = time.time() - (run.heartbeat_at or run.started_at or run.created_at)
            if age <= self.heartbeat_timeout or process_alive(run.pid):
                return run
            error = f"the training process stopped without finishing (last heartbeat {age:.0f}s ago)"
        elif run.status == "queued" and run.pid is not None and not process_alive(run.pid):
            error = "the process waiting to train it stopped before the run started"
        else:
            return run
        self.finish(run.id, "interrupted", error=error)
        row = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM runs WHERE id=?", (run.id,)).fetchone()
        return self._run(row)


def _finite(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value

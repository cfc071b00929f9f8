"""The run store's schema, declared once, and the idempotent steps that bring a store of any earlier
version to it (`migrate_schema`); the floor below `cnnlab.runs.store`, which runs them in a transaction."""

from __future__ import annotations

import getpass
import re
import sqlite3

# The schema as it stands, declared once: each table's columns with their SQL definitions. A store of any
# earlier version is brought to it by idempotent steps (`migrate_schema`): a missing table is created, a
# missing column added, a missing index made, and `runs` rebuilt once with AUTOINCREMENT. No step depends
# on the version number a file carries, so stores written by every earlier commit (whose numbered steps
# were renumbered by merges) all open. A change to the schema is a new column or table here and a new
# SCHEMA_VERSION, so an older cnnlab refuses the file instead of misreading it.
TABLE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "runs": (
        ("id", "INTEGER PRIMARY KEY AUTOINCREMENT"), ("name", "TEXT NOT NULL"),
        ("created_at", "REAL NOT NULL"), ("started_at", "REAL"), ("finished_at", "REAL"),
        ("status", "TEXT NOT NULL DEFAULT 'queued'"), ("config", "TEXT NOT NULL"), ("model", "TEXT"),
        ("dataset", "TEXT"), ("device", "TEXT"), ("params", "INTEGER"), ("macs", "INTEGER"),
        ("epochs_done", "REAL DEFAULT 0"), ("final_train_loss", "REAL"), ("final_train_acc", "REAL"),
        ("final_test_acc", "REAL"), ("examples_per_sec", "REAL"), ("tflops", "REAL"), ("error", "TEXT"),
        ("pid", "INTEGER"), ("heartbeat_at", "REAL"), ("cancel_requested", "INTEGER DEFAULT 0"),
        ("weights_path", "TEXT"), ("provenance", "TEXT"),
        # a sweep's trials and a group's repeats are runs tagged with their ids; `node`: the Ray node
        ("sweep_id", "INTEGER"), ("group_id", "INTEGER"), ("node", "TEXT"),
        ("source", "TEXT"),  # runs cnnlab did not train (cnnlab.track, cnnlab import), as JSON
        ("owner", "TEXT"),
        ("peak_memory", "REAL"), ("memory_estimate", "REAL"),  # a training step's, bytes
        ("first_point_at", "REAL"), ("class_pinned", "INTEGER NOT NULL DEFAULT 0"),
        ("cluster", "TEXT"),  # the Ray cluster a single run trains on; NULL: this machine's queue
        ("pid_start", "INTEGER"),  # the start time of process `pid` (cnnlab.runs.processes)
    ),
    "metrics": (
        ("run_id", "INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE"), ("step", "INTEGER NOT NULL"),
        ("epoch", "REAL NOT NULL"), ("name", "TEXT NOT NULL"), ("value", "REAL"),
    ),
    "sweeps": (
        ("id", "INTEGER PRIMARY KEY"), ("name", "TEXT NOT NULL"), ("created_at", "REAL NOT NULL"),
        ("finished_at", "REAL"), ("status", "TEXT NOT NULL DEFAULT 'queued'"), ("spec", "TEXT NOT NULL"),
        ("cluster", "TEXT"), ("pid", "INTEGER"), ("cancel_requested", "INTEGER DEFAULT 0"), ("error", "TEXT"),
        ("owner", "TEXT"), ("pid_start", "INTEGER"),
    ),
}
INDEXES = {"metrics_by_run": "metrics(run_id, step)", "runs_by_status": "runs(status)",
           "runs_by_sweep": "runs(sweep_id)", "runs_by_owner": "runs(owner, status)"}
# A count of the changes to ended runs (an ended run inserted, changed or deleted, a run ending), kept
# by the database itself for every writer: readers keep ended runs decoded until it moves (list_runs).
_ENDED_ROW = "{row}.status NOT IN ('queued', 'running')"
_COUNT_ENDED = "BEGIN UPDATE ended_changes SET ended = ended + 1; END"
TRIGGERS = {
    "ended_run_inserted": f"AFTER INSERT ON runs WHEN {_ENDED_ROW.format(row='NEW')} {_COUNT_ENDED}",
    "ended_run_updated": f"AFTER UPDATE ON runs WHEN {_ENDED_ROW.format(row='OLD')} OR "
                         f"{_ENDED_ROW.format(row='NEW')} {_COUNT_ENDED}",
    "run_deleted": f"AFTER DELETE ON runs {_COUNT_ENDED}",
}
# Versions 1-10 were numbered steps (merges renumbered some); 11 on, the declared schema above.
SCHEMA_VERSION = 12


def _ids_never_reused(db: sqlite3.Connection) -> None:
    """Rebuild `runs` with AUTOINCREMENT, so an id is never reused after a delete. Every column and index
    the table has is kept, whatever earlier versions added; metrics are untouched (foreign keys are off
    while migrating, so dropping the old table deletes nothing)."""
    create = db.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='runs'").fetchone()[0]
    indexes = [row[0] for row in db.execute(
        "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='runs' AND sql IS NOT NULL")]
    columns = ", ".join(f'"{row[1]}"' for row in db.execute("PRAGMA table_info(runs)"))
    rebuilt, found = re.subn(r"^CREATE TABLE \"?runs\"?\s*\((\s*)id INTEGER PRIMARY KEY\b",
                             r"CREATE TABLE runs_rebuilt (\1id INTEGER PRIMARY KEY AUTOINCREMENT", create)
    if not found:
        raise sqlite3.DatabaseError(f"unexpected definition of table runs: {create[:80]}")
    db.execute(rebuilt)
    db.execute(f"INSERT INTO runs_rebuilt ({columns}) SELECT {columns} FROM runs")
    db.execute("DROP TABLE runs")
    db.execute("ALTER TABLE runs_rebuilt RENAME TO runs")
    for index in indexes:
        db.execute(index)


def migrate_schema(db: sqlite3.Connection) -> None:
    """Bring the schema of an earlier version to TABLE_COLUMNS and INDEXES; each step is done only if
    the file lacks what it adds, so any earlier store takes it (and taking it twice changes nothing).
    Rows recorded before owners existed become the store's, the operating-system user who opens it first
    with this version."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table, columns in TABLE_COLUMNS.items():
        if table not in tables:
            definition = ", ".join(f"{name} {sql}" for name, sql in columns)
            db.execute(f"CREATE TABLE {table} ({definition})")
            continue
        if table == "runs" and "AUTOINCREMENT" not in db.execute(
                "SELECT sql FROM sqlite_master WHERE type='table' AND name='runs'").fetchone()[0].upper():
            _ids_never_reused(db)
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, sql in columns:
            if name not in present:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql}")
                if name == "owner":
                    db.execute(f"UPDATE {table} SET owner=?", (getpass.getuser(),))
    for name, target in INDEXES.items():
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    db.execute("CREATE TABLE IF NOT EXISTS ended_changes (ended INTEGER NOT NULL)")
    if db.execute("SELECT COUNT(*) FROM ended_changes").fetchone() == (0,):
        db.execute("INSERT INTO ended_changes VALUES (0)")
    for name, trigger in TRIGGERS.items():
        db.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {trigger}")


TABLES = frozenset({"runs", "metrics"})  # the tables every version has: without one, a store is damaged

"""A damaged, emptied, foreign or old run store: reported clearly, never rewritten, nothing lost.

Real SQLite files, damaged the way disks and people damage them; the CLI is run as a user runs it.
"""

import os
import sqlite3
import subprocess
import sys
import warnings

import pytest

from cnnlab.cli import main
from cnnlab.errors import ConfigError, StoreWarning
from cnnlab.runs.schema import SCHEMA_VERSION, migrate_schema
from cnnlab.runs.store import RunStore
from tests.test_store_migrations import OLD_SCHEMAS

# The schema as cnnlab wrote it before run ids were made unique for ever (user_version 2, 9e57605).
SCHEMA_V2 = ";\n".join(OLD_SCHEMAS["9e57605"][1]) + ";\nPRAGMA user_version=2;"
V2_RUN = (7, "old run", 1.5, 2.5, 3.5, "done", '{"epochs": 2, "lr": 0.1}', "lenet", "shapes", "cpu", 61706,
          429342, 2.0, 0.5, 0.75, 0.7, 1234.5, None, None, 4242, 3.0, 0, "/w/weights.pt")


def cli(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def new_run(store: RunStore, name: str = "ok") -> int:
    """A queued run this process waits to train (so no look at the store starts it)."""
    return store.create_run({"epochs": 1}, name=name, model="lenet", dataset="shapes", pid=os.getpid())


def write_v2_store(home) -> None:
    home.mkdir(exist_ok=True)
    db = sqlite3.connect(home / "runs.sqlite")
    db.executescript(SCHEMA_V2)
    db.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(V2_RUN))})", V2_RUN)
    db.execute("INSERT INTO runs (id, name, created_at, status, config) "
               "VALUES (9, 'later', 4.0, 'failed', '{}')")
    db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)",
                   [(7, 1, 0.5, "train_loss", 2.0), (7, 2, 1.0, "test_acc", 0.7), (9, 1, 0.5, "lr", None)])
    db.commit()
    db.close()


def test_a_store_written_by_the_previous_schema_upgrades_losing_nothing(tmp_path):
    write_v2_store(tmp_path)
    before = sqlite3.connect(tmp_path / "runs.sqlite")
    runs_before = before.execute("SELECT * FROM runs ORDER BY id").fetchall()
    metrics_before = before.execute("SELECT * FROM metrics ORDER BY rowid").fetchall()
    before.close()
    store = RunStore(tmp_path)
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    # every old column of every row, and every metric, as it was; the new column empty
    assert [row[:23] for row in db.execute("SELECT * FROM runs ORDER BY id")] == runs_before
    assert db.execute("SELECT provenance FROM runs").fetchall() == [(None,), (None,)]
    assert db.execute("SELECT * FROM metrics ORDER BY rowid").fetchall() == metrics_before
    run = store.get(7)
    assert (run.name, run.status, run.config, run.final_test_acc, run.weights_path) == (
        "old run", "done", {"epochs": 2, "lr": 0.1}, 0.7, "/w/weights.pt")
    assert {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")} >= {
        "metrics_by_run", "runs_by_status"}
    # deleting still cascades to the metrics after the rebuild, and ids are not reused
    store.delete(9)
    assert db.execute("SELECT COUNT(*) FROM metrics WHERE run_id=9").fetchone() == (0,)
    assert new_run(store) == 10


def test_run_ids_are_never_reused_after_a_delete(tmp_path):
    store = RunStore(tmp_path)
    first, second = new_run(store), new_run(store)
    store.finish(second, "done")
    store.delete(second)
    assert new_run(store) == second + 1 and first == second - 1


def test_a_row_that_cannot_be_read_is_listed_as_damaged_and_the_others_stay_usable(tmp_path, capsys):
    store = RunStore(tmp_path)
    good, bad_json, bad_status, bad_number = (new_run(store, f"run {i}") for i in range(4))
    db = sqlite3.connect(store.path, isolation_level=None)
    db.execute("UPDATE runs SET config='{not json' WHERE id=?", (bad_json,))
    db.execute("UPDATE runs SET status='exploded' WHERE id=?", (bad_status,))
    db.execute("UPDATE runs SET params='many' WHERE id=?", (bad_number,))
    runs = {run.id: run for run in store.list_runs()}
    assert [runs[i].status for i in (good, bad_json, bad_status, bad_number)] == [
        "queued", "damaged", "damaged", "damaged"]
    assert runs[bad_json].error.startswith(f"row {bad_json} of the run store cannot be read: Expecting")
    assert runs[bad_status].error == (f"row {bad_status} of the run store cannot be read: 'exploded' is not "
                                      "a valid Status")
    assert runs[bad_number].error == (f"row {bad_number} of the run store cannot be read: params holds "
                                      "text, not a number")
    assert store.get(good).config == {"epochs": 1}
    status, out, err = cli(capsys, "runs", "--home", str(tmp_path))
    assert status == 0 and err == ""
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "damaged" in lines[str(bad_json)] and "queued" in lines[str(good)]
    status, out, _ = cli(capsys, "runs", "show", str(bad_json), "--home", str(tmp_path))
    assert status == 0 and f"run {bad_json}: damaged run {bad_json}  [damaged]" in out
    store.delete(bad_json)  # a damaged row can be removed; the rest stays
    assert sorted(run.id for run in store.list_runs()) == [good, bad_status, bad_number]


def test_metric_rows_holding_text_are_left_out_not_fatal(tmp_path):
    store = RunStore(tmp_path)
    run_id = new_run(store)
    store.log_metrics(run_id, 1, 0.5, {"train_loss": 2.0})
    sqlite3.connect(store.path, isolation_level=None).execute(
        "INSERT INTO metrics VALUES (?, 2, 1.0, 'train_loss', 'oops')", (run_id,))
    assert store.metrics(run_id) == [{"step": 1, "epoch": 0.5, "name": "train_loss", "value": 2.0}]
    assert store.export(run_id, "csv").splitlines() == ["step,epoch,name,value", "1,0.5,train_loss,2.0"]


def damage_pages(path) -> bytes:
    """Overwrite every page after the first (the schema) with junk, as a bad disk would; return the file."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        page = int.from_bytes(f.read(18)[16:18], "big")
        f.seek(page)
        f.write(b"\xde\xad\xbe\xef" * ((size - page) // 4))
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["pages", "missing table"])
def test_a_damaged_database_gives_one_clear_message_everywhere_and_is_not_rewritten(tmp_path, capsys, damage):
    store = RunStore(tmp_path)
    for _ in range(30):
        store.log_metrics(new_run(store), 1, 0.5, {"train_loss": 1.0})
    store.close()
    if damage == "pages":
        content = damage_pages(tmp_path / "runs.sqlite")
    else:
        db = sqlite3.connect(tmp_path / "runs.sqlite", isolation_level=None)
        db.execute("DROP TABLE metrics")
        db.close()
        content = (tmp_path / "runs.sqlite").read_bytes()
    for args in (["runs"], ["runs", "show", "3"], ["runs", "export", "3"], ["runs", "delete", "3"],
                 ["runs", "cancel", "3"], ["train", "lenet", "--epochs", "1", "--limit-train", "64"]):
        status, out, err = cli(capsys, *args, "--home", str(tmp_path))
        assert status == 2 and out == "", args
        assert err.startswith(f"cnnlab: error: the run store {tmp_path / 'runs.sqlite'} is damaged or "
                              "unreadable (") and err.count("\n") == 1, (args, err)
        assert "it was left as it is" in err
    assert (tmp_path / "runs.sqlite").read_bytes() == content


def test_a_file_that_is_not_a_database_is_refused_by_the_cli_in_one_line(tmp_path, capsys):
    (tmp_path / "runs.sqlite").write_bytes(b"my thesis, not a database" * 100)
    status, out, err = cli(capsys, "runs", "--home", str(tmp_path))
    assert status == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"cnnlab: error: {tmp_path / 'runs.sqlite'} is not a cnnlab run store (")


def test_another_programs_database_is_refused_and_left_alone(tmp_path):
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    db.execute("CREATE TABLE invoices (id INTEGER, amount REAL)")
    db.commit()
    db.close()
    content = (tmp_path / "runs.sqlite").read_bytes()
    with pytest.raises(ConfigError, match=r"is an SQLite database of another program \(tables: invoices\)"):
        RunStore(tmp_path)
    assert (tmp_path / "runs.sqlite").read_bytes() == content


def test_an_emptied_store_file_is_reported_not_silently_reinitialised(tmp_path, capsys):
    (tmp_path / "runs.sqlite").write_bytes(b"")
    with pytest.warns(StoreWarning, match=r"runs.sqlite was an empty file \(0 bytes\): whatever it held was "
                                          "lost before cnnlab opened it"):
        RunStore(tmp_path)
    (tmp_path / "runs.sqlite").unlink()
    (tmp_path / "runs.sqlite").write_bytes(b"")
    status, out, err = cli(capsys, "runs", "--home", str(tmp_path))
    assert status == 0 and err.startswith(f"cnnlab: warning: {tmp_path / 'runs.sqlite'} was an empty file")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RunStore(tmp_path)  # once started, the store is a normal one: no warning again


@pytest.mark.parametrize("kind", ["file", "file as parent", "read-only"])
def test_an_unusable_home_is_named_with_the_reason(tmp_path, capsys, kind):
    if kind == "read-only" and os.geteuid() == 0:
        pytest.skip("root can write to read-only folders")
    home, reason = tmp_path / "home", "it is a file, not a folder"
    if kind == "file":
        home.write_text("x")
    elif kind == "file as parent":
        (tmp_path / "blocker").write_text("x")
        home, reason = tmp_path / "blocker" / "home", f"{tmp_path / 'blocker'} is a file, not a folder"
    else:
        home.mkdir(mode=0o500)
        reason = "permission denied"
    status, out, err = cli(capsys, "runs", "--home", str(home))
    assert status == 2 and err == (f"cnnlab: error: cannot use {home} as the run store folder: {reason}; "
                                   "give --home (or CNNLAB_HOME) a folder that can be created and written "
                                   "to\n")


@pytest.mark.slow  # a cnnlab process of its own
def test_runs_piped_into_head_ends_quietly(tmp_path):
    store = RunStore(tmp_path)
    for i in range(3000):
        new_run(store, f"run {i}")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for fmt in ("table", "json"):
        command = f"{sys.executable} -m cnnlab runs --format {fmt} --home {tmp_path} | head -c 100"
        pipe = subprocess.run(["bash", "-c", command + "; echo; echo ${PIPESTATUS[0]}"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert pipe.stderr == "" and pipe.stdout.splitlines()[-1] == "0", (fmt, pipe.stderr)


def test_the_id_migration_keeps_columns_and_indexes_added_before_it(tmp_path):
    """Whatever an earlier step added to `runs` (another branch's columns, an index) survives the rebuild."""
    db = sqlite3.connect(tmp_path / "runs.sqlite", isolation_level=None)
    db.executescript(SCHEMA_V2.replace("PRAGMA user_version=2;", ""))
    db.executescript("ALTER TABLE runs ADD COLUMN sweep_id INTEGER; "
                     "CREATE INDEX runs_by_sweep ON runs(sweep_id);")
    db.execute("INSERT INTO runs (id, name, created_at, status, config, sweep_id) "
               "VALUES (4, 'trial', 1.0, 'done', '{}', 12)")
    db.execute("INSERT INTO metrics VALUES (4, 1, 0.5, 'train_loss', 1.5)")
    db.execute("BEGIN")
    migrate_schema(db)  # the id rebuild, then the columns it lacks (provenance ...)
    db.execute("COMMIT")
    rows = db.execute("SELECT id, name, sweep_id, provenance FROM runs").fetchall()
    assert rows == [(4, "trial", 12, None)]
    assert db.execute("SELECT * FROM metrics").fetchall() == [(4, 1, 0.5, "train_loss", 1.5)]
    assert {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")} >= {
        "runs_by_sweep", "runs_by_status", "metrics_by_run"}
    db.execute("DELETE FROM runs WHERE id=4")
    db.execute("INSERT INTO runs (name, created_at, status, config) VALUES ('next', 2.0, 'done', '{}')")
    assert db.execute("SELECT id FROM runs").fetchall() == [(5,)]  # AUTOINCREMENT: 4 is not reused


def test_a_full_disk_is_reported_as_disk_full_and_what_was_recorded_is_kept(tmp_path):
    """SQLite's own "database or disk is full" (SQLITE_FULL), reached by capping the file's pages at
    what it holds now (PRAGMA max_page_count), as a full disk caps it."""
    store = RunStore(tmp_path)
    run_id = store.create_run({"epochs": 1}, name="full", model="lenet", dataset="shapes")
    store.log_metrics(run_id, 1, 0.5, {"train_loss": 1.0})
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(ConfigError, match=r"^disk full: the run store .*runs\.sqlite could not be written "
                                          r"\(database or disk is full\); what it recorded before is kept"):
        store.log_metrics(run_id, 2, 1.0, {f"metric {i}": float(i) for i in range(5000)})
    again = RunStore(tmp_path)
    assert again.get(run_id).name == "full" and again.metrics(run_id) == [
        {"step": 1, "epoch": 0.5, "name": "train_loss", "value": 1.0}]


def test_runs_show_prints_nan_and_infinite_metrics(tmp_path, capsys):
    store = RunStore(tmp_path)
    run_id = new_run(store)
    store.log_metrics(run_id, 1, 0.5, {"train_loss": float("nan"), "test_acc": 0.25})
    store.log_metrics(run_id, 2, 1.0, {"train_loss": float("inf"), "test_acc": float("-inf")})
    assert [row["value"] for row in store.metrics(run_id)] == [None, 0.25, float("inf"), float("-inf")]
    store.update(run_id, final_train_loss=float("nan"), final_test_acc=0.25)
    status, out, err = cli(capsys, "runs", "show", str(run_id), "--home", str(tmp_path))
    assert status == 0, err
    lines = out.splitlines()
    assert lines[-5:] == ["last 4 of 4 metric rows (step, epoch, name, value):",
                          "        1     0.500  train_loss       nan",
                          "        1     0.500  test_acc         0.25",
                          "        2     1.000  train_loss       inf",
                          "        2     1.000  test_acc         -inf"]
    assert "  final_test_acc     0.25" in lines and not any("final_train_loss" in line for line in lines)
    status, out, err = cli(capsys, "runs", "--home", str(tmp_path))
    assert status == 0 and err == ""

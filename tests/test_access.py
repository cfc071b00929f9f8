"""Ownership and roles (cnnlab.access) through the CLI: every mutating verb refuses another user's run or
sweep with one line and exit status 2; the owner and a teacher may. Real run store, the CLI in-process."""

import json
import os
import pwd
import sqlite3

import pytest

from cnnlab.access import Actor
from cnnlab.errors import ConfigError
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.sweep.records import create_group
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.status import Status
from cnnlab.usernames import MAX_USER_NAME
from tests.test_store_migrations import OLD_SCHEMAS

LENET = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1, limit_train=64, limit_test=32,
                  device="cpu")


@pytest.fixture
def teacher_class(tmp_path, monkeypatch):
    path = tmp_path / "class.toml"
    path.write_text('teachers = ["prof"]\n')
    monkeypatch.setenv("CNNLAB_CLASS_CONFIG", str(path))


def alices(home) -> tuple[int, int, int]:
    """A queued run, an ended run and a queued sweep (two trials), all of alice."""
    store = RunStore(home)
    queued = store.create_run(LENET.to_dict(), name="queued", model="lenet", dataset="shapes", owner="alice")
    ended = store.create_run(LENET.to_dict(), name="ended", model="lenet", dataset="shapes", owner="alice")
    store.finish(ended, Status.DONE)
    sweep = store.create_sweep("s", {"varied": []}, None, owner="alice")
    create_group(store, [LENET, LENET], sweep_id=sweep, owner="alice")
    return queued, ended, sweep


def verbs(queued: int, ended: int, sweep: int) -> list[list[str]]:
    return [["runs", "cancel", str(queued)], ["runs", "cancel", f"sweep:{sweep}"],
            ["runs", "delete", str(ended)], ["train", "--run-id", str(queued)]]


def test_every_mutating_verb_refuses_another_users_run_in_one_line(cli, tmp_path):
    queued, ended, sweep = alices(tmp_path)
    before = sqlite3.connect(tmp_path / "runs.sqlite").execute("SELECT * FROM runs").fetchall()
    for args in verbs(queued, ended, sweep):
        status, out, err = cli("bob", *args)
        assert status == 2, (args, out, err)
        what = f"sweep {sweep}" if args[-1].startswith("sweep:") else f"run {args[-1]}"
        verb = {"cancel": "cancel", "delete": "delete", "--run-id": "train"}[args[1]]
        assert err == (f"cnnlab: error: {what} belongs to alice: bob may not {verb} it "
                       "(only its owner or a teacher may)\n"), args
    assert sqlite3.connect(tmp_path / "runs.sqlite").execute("SELECT * FROM runs").fetchall() == before


def test_the_owner_may_cancel_and_delete(cli, tmp_path):
    queued, ended, sweep = alices(tmp_path)
    assert cli("alice", "runs", "cancel", str(queued))[:2] == (0, f"run {queued}: cancel requested\n")
    assert cli("alice", "runs", "cancel", f"sweep:{sweep}")[:2] == (0, f"sweep {sweep}: cancel requested\n")
    assert cli("alice", "runs", "delete", str(ended))[:2] == (0, f"run {ended} deleted\n")
    runs = {run.id: run.status for run in RunStore(tmp_path).list_runs()}
    assert runs == {queued: "cancelled", 3: "cancelled", 4: "cancelled"}


@pytest.mark.usefixtures("teacher_class")
def test_a_teacher_may_act_on_every_run_and_a_student_still_may_not(cli, tmp_path):
    queued, ended, sweep = alices(tmp_path)
    assert cli("carol", "runs", "delete", str(ended))[0] == 2
    assert cli("prof", "runs", "cancel", str(queued))[0] == 0
    assert cli("prof", "runs", "cancel", f"sweep:{sweep}")[0] == 0
    assert cli("prof", "runs", "delete", str(ended))[0] == 0
    assert {run.id: run.status for run in RunStore(tmp_path).list_runs()} == {
        queued: "cancelled", 3: "cancelled", 4: "cancelled"}


def test_runs_record_their_owner_and_the_json_listing_shows_it(cli, tmp_path):
    status, _, err = cli("dana", "train", "lenet", "--dataset", "shapes", "--limit-train", "32",
                         "--limit-test", "16", "--epochs", "1", "--batch-size", "32", "--device", "cpu",
                         "--speed", "fixed")
    assert status == 0, err
    status, out, _ = cli("erin", "runs", "--format", "json")
    assert [(run["id"], run["owner"]) for run in json.loads(out)] == [(1, "dana")]
    assert json.loads(RunStore(tmp_path).export(1, "json"))["run"]["owner"] == "dana"


def test_without_cnnlab_user_the_operating_system_user_acts(tmp_path, monkeypatch):
    for name in ("CNNLAB_USER", "LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    store = RunStore(tmp_path)
    run_id = store.create_run({}, name="mine", model="lenet", dataset="shapes")
    assert store.get(run_id).owner == pwd.getpwuid(os.getuid()).pw_name


@pytest.mark.parametrize("name", ["x" * (MAX_USER_NAME + 1), "", "bob smith", "<b>bob</b>", "-rf",
                                  "bob\nroot", "ｂｏｂ"])
def test_a_hostile_user_name_is_refused_in_one_line(cli, tmp_path, name):
    status, out, err = cli(name, "train", "lenet", "--epochs", "1", "--device", "cpu")
    assert status == 2 and out == "" and RunStore(tmp_path).list_runs() == []
    assert err == (f"cnnlab: error: CNNLAB_USER is not a valid user name: use 1-{MAX_USER_NAME} letters, "
                   f"digits or . _ @ + - (got {len(name)} characters)\n")


def test_the_store_checks_the_actor_itself(tmp_path):
    """The rule lives in the store: the Python API refuses too, whatever page or verb calls it."""
    store = RunStore(tmp_path)
    run_id = store.create_run({}, name="a", model="lenet", dataset="shapes", owner="alice")
    with pytest.raises(ConfigError, match="run 1 belongs to alice: bob may not cancel it"):
        store.request_cancel(run_id, Actor("bob"))
    assert store.request_cancel(run_id, Actor("prof", "teacher")).status == "cancelled"
    with pytest.raises(ConfigError, match="run 1 belongs to alice: bob may not delete it"):
        store.delete(run_id, Actor("bob"))
    store.delete(run_id, Actor("alice"))
    assert store.list_runs() == []


def test_runs_and_sweeps_of_an_older_store_belong_to_its_user(tmp_path, monkeypatch):
    monkeypatch.setenv("LOGNAME", "olduser")
    db = sqlite3.connect(tmp_path / "runs.sqlite", isolation_level=None)
    version, ddl = OLD_SCHEMAS["8e4297c"]  # the schema as it was just before owners
    for statement in ddl:
        db.execute(statement)
    db.execute("INSERT INTO runs (name, created_at, status, config) VALUES ('old', 1.0, 'done', '{}')")
    db.execute("INSERT INTO sweeps (name, created_at, spec) VALUES ('old sweep', 1.0, '{}')")
    db.execute(f"PRAGMA user_version={version}")
    db.close()
    store = RunStore(tmp_path)
    assert (store.get(1).owner, store.get_sweep(1).owner) == ("olduser", "olduser")

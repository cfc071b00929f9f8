"""Runs a teacher pins for the class (`cnnlab runs pin ID`, RunStore.pin_for_class): only a teacher may,
a student is refused in one line (exit status 2) and nothing changes; a pinned run reads as pinned for
every user. Real run store, the CLI in-process."""

import json
import sqlite3

import pytest

from cnnlab.access import Actor
from cnnlab.errors import ConfigError
from cnnlab.runs.store import RunStore


@pytest.fixture
def cli(cli, tmp_path, monkeypatch):
    """The shared `cli` in a class whose teacher is prof and whose students see every run."""
    path = tmp_path / "class.toml"
    path.write_text('teachers = ["prof"]\nstudents_see = "all"\n')
    monkeypatch.setenv("CNNLAB_CLASS_CONFIG", str(path))
    return cli


def two_runs(home) -> None:
    store = RunStore(home)
    for owner in ("alice", "bob"):
        store.create_run({"epochs": 1}, name=f"{owner}'s", model="lenet", dataset="shapes", owner=owner)


@pytest.mark.parametrize("verb", ["pin", "unpin"])
def test_a_students_pin_is_refused_in_one_line_and_changes_nothing(cli, tmp_path, verb):
    two_runs(tmp_path)
    before = sqlite3.connect(tmp_path / "runs.sqlite").execute("SELECT * FROM runs").fetchall()
    assert cli("alice", "runs", verb, "1") == (
        2, "", "cnnlab: error: only a teacher may pin or unpin run 1 for the class; alice is a student\n")
    assert sqlite3.connect(tmp_path / "runs.sqlite").execute("SELECT * FROM runs").fetchall() == before


@pytest.mark.usefixtures("no_stray_workers")  # listing runs dispatches the queued ones: a worker starts
def test_a_teachers_pin_shows_for_every_user_until_unpinned(cli, tmp_path):
    two_runs(tmp_path)
    assert cli("prof", "runs", "pin", "2") == (0, "run 2 pinned for the class\n", "")
    for user in ("alice", "bob", "prof"):
        status, out, _ = cli(user, "runs", "--format", "json")
        assert [(run["id"], run["class_pinned"]) for run in json.loads(out)] == [(2, True), (1, False)]
    assert "class_pinned       True" in cli("alice", "runs", "show", "2")[1]
    assert cli("prof", "runs", "unpin", "2") == (0, "run 2 unpinned\n", "")
    assert [run.class_pinned for run in RunStore(tmp_path).list_runs()] == [False, False]


def test_pinning_a_missing_run_names_it(cli, tmp_path):
    two_runs(tmp_path)
    assert cli("prof", "runs", "pin", "9") == (2, "", f"cnnlab: error: no run with id 9 in {tmp_path}\n")


def test_the_store_refuses_a_student_actor_whatever_the_caller(tmp_path):
    two_runs(tmp_path)
    store = RunStore(tmp_path)
    with pytest.raises(ConfigError, match="^only a teacher may pin or unpin run 1 for the class; bob is a "
                                          "student$"):
        store.pin_for_class(1, actor=Actor("bob"))
    assert store.pin_for_class(1, actor=Actor("prof", "teacher")).class_pinned is True
    assert RunStore(tmp_path).get(1).class_pinned is True  # recorded, not only returned

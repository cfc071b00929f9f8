"""A run's status line, from a real run store, without Streamlit."""

import pytest

from cnnlab.reports.eta import Countdown
from cnnlab.reports.status_line import preparation, progress
from cnnlab.runs import service
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path / "home"))
    return RunStore()


def lenet_run(epochs: int) -> int:
    return service.create_run(RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=epochs))


def test_a_finished_run_reads_done_with_its_epochs_and_accuracy(store):
    run_id = lenet_run(2)
    store.log_metrics(run_id, 4, 2.0, {"train_loss": 0.4, "test_acc": 0.907})
    store.finish(run_id, "done", final_test_acc=0.907, epochs_done=2.0)
    run = store.get(run_id)
    assert progress(run, store.metrics_frame([run_id]), [run], 0.0, Countdown()) == \
        (1.0, "done · epoch 2.00 of 2 · test acc 0.907")


def test_a_queued_run_names_the_runs_it_waits_behind(store, monkeypatch):
    monkeypatch.setenv("CNNLAB_MAX_RUNS_PER_DEVICE", "1")
    first, second = lenet_run(3), lenet_run(3)
    runs = store.list_runs()
    queued = next(r for r in runs if r.id == second)
    assert progress(queued, store.metrics_frame([second]), runs, 0.0, Countdown()) == \
        (0.0, f"queued · waiting behind #{first} · epoch 0.00 of 3")


def test_what_a_run_does_before_its_first_point_follows_its_speed_choice():
    assert preparation({"speed": "auto"}).startswith("loading the data, timing eager, channels-last and")
    assert preparation({"speed": "fixed", "compile": True}) == "loading the data, compiling the model"
    assert preparation({"speed": "fixed"}) == "loading the data"

"""The runs table (one definition for the Compare page and `cnnlab runs`), from a real run store."""

import re

import pytest

from cnnlab.reports.runs_table import MISSING, best_test_acc, runs_frame, table_view
from cnnlab.runs import service
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path / "home"))
    return RunStore()


def test_one_row_per_run_with_the_best_test_accuracy_it_reported(store):
    model = fit_input(model_config("vgg11", width_divisor=4), "shapes", 32)
    done = service.create_run(RunConfig(model=model, dataset="shapes", resize=32, epochs=2, optimizer="adam",
                                       lr=0.003, batch_size=16))
    for step, acc in ((1, 0.61), (2, 0.74), (3, 0.70)):
        store.log_metrics(done, step, step / 2, {"test_acc": acc, "train_loss": 1.0})
    store.finish(done, "done", final_test_acc=0.70, epochs_done=2.0)
    queued = service.create_run(RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1))
    runs = store.list_runs()
    table = runs_frame(runs, best_test_acc(store.metrics_frame([r.id for r in runs])))
    rows = {row["id"]: row for row in table.to_dict("records")}
    assert (rows[done]["best test acc"], rows[done]["optimizer"], rows[done]["lr"], rows[done]["batch size"],
            rows[done]["width ÷"], rows[done]["epochs"], rows[done]["status"]) == \
        (0.74, "adam", 0.003, 16, 4, 2.0, "done")  # the best point (0.74), not the last (0.70)
    view = {row["id"]: row for row in table_view(table).to_dict("records")}
    assert (view[done]["best test acc"], view[done]["width ÷"], view[done]["epochs"]) == ("0.740", "4", "2")
    assert (view[queued]["best test acc"], view[queued]["width ÷"], view[queued]["status"]) == \
        (MISSING, MISSING, "queued")
    assert list(table.columns[:6]) == ["id", "name", "status", "best test acc", "weights", "model"]


def test_cnnlab_runs_prints_the_compare_tables_columns_with_its_cells_as_text(store, capsys):
    from cnnlab.cli import main

    config = {"optimizer": "adam", "lr": 0.003, "batch_size": 16, "epochs": 2,
              "model": {"arch": {"width_divisor": 4}}}
    run_id = store.create_run(config, name="small vgg", model="vgg11", dataset="shapes", params=12345,
                              macs=678900, owner="alice")
    for step, acc in ((1, 0.61), (2, 0.74), (3, 0.70)):
        store.log_metrics(run_id, step, step / 2, {"test_acc": acc, "train_loss": 1.0})
    store.finish(run_id, "done", final_test_acc=0.70, epochs_done=2.0, examples_per_sec=1234.5)
    assert main(["runs"]) == 0
    header, rule, row = capsys.readouterr().out.splitlines()
    assert re.split(r" {2,}", header) == [
        "id", "name", "status", "best test acc", "weights", "model", "dataset", "optimizer", "lr",
        "batch size", "width ÷", "epochs", "params", "macs", "examples/s", "owner", "class pin", "source",
        "peak memory (MiB)", "memory estimate (MiB)", "first point (s)", "duration (s)"]
    assert rule == "-" * len(header)
    # every cell but the empty class pin, in order; never started by a worker, it has no timings
    assert re.split(r" {2,}", row.strip()) == [
        str(run_id), "small vgg", "done", "0.740", "no", "vgg11", "shapes", "adam", "0.003", "16", "4", "2",
        "12345", "678900", "1,234", "alice", "cnnlab", MISSING, MISSING, MISSING, MISSING]


def test_the_highest_value_of_a_metric_per_run_leaves_out_runs_without_it(store):
    ids = [store.create_run({}, name=f"r{i}", model="lenet", dataset="shapes") for i in range(3)]
    for step, acc in ((1, 0.2), (2, 0.9), (3, 0.5)):
        store.log_metrics(ids[0], step, step, {"test_acc": acc})
    store.log_metrics(ids[1], 1, 1, {"test_acc": float("nan"), "train_loss": 3.0})  # NaN is kept as NULL
    store.log_metrics(ids[2], 1, 1, {"train_loss": 2.0})
    assert store.highest("test_acc") == {ids[0]: 0.9}
    assert store.highest("train_loss") == {ids[1]: 3.0, ids[2]: 2.0}

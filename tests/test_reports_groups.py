"""The runs of a group that did not train as their seeds did, from a real run store; the curves a band
offers."""

import pandas as pd

from cnnlab.reports.groups import band_curves, outliers
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input


def test_a_diverged_run_and_one_at_chance_are_named_the_others_not(tmp_path):
    store = RunStore(tmp_path)
    # 10 classes: chance is 0.1
    config = RunConfig(model=fit_input(model_config("lenet"), "mnist"), dataset="mnist", epochs=1)
    ids = [store.create_run(config.to_dict(), name=f"seed {i}", model="lenet", dataset="mnist")
           for i in range(4)]
    store.finish(ids[0], "done", final_test_acc=0.91, epochs_done=1.0)
    store.finish(ids[1], "done", final_test_acc=0.149, epochs_done=1.0)  # below 1.5 × chance (0.15)
    store.finish(ids[2], "done", final_test_acc=0.151, epochs_done=1.0)  # just above it
    store.finish(ids[3], "diverged", epochs_done=0.4)
    assert outliers(store.list_runs()) == {
        ids[1]: f"run #{ids[1]} stayed at chance (final test acc 0.149, chance 0.100)",
        ids[3]: f"run #{ids[3]} diverged"}


def test_a_band_offers_learning_curves_and_external_runs_own_metrics_not_a_runs_bookkeeping():
    own = [(1, name) for name in ("train_loss", "train_acc", "lr", "seconds_left", "examples_per_sec",
                                   "test_acc")]
    theirs = [(5, "Loss/train"), (5, "lr"), (5, "accuracy")]
    frame = pd.DataFrame([(run_id, 1, 1.0, name, 0.5) for run_id, name in own + theirs],
                         columns=["run_id", "step", "epoch", "name", "value"])
    assert band_curves(frame, []) == ["test_acc", "train_acc", "train_loss"]
    # An external run's names are its own: its "lr" is a curve it chose to log.
    assert band_curves(frame, [5]) == ["test_acc", "train_acc", "train_loss", "Loss/train", "accuracy", "lr"]
    with_ema = pd.concat([frame, frame.head(1).assign(name="ema_test_acc")])
    assert band_curves(with_ema, []) == ["test_acc", "train_acc", "train_loss", "ema_test_acc"]

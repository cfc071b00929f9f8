"""Runs cnnlab did not train (cnnlab.track) on the Train and Compare pages, against a real run store."""

import io
import json

import numpy as np
import pandas as pd
import pytest

import cnnlab
from cnnlab.runs.store import RunStore
from dashboard.run_exports import selected_metrics_csv
from tests.dashboard.conftest import unescape

# A config that is not a RunConfig at all: a text model, an lr that is text, an optimiser that is a dict.
ODD_CONFIG = {"model": "my net", "lr": "fast", "optimizer": {"name": "sgd"}, "batch_size": 64,
              "epochs": "ten", "device": ["cuda", 0]}
# group -> its runs' test accuracy at epochs 1, 2, 3 (the middle run of 0.1 stops after 2)
GROUPS = {"0.1": [[0.5, 0.7, 0.8], [0.6, 0.8], [0.4, 0.75, 0.9]],
          "0.01": [[0.2, 0.3, 0.35], [0.3, 0.5, 0.45]]}


def charts(app, title_part: str) -> list[dict]:
    return [json.loads(c.proto.spec) for c in app.get("plotly_chart")
            if title_part in json.loads(c.proto.spec)["layout"]["title"]["text"]]


def log_groups() -> tuple[dict[str, list[int]], pd.DataFrame]:
    """The GROUPS as finished tracked runs; their ids per group and what was logged, as a table."""
    ids: dict[str, list[int]] = {}
    logged = []
    for group, curves in GROUPS.items():
        for k, curve in enumerate(curves):
            with cnnlab.track.start(f"seed {k}", config={**ODD_CONFIG, "seed": k}, group=group) as run:
                for epoch, acc in enumerate(curve, 1):
                    run.log(epoch * 10, epoch=epoch, test_acc=acc, train_loss=1 - acc)
                    logged.append({"group": group, "epoch": epoch, "test_acc": acc})
            ids.setdefault(group, []).append(run.id)
    return ids, pd.DataFrame(logged)


def test_compare_marks_external_runs_and_draws_their_group_bands_as_a_pandas_groupby(app):
    ids, logged = log_groups()
    app.switch_page("views/compare.py").run()
    assert not app.exception
    table = next(df.value for df in app.dataframe if "best test acc" in df.value.columns).set_index("id")
    first = ids["0.1"][0]
    assert table.loc[first, ["source", "model", "optimizer", "lr", "batch size", "width ÷"]].tolist() == [
        "track", "my net", None, None, 64, "—"]
    assert set(table["source"]) == {"track"}
    bands = charts(app, "Test accuracy: groups as mean ± std")
    (band,) = bands
    expected = logged.groupby(["group", "epoch"])["test_acc"].agg(["mean", "std"]).fillna(0)
    traces = {t["name"]: t for t in band["data"]}
    for group, members in ids.items():
        label = f"group {members[0]}: {group} ×{len(members)}"
        mean, fill = traces[f"{label} (mean of {len(members)})"], traces[f"{label}: mean ± std"]
        stats = expected.loc[group]
        assert mean["x"] == [1, 2, 3] and mean["y"] == pytest.approx(stats["mean"].tolist())
        upper = (stats["mean"] + stats["std"]).clip(upper=1.0).tolist()
        lower = (stats["mean"] - stats["std"]).clip(lower=0.0).tolist()
        assert fill["y"] == pytest.approx(upper + lower[::-1])
    # The overlay and the CSV export hold the external runs' curves like any other.
    overlay = charts(app, "Selected runs on shared axes")[0]
    shown = sorted(app.multiselect(key="compare_runs").value)
    assert len([t for t in overlay["data"] if t["name"].endswith("test acc")]) == len(shown)
    csv = pd.read_csv(io.StringIO(selected_metrics_csv(RunStore(), RunStore().list_runs())))
    assert (csv[csv["name"] == "test_acc"].groupby("epoch")["value"].mean().tolist()
            == pytest.approx(logged.groupby("epoch")["test_acc"].mean().tolist()))


def test_compare_offers_an_external_runs_own_metric_names_for_bands(app):
    for seed in (0, 1):
        with cnnlab.track.start(f"s{seed}", group="g") as run:
            run.log(1, epoch=1, **{"Loss/train": 1.0 + seed})
            run.log(2, epoch=2, **{"Loss/train": 0.5 + seed})
    app.switch_page("views/compare.py").run()
    assert not app.exception
    radio = app.radio(key="band_metric")
    assert unescape(radio.options[-1]) == "Loss/train"  # shown as text
    radio.set_value("Loss/train").run()
    (band,) = charts(app, "Loss/train: groups as mean ± std")
    assert band["data"][1]["y"] == pytest.approx([1.5, 1.0])


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_the_train_page_watches_an_external_run_live_without_a_stop_button(app):
    run = cnnlab.track.start("my loop", config=ODD_CONFIG)
    try:
        run.log(3, epoch=0.25, train_loss=2.0, train_acc=0.1)
        app.switch_page("views/train.py").run()
        assert not app.exception and app.session_state["watch_run"] == run.id
        text = unescape(app.get("progress")[0].proto.text)
        assert text == "running · epoch 0.25 · external (track)"
        assert [b for b in app.button if b.key == f"stop_{run.id}"] == []
        run.log(4, epoch=0.5, train_loss=1.5, train_acc=0.2)
        app.run()
        (live,) = charts(app, f"Run {run.id}: my loop")
        loss = next(t for t in live["data"] if t["name"] == "train loss")
        assert (loss["x"], loss["y"]) == ([0.25, 0.5], [2.0, 1.5])
    finally:
        run.finish()


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_imported_tensorboard_seeds_are_drawn_as_bands_equal_to_a_pandas_groupby(app, tmp_path):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    from cnnlab.tbimport import import_logdir

    written = []
    for lr in (0.1, 0.01):
        for seed in range(3):
            with SummaryWriter(str(tmp_path / "runs" / f"lr={lr}_seed={seed}")) as writer:
                for step in range(4):
                    value = min(1.0, step * lr * 3 + seed / 20)
                    writer.add_scalar("test_acc", value, step)
                    written.append({"group": str(lr), "step": step, "value": float(np.float32(value))})
    report = import_logdir(tmp_path / "runs", r"lr=([^_]+)")
    assert len(report.imported) == 6
    app.switch_page("views/compare.py").run()
    assert not app.exception
    assert app.multiselect(key="band_groups").value != []
    (band,) = charts(app, "Test accuracy: groups as mean ± std")
    expected = pd.DataFrame(written).groupby(["group", "step"])["value"].agg(["mean", "std"])
    traces = {t["name"]: t for t in band["data"]}
    for group in ("0.1", "0.01"):
        (name,) = [n for n in traces if f": {group} ×3 (mean of 3)" in n]
        assert traces[name]["x"] == [0, 1, 2, 3]
        assert traces[name]["y"] == pytest.approx(expected.loc[group, "mean"].tolist())
        fill = traces[name.replace(" (mean of 3)", ": mean ± std")]
        upper = (expected.loc[group, "mean"] + expected.loc[group, "std"]).clip(upper=1.0).tolist()
        assert fill["y"][:4] == pytest.approx(upper)

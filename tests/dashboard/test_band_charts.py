"""Group bands and sweep figures: the numbers drawn equal an independent computation."""

import math
import statistics

import pandas as pd
import pytest

from cnnlab.reports.groups import final_summary, group_bands
from dashboard.compare.band_charts import band_figure, parallel_figure, param_scatter, trial_curves

# Three repeats of one config (run 3 stopped early after epoch 2) and a single run 9.
VALUES = {1: [0.50, 0.70, 0.80], 2: [0.60, 0.75, 0.90], 3: [0.40, 0.65], 9: [0.30, 0.35, 0.45]}


def metrics() -> pd.DataFrame:
    rows = [(run_id, 10 * epoch, float(epoch), name, value if name == "test_acc" else 2 - value)
            for run_id, values in VALUES.items() for epoch, value in enumerate(values, 1)
            for name in ("test_acc", "train_loss")]
    return pd.DataFrame(rows, columns=["run_id", "step", "epoch", "name", "value"])


def test_mean_and_std_per_epoch_equal_pandas_and_shorter_runs_count_only_where_they_reported():
    frame = metrics()
    stats = group_bands(frame, [1, 2, 3], "test_acc")
    expected = (frame[(frame["name"] == "test_acc") & frame["run_id"].isin([1, 2, 3])]
                .groupby("epoch")["value"].agg(["mean", "std", "min", "max", "count"]))
    assert stats["epoch"].tolist() == [1.0, 2.0, 3.0]
    assert stats["mean"].tolist() == pytest.approx(expected["mean"].tolist())
    assert stats["std"].tolist() == pytest.approx(expected["std"].tolist())
    assert stats["n"].tolist() == [3, 3, 2]
    # By hand: epoch 3 has runs 1 and 2 only.
    assert stats["mean"].iloc[2] == pytest.approx(0.85)
    assert stats["std"].iloc[2] == pytest.approx(statistics.stdev([0.80, 0.90]))
    assert stats["std"].iloc[0] == pytest.approx(statistics.stdev([0.50, 0.60, 0.40]))


def test_each_seed_is_a_thin_line_under_the_groups_mean():
    fig = band_figure(metrics(), {"lenet ×3": [1, 2, 3]}, {}, "test_acc", "seeds")
    *seeds, mean = fig.data
    assert [list(trace.y) for trace in seeds] == [VALUES[1], VALUES[2], VALUES[3]]
    assert [trace.showlegend for trace in seeds] == [True, False, False]
    assert list(mean.y) == pytest.approx([0.5, 0.7, 0.85])  # by hand; epoch 3 has runs 1 and 2 only


@pytest.mark.parametrize("spread", ["std", "minmax"])
def test_band_figure_draws_the_mean_inside_its_band_and_single_runs_beside_it(spread):
    fig = band_figure(metrics(), {"lenet ×3": [1, 2, 3]}, {9: "#9 single"}, "test_acc", spread)
    band, mean, single = fig.data
    stats = group_bands(metrics(), [1, 2, 3], "test_acc")
    if spread == "std":
        upper, lower = stats["mean"] + stats["std"], stats["mean"] - stats["std"]
    else:
        upper, lower = stats["max"], stats["min"]
    assert list(band.x) == [1.0, 2.0, 3.0, 3.0, 2.0, 1.0] and band.fill == "toself"
    assert list(band.y) == pytest.approx(upper.tolist() + lower.tolist()[::-1])
    assert list(mean.y) == pytest.approx([0.5, 0.70, 0.85]) and list(mean.customdata) == [3, 3, 2]
    assert mean.name == "lenet ×3 (mean of 3)" and single.name == "#9 single"
    assert list(single.y) == VALUES[9] and single.line.dash == "dot"


def test_a_point_with_one_run_has_no_width():
    fig = band_figure(metrics(), {"pair": [3, 9]}, {}, "test_acc", "std")
    band = fig.data[0]
    # Epoch 3: only run 9 reported, so the band closes on the mean there.
    assert band.y[2] == band.y[3] == pytest.approx(0.45)


def test_final_summary_is_mean_and_sample_std_per_group():
    runs = pd.DataFrame({"group": ["a", "a", "a", "b"], "final test acc": [0.8, 0.9, 0.7, 0.5]})
    table = final_summary(runs)
    assert table["group"].tolist() == ["a", "b"] and table["runs"].tolist() == [3, 1]
    assert table["mean"].tolist() == pytest.approx([0.8, 0.5])
    assert table["std"].iloc[0] == pytest.approx(statistics.stdev([0.8, 0.9, 0.7]))
    assert math.isnan(table["std"].iloc[1])


def test_parallel_coordinates_and_scatter_axes():
    trials = pd.DataFrame({"lr": [0.001, 0.01, 0.1], "optimizer": ["sgd", "adam", "sgd"],
                           "final test acc": [0.5, 0.9, None], "label": ["#1", "#2", "#3"]})
    fig = parallel_figure(trials, ["lr", "optimizer"])
    lr, optimizer, acc = fig.data[0].dimensions
    assert lr.label == "lr (log10)" and list(lr.values) == pytest.approx([-3, -2])
    assert list(optimizer.ticktext) == ["adam", "sgd"] and list(optimizer.values) == [1, 0]
    assert list(acc.values) == [0.5, 0.9], "a trial without a final accuracy is left out"
    scatter = param_scatter(trials, "lr")
    assert scatter.layout.xaxis.type == "log" and list(scatter.data[0].x) == [0.001, 0.01]
    assert param_scatter(trials, "optimizer").data[0].x == ("sgd", "adam")


def test_an_accuracy_band_stays_within_zero_and_one_and_a_loss_band_above_zero():
    frame = pd.DataFrame([(1, 1, 1.0, "test_acc", 0.95), (2, 1, 1.0, "test_acc", 0.10),
                          (1, 1, 1.0, "train_loss", 3.0), (2, 1, 1.0, "train_loss", 0.1)],
                         columns=["run_id", "step", "epoch", "name", "value"])
    std = statistics.stdev([0.95, 0.10])
    band = band_figure(frame, {"pair": [1, 2]}, {}, "test_acc", "std").data[0]
    assert list(band.y) == pytest.approx([1.0, 0.0]) and 0.525 + std > 1 and 0.525 - std < 0
    loss = band_figure(frame, {"pair": [1, 2]}, {}, "train_loss", "std").data[0]
    spread = statistics.stdev([3.0, 0.1])
    assert 1.55 - spread < 0  # mean − std would be a negative loss: the band stops at 0
    assert list(loss.y) == pytest.approx([1.55 + spread, 0.0])


def test_a_loss_band_can_be_drawn_on_a_log_axis():
    metrics = pd.DataFrame({"run_id": [1, 2], "step": [1, 1], "epoch": [1.0, 1.0],
                            "name": ["train_loss", "train_loss"], "value": [0.5, 0.1]})
    log = band_figure(metrics, {"g": [1, 2]}, {}, metric="train_loss", log=True)
    assert log.layout.yaxis.type == "log" and log.layout.yaxis.title.text == "train loss (log)"
    assert band_figure(metrics, {"g": [1, 2]}, {}, metric="train_loss").layout.yaxis.type == "linear"


def test_accuracy_axes_read_in_percent_and_legends_sit_below_the_title():
    metrics = pd.DataFrame({"run_id": [1, 2], "step": [1, 1], "epoch": [1.0, 1.0],
                            "name": ["test_acc", "test_acc"], "value": [0.5, 0.7]})
    for fig in (band_figure(metrics, {"g": [1, 2]}, {}, metric="test_acc"),
                trial_curves(metrics, {1: "a", 2: "b"})):
        assert (fig.layout.yaxis.tickformat, list(fig.layout.yaxis.range)) == (".0%", [0, 1.02])
        assert fig.layout.legend.y < 0 and fig.layout.legend.yanchor == "top"
        assert fig.layout.margin.t == 50  # room for the one-line title only: no blank band above the plot

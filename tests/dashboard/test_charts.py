"""The pure Plotly figure builders, fed real analyses and small metric tables (no Streamlit)."""

import numpy as np
import pandas as pd

from dashboard import charts


def title(fig) -> str:
    return fig.layout.title.text


def metrics_table(runs: dict[int, int]) -> pd.DataFrame:
    """Long metrics for each run id -> number of epochs: loss, acc and test acc per epoch."""
    rows = []
    for run_id, epochs in runs.items():
        for epoch in range(1, epochs + 1):
            values = (("train_loss", 1 / epoch), ("train_acc", 0.5), ("test_acc", 0.4), ("lr", 0.1))
            for name, value in values:
                rows.append({"run_id": run_id, "step": epoch, "epoch": float(epoch), "name": name,
                             "value": value})
    return pd.DataFrame(rows, columns=["run_id", "step", "epoch", "name", "value"])


def test_curves_figure_overlays_runs_and_keeps_the_view_between_updates():
    fig = charts.curves_figure(metrics_table({1: 3, 2: 2}), {1: "a", 2: "b"})
    assert [t.name for t in fig.data] == ["a: train loss", "a: train acc", "a: test acc",
                                          "b: train loss", "b: train acc", "b: test acc", "a", "b"]
    assert [len(t.x) for t in fig.data] == [3, 3, 3, 2, 2, 2, 1, 1]
    # One legend entry per run, in the run's colour; the curves' line style names the metric.
    assert [t.name for t in fig.data if t.showlegend is not False] == ["a", "b"]
    assert [t.line.color for t in fig.data[-2:]] == [fig.data[0].line.color, fig.data[3].line.color]
    assert [t.line.dash for t in fig.data[:3]] == ["solid", "dash", "dot"]
    assert fig.layout.legend.title.text.startswith("solid: train loss · dashed: train acc · dotted: test acc")
    assert fig.layout.legend.y < 0 and fig.layout.legend.yanchor == "top"  # below, never over the title
    assert fig.layout.uirevision == "curves"
    single = charts.curves_figure(metrics_table({7: 1}), {7: "only"})
    assert [t.name for t in single.data] == ["train loss", "train acc", "test acc"]


def test_a_title_of_two_lines_gets_a_line_more_of_top_margin():
    one = charts.curves_figure(metrics_table({1: 1}), {1: "a"}, title="Run 1: a")
    two = charts.curves_figure(metrics_table({1: 1}), {1: "a"}, title="Run 1: lenet on mnist<br>lr=0.001")
    assert (one.layout.margin.t, two.layout.margin.t) == (50, 70)


def test_curves_figure_of_a_run_without_metrics_is_empty():
    assert charts.curves_figure(metrics_table({}), {5: "new"}).data == ()


def test_small_multiples_has_one_panel_per_run():
    fig = charts.small_multiples(metrics_table({1: 2, 2: 2, 3: 2, 4: 2}), {1: "a", 2: "b", 3: "c", 4: "d"})
    assert [a.text for a in fig.layout.annotations] == ["a", "b", "c", "d"]
    assert len(fig.data) == 12 and sum(t.showlegend is not False for t in fig.data) == 3


def test_bubble_figure_plots_accuracy_against_size():
    runs = pd.DataFrame({"id": [1, 2, 3], "name": ["small", "big", "unfinished"],
                         "params": [1_000, 1_000_000, 50],
                         "macs": [10, 20, 30], "best test acc": [0.5, 0.9, None],
                         "examples/s": [100.0, 10.0, None]})
    fig = charts.bubble_figure(runs, "params")
    (trace,) = fig.data
    assert list(trace.x) == [1_000, 1_000_000] and list(trace.text) == ["#1", "#2"]
    assert trace.marker.size[0] > trace.marker.size[1]  # faster runs are bigger bubbles
    assert fig.layout.xaxis.type == "log"


def test_curves_put_loss_and_accuracy_on_separate_axes():
    fig = charts.curves_figure(metrics_table({1: 3}), {1: "a"})
    axes = {t.name: t.yaxis for t in fig.data}
    assert axes == {"train loss": "y", "train acc": "y2", "test acc": "y2"}
    assert list(fig.layout.yaxis2.range) == [0, 1.02] and fig.layout.yaxis.title.text == "loss"
    assert fig.layout.xaxis.matches == "x2" or fig.layout.xaxis2.matches == "x"  # one epoch axis


def test_small_multiples_keep_the_legend_below_the_panels():
    fig = charts.small_multiples(metrics_table({1: 2, 2: 2}), {1: "a", 2: "b"})
    assert fig.layout.legend.y < 0 and fig.layout.legend.yanchor == "top"
    assert {t.yaxis for t in fig.data if t.name == "train loss"} == {"y", "y2"}
    assert {t.yaxis for t in fig.data if t.name == "test acc"} == {"y3", "y4"}


def test_bubble_labels_are_not_clipped():
    runs = pd.DataFrame({"id": [1], "name": ["a"], "params": [10], "macs": [1], "best test acc": [0.9],
                         "examples/s": [1.0]})
    fig = charts.bubble_figure(runs, "params")
    assert fig.data[0].cliponaxis is False and fig.layout.yaxis.range[1] > 1



def test_accuracy_ticks_read_as_percentages_and_the_loss_axis_can_be_log_in_both_views():
    table = metrics_table({1: 3, 2: 3})
    overlay = charts.curves_figure(table, {1: "a", 2: "b"}, log_loss=True)
    multiples = charts.small_multiples(table, {1: "a", 2: "b"}, log_loss=True)
    assert overlay.layout.yaxis.type == "log" and overlay.layout.yaxis.title.text == "loss (log)"
    # side by side: every loss panel (y, y2) log too; accuracy panels (y3, y4) as percentages
    assert [multiples.layout[a].type for a in ("yaxis", "yaxis2")] == ["log", "log"]
    assert [multiples.layout[a].tickformat for a in ("yaxis3", "yaxis4")] == [".0%", ".0%"]
    assert overlay.layout.yaxis2.tickformat == ".0%"  # "100%", not a "1" under the loss axis's "1"
    plain = charts.curves_figure(table, {1: "a"})
    assert plain.layout.yaxis.type == "linear" and plain.layout.yaxis.title.text == "loss"


def test_bubble_labels_are_run_ids_alternating_above_and_below():
    runs = pd.DataFrame({"id": [3, 1, 2], "name": ["c", "a", "b <i>x</i>"], "params": [300, 100, 200],
                         "macs": [1, 1, 1], "best test acc": [0.9, 0.8, 0.85], "examples/s": [1.0, 1.0, 1.0]})
    (trace,) = charts.bubble_figure(runs, "params").data
    assert list(trace.x) == [100, 200, 300] and list(trace.text) == ["#1", "#2", "#3"]
    assert list(trace.textposition) == ["top center", "bottom center", "top center"]
    assert trace.customdata[1] == "b &lt;i&gt;x&lt;/i&gt;"  # the name in the hover, as text


def test_a_run_of_a_million_points_is_drawn_thinned_with_its_spikes():
    n = 1_000_000
    loss = 1 / (1 + np.arange(n) / 1000)
    loss[123_457], loss[777_777] = 50.0, -1.0  # a spike and a dip far from the stretch boundaries
    frame = pd.DataFrame({"run_id": 1, "step": np.arange(n), "epoch": np.arange(n) / 1000,
                          "name": "train_loss", "value": loss})
    (trace,) = charts.curves_figure(frame, {1: "long"}).data
    # the first and last points, and each of 999 stretches of 1,001 points gives its lowest and highest
    assert len(trace.x) == 2 + 2 * 999 == 2000
    assert (trace.x[0], trace.x[-1]) == (0.0, (n - 1) / 1000)
    assert np.all(np.diff(trace.x) > 0)
    points = set(zip(trace.x, trace.y, strict=True))
    assert (123.457, 50.0) in points and (777.777, -1.0) in points
    assert len(frame) == n  # the data itself is untouched


def test_a_loss_axis_spans_at_least_half_a_unit_and_never_goes_below_zero():
    early = pd.DataFrame({"run_id": 1, "step": [1, 2, 3], "epoch": [0.1, 0.2, 0.3], "name": "train_loss",
                          "value": [2.3166, 2.3170, 2.3168]})
    fig = charts.curves_figure(early, {1: "a"})
    # centred on (2.3166 + 2.3170) / 2 = 2.3168, 0.5 wide
    assert [round(v, 4) for v in fig.layout.yaxis.range] == [2.0668, 2.5668]
    near_zero = early.assign(value=[0.02, 0.01, 0.015])
    assert list(charts.curves_figure(near_zero, {1: "a"}).layout.yaxis.range) == [0.0, 0.5]
    wide = early.assign(value=[2.3, 1.2, 0.6])
    assert charts.curves_figure(wide, {1: "a"}).layout.yaxis.range is None  # Plotly fits it
    assert charts.curves_figure(early, {1: "a"}, log_loss=True).layout.yaxis.range is None

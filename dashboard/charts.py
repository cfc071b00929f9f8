"""Plotly figure builders of runs (Train and Compare): plain data in, `go.Figure` out (no Streamlit,
testable without a browser). The figures of a model live in `cnnlab.figures`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnlab.figures.style import LAYOUT, PALETTE
from cnnlab.limits import MAX_CHART_POINTS
from dashboard.text import plot_text

CURVES = (("train_loss", "train loss", "solid"), ("train_acc", "train acc", "dash"),
          ("test_acc", "test acc", "dot"))
# Accuracy reads as a percentage, so its top tick ("100%") never reads as one more loss tick ("1")
ACCURACY_AXIS = dict(title_text="accuracy", range=[0, 1.02], tickformat=".0%")
STYLE_KEY = "solid: train loss · dashed: train acc · dotted: test acc"  # one legend entry per run
# The least a linear loss axis spans: early in a run the loss moves in its fourth digit (2.3166 to
# 2.3170), and an axis fitted to that draws noise as if it were divergence.
LOSS_MIN_SPAN = 0.5
# Under the plot, so it never covers the title at 1024 px
TITLE_LINE = 20  # px of top margin per line of a chart's title (its legend below the plot)
LEGEND_BELOW = dict(orientation="h", yanchor="top", y=-0.2, x=0)


def loss_range(values: list[float], log: bool) -> list[float] | None:
    """A linear loss axis's range: the values' own (Plotly's autorange: None) unless they span less than
    LOSS_MIN_SPAN, then that span around them, never below 0."""
    if log or not values:
        return None
    low, high = min(values), max(values)
    if high - low >= LOSS_MIN_SPAN:
        return None
    bottom = max((low + high - LOSS_MIN_SPAN) / 2, 0.0)
    return [bottom, bottom + LOSS_MIN_SPAN]


def loss_axis(log: bool, values: list[float] | None = None) -> dict:
    """The loss axis: linear (at least LOSS_MIN_SPAN wide), or log (where a falling loss keeps its
    detail)."""
    axis = dict(title_text="loss (log)" if log else "loss", type="log" if log else "linear")
    span = loss_range(values or [], log)
    return axis if span is None else axis | dict(range=span, autorange=False)


def thinned(series: pd.DataFrame, most: int = MAX_CHART_POINTS) -> pd.DataFrame:
    """`series` (one curve's rows, in order) with at most `most` rows for drawing: the first and last of
    it, and the lowest and highest value of each of `most // 2 - 1` equal stretches, in order."""
    if len(series) <= most:
        return series
    values = series["value"].to_numpy()
    stretch = -(-(len(values) - 2) // (most // 2 - 1))
    inner = np.arange(1, len(values) - 1)
    groups = pd.Series(values[1:-1], index=inner).groupby((inner - 1) // stretch)
    keep = np.unique(np.concatenate([[0, len(values) - 1], groups.idxmin().to_numpy(),
                                     groups.idxmax().to_numpy()]))
    return series.iloc[keep]


def _add_curves(fig: go.Figure, series_of: pd.DataFrame, colour: str, label: str | None, row: int,
                col: int = 1, legend: bool = True, dashes: bool = True) -> None:
    """Loss in the upper panel (row), accuracies in the lower one (row + 1)."""
    for k, (metric, name, dash) in enumerate(CURVES):
        series = thinned(series_of[series_of["name"] == metric])
        if len(series):
            fig.add_scatter(x=series["epoch"].tolist(), y=series["value"].tolist(), mode="lines+markers",
                            name=f"{label}: {name}" if label else name, showlegend=legend and not label,
                            legendgroup=label,
                            line=dict(color=colour if dashes else PALETTE[k], dash=dash), marker=dict(size=4),
                            row=row + (metric != "train_loss"), col=col)


def top_margin(title: str) -> int:
    """The top margin of a chart whose legend sits below it: room for its title's lines, no more."""
    return 30 + TITLE_LINE * (title.count("<br>") + 1)


def curves_figure(metrics: pd.DataFrame, labels: dict[int, str], title: str = "Training curves",
                  height: int = 460, log_loss: bool = False) -> go.Figure:
    """Train loss (upper panel) and train and test accuracy (lower panel, 0 to 1) against epoch for each
    run: the textbook's animator, with each quantity on its own axis.

    `metrics` is the run store's long table (run_id, step, epoch, name, value); `labels` names runs.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1, row_heights=[0.45, 0.55])
    several = len(labels) > 1
    for i, (run_id, label) in enumerate(labels.items()):
        _add_curves(fig, metrics[metrics["run_id"] == run_id], PALETTE[i % len(PALETTE)],
                    label if several else None, row=1)
    if several and len(fig.data):  # one legend entry per run, in its colour; the line style is the metric
        for i, label in enumerate(labels.values()):
            fig.add_scatter(x=[None], y=[None], mode="lines", name=label, legendgroup=label,
                            line=dict(color=PALETTE[i % len(PALETTE)]), row=1, col=1)
    legend = LEGEND_BELOW | ({"title_text": STYLE_KEY + "<br>"} if several else {})
    fig.update_layout(**{**LAYOUT, "height": height, "legend": legend,
                         "margin": {**LAYOUT["margin"], "t": top_margin(title), "b": 100 if several else 70}},
                      title_text=title, uirevision="curves")
    fig.update_xaxes(title_text="epoch", row=2, col=1)
    losses = metrics[(metrics["name"] == "train_loss") & metrics["run_id"].isin(list(labels))]["value"]
    fig.update_yaxes(**loss_axis(log_loss, losses.dropna().tolist()), row=1, col=1)
    fig.update_yaxes(**ACCURACY_AXIS, row=2, col=1)
    return fig


def small_multiples(metrics: pd.DataFrame, labels: dict[int, str], log_loss: bool = False) -> go.Figure:
    """One column of panels per run (loss above, accuracy below), shared axes (the overlay's), the same
    curves in each; the legend sits under the panels so it never covers a run's title."""
    count = max(len(labels), 1)
    cols = min(count, 3)
    grid = -(-count // cols)
    titles = [""] * (2 * grid * cols)
    for i, label in enumerate(labels.values()):
        titles[2 * (i // cols) * cols + i % cols] = label
    fig = make_subplots(rows=2 * grid, cols=cols, shared_xaxes=True, shared_yaxes=True,
                        vertical_spacing=0.06 / grid, subplot_titles=titles)
    for i, run_id in enumerate(labels):
        _add_curves(fig, metrics[metrics["run_id"] == run_id], PALETTE[0], None, row=2 * (i // cols) + 1,
                    col=i % cols + 1, legend=i == 0, dashes=False)
    losses = metrics[(metrics["name"] == "train_loss") & metrics["run_id"].isin(list(labels))]["value"]
    for r in range(grid):
        fig.update_yaxes(**loss_axis(log_loss, losses.dropna().tolist()), row=2 * r + 1)
        fig.update_yaxes(**ACCURACY_AXIS, row=2 * r + 2)
    fig.update_layout(**{**LAYOUT, "height": 110 + 380 * grid, "margin": dict(l=10, r=10, t=70, b=60),
                         "legend": dict(orientation="h", yanchor="top", y=-0.06 / grid, x=0)},
                      title_text="Side by side")
    return fig


def bubble_figure(runs: pd.DataFrame, x: str) -> go.Figure:
    """Best test accuracy against `x` ('params' or 'macs'); bubble size is throughput. Each bubble is
    labelled by its run's id, above and below in turn so neighbours' labels do not overlap; the name is
    in the hover. Labels may reach past the axes (not clipped) and the margins leave them room."""
    fig = go.Figure()
    data = runs.dropna(subset=["best test acc", x]).sort_values(x)
    speed = data["examples/s"].fillna(0)
    size = (12 + 30 * speed / speed.max()).tolist() if len(data) and speed.max() > 0 else [14] * len(data)
    fig.add_scatter(x=data[x].tolist(), y=data["best test acc"].tolist(), mode="markers+text",
                    text=[f"#{i}" for i in data["id"]], customdata=[plot_text(n) for n in data["name"]],
                    cliponaxis=False,
                    textposition=[("top center", "bottom center")[k % 2] for k in range(len(data))],
                    marker=dict(size=size, color="#2563eb", opacity=0.6),
                    hovertemplate="%{text} %{customdata}<br>%{x:,}<br>test acc %{y:.3f}<extra></extra>")
    fig.update_layout(**{**LAYOUT, "margin": dict(l=60, r=60, t=90, b=10)},
                      title_text=f"Test accuracy against {x}",
                      xaxis=dict(type="log", title=x, automargin=True),
                      yaxis=dict(title="best test accuracy", range=[0, 1.1]))
    return fig

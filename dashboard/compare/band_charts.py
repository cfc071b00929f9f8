"""Figure builders for groups and sweeps: plain data in, `go.Figure` out (no Streamlit).

A group's curve at x (an epoch, or a report point within one) is the mean over the group's runs that
reported x; the band is ± one standard deviation (sample std, ddof 1) or min–max over the same runs. Runs
of different lengths (one stopped early or cancelled) therefore shape the curve only where they
reported: past the shortest run, fewer runs make the mean, and the hover says how many. A point that a
single run reported has no band. A ± std band is drawn clipped to the values the metric can take: an
accuracy's to [0, 1], a loss's to 0 and above. Accuracies read in percent.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from cnnlab.figures.style import LAYOUT, PALETTE
from cnnlab.reports.groups import group_bands
from dashboard.charts import LEGEND_BELOW, loss_axis, top_margin
from dashboard.text import plot_text

SPREADS = {"std": "mean ± std", "minmax": "min–max", "seeds": "each seed"}
LOG_SPAN = 10  # positive values spanning this factor or more get a log axis
METRIC_NAMES = {"test_acc": "test accuracy", "train_acc": "train accuracy", "train_loss": "train loss",
                "ema_test_acc": "EMA test accuracy"}


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def _band(stats: pd.DataFrame, metric: str, spread: str) -> tuple[pd.Series, pd.Series]:
    """The band's lower and upper edge: mean ± std (an accuracy's kept in [0, 1], a loss's at 0 or
    above) or min and max."""
    if spread == "minmax":
        return stats["min"], stats["max"]
    low, high = stats["mean"] - stats["std"].fillna(0), stats["mean"] + stats["std"].fillna(0)
    if metric.endswith("_acc"):
        low, high = low.clip(lower=0.0), high.clip(upper=1.0)
    elif "loss" in metric:
        low = low.clip(lower=0.0)
    return low, high


def value_axis(metric: str, log: bool = False, values: list[float] | None = None) -> dict[str, Any]:
    """The y axis of one metric: an accuracy in percent from 0 to 100%, a loss as the curves' loss axis
    (at least LOSS_MIN_SPAN wide), anything else as it comes."""
    name = METRIC_NAMES.get(metric, metric)
    if metric.endswith("_acc"):
        return dict(title=plot_text(name), tickformat=".0%", range=[0, 1.02])
    if "loss" in metric:
        axis = loss_axis(log, values)
        return dict(title=plot_text(name + (" (log)" if log else "")), type=axis["type"],
                    **({"range": axis["range"]} if "range" in axis else {}))
    return dict(title=plot_text(name + (" (log)" if log else "")), type="log" if log else "linear")


def _seed_lines(fig: go.Figure, metrics: pd.DataFrame, run_ids: list[int], metric: str, label: str,
                colour: str) -> None:
    """Each run of a group as a thin line in the group's colour (one legend entry for them all)."""
    for k, run_id in enumerate(run_ids):
        rows = metrics[(metrics["run_id"] == run_id) & (metrics["name"] == metric)]
        fig.add_scatter(x=rows["epoch"].tolist(), y=rows["value"].tolist(), mode="lines", legendgroup=label,
                        name=f"{label}: each seed", showlegend=k == 0, line=dict(color=_rgba(colour, 0.45),
                                                                                  width=1.2),
                        hovertemplate=f"run #{run_id}, epoch %{{x:.2f}}: %{{y:.3f}}<extra></extra>")


def legend_below(title: str) -> dict[str, Any]:
    """Layout for a figure whose legend sits under the plot: a top margin for `title` alone."""
    return {"legend": LEGEND_BELOW, "margin": {**LAYOUT["margin"], "t": top_margin(title), "b": 50}}


def band_figure(metrics: pd.DataFrame, groups: dict[str, list[int]], singles: dict[int, str],
                metric: str = "test_acc", spread: str = "std", log: bool = False) -> go.Figure:
    """Each group as its mean line in a shaded band (`spread`: std or minmax) or among its runs' own lines
    (seeds), single runs as plain lines, on shared axes (`log`: a log value axis, for a loss)."""
    if spread not in SPREADS:
        raise ValueError(f"spread must be one of {', '.join(SPREADS)}")
    fig = go.Figure()
    for i, (label, run_ids) in enumerate(groups.items()):
        colour = PALETTE[i % len(PALETTE)]
        stats = group_bands(metrics, run_ids, metric)
        x = stats["epoch"].tolist()
        if spread == "seeds":
            _seed_lines(fig, metrics, run_ids, metric, label, colour)
        else:
            low, high = _band(stats, metric, spread)
            fig.add_scatter(x=x + x[::-1], y=high.tolist() + low.tolist()[::-1], fill="toself", mode="lines",
                            line=dict(width=0), fillcolor=_rgba(colour, 0.2), hoverinfo="skip",
                            name=f"{label}: {SPREADS[spread]}", legendgroup=label, showlegend=False)
        fig.add_scatter(x=x, y=stats["mean"].tolist(), mode="lines+markers", legendgroup=label,
                        name=f"{label} (mean of {len(run_ids)})", line=dict(color=colour, width=2.5),
                        marker=dict(size=4), customdata=stats["n"].tolist(),
                        hovertemplate="epoch %{x:.2f}: %{y:.3f} over %{customdata} runs<extra></extra>")
    for j, (run_id, label) in enumerate(singles.items(), start=len(groups)):
        rows = metrics[(metrics["run_id"] == run_id) & (metrics["name"] == metric)]
        fig.add_scatter(x=rows["epoch"].tolist(), y=rows["value"].tolist(), mode="lines+markers", name=label,
                        line=dict(color=PALETTE[j % len(PALETTE)], dash="dot"), marker=dict(size=4))
    name = METRIC_NAMES.get(metric, metric)
    values = metrics[(metrics["name"] == metric)
                     & metrics["run_id"].isin([i for ids in groups.values() for i in ids] + list(singles))]
    title = plot_text(f"{name.capitalize()}: groups as {SPREADS[spread]}")
    fig.update_layout(**LAYOUT | legend_below(title),
                      title_text=title,
                      xaxis_title="epoch", uirevision="bands",
                      yaxis=value_axis(metric, log, values["value"].dropna().tolist()))
    return fig


def trial_curves(metrics: pd.DataFrame, labels: dict[int, str], metric: str = "test_acc",
                 best: int | None = None) -> go.Figure:
    """One line per trial of a sweep; the best one drawn thicker."""
    fig = go.Figure()
    for i, (run_id, label) in enumerate(labels.items()):
        rows = metrics[(metrics["run_id"] == run_id) & (metrics["name"] == metric)]
        fig.add_scatter(x=rows["epoch"].tolist(), y=rows["value"].tolist(), mode="lines+markers",
                        name=label + (" (best)" if run_id == best else ""), marker=dict(size=4),
                        line=dict(color=PALETTE[i % len(PALETTE)], width=4 if run_id == best else 1.5))
    values = metrics[(metrics["name"] == metric) & metrics["run_id"].isin(list(labels))]["value"]
    title = f"Every trial: {METRIC_NAMES.get(metric, metric)}"
    fig.update_layout(**LAYOUT | legend_below(title),
                      title_text=title,
                      xaxis_title="epoch", yaxis=value_axis(metric, values=values.dropna().tolist()),
                      uirevision="trials")
    return fig


def _axis(values: pd.Series) -> dict[str, Any]:
    """A parallel-coordinates dimension: numbers as they are (log10 when spanning LOG_SPAN), other
    values as evenly spaced categories."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        if (numeric > 0).all() and numeric.max() / numeric.min() >= LOG_SPAN:
            return dict(values=numeric.map(math.log10).tolist(), label_suffix=" (log10)")
        return dict(values=numeric.tolist(), label_suffix="")
    categories = sorted(values.astype(str).unique())
    return dict(values=[categories.index(v) for v in values.astype(str)],
                tickvals=list(range(len(categories))), ticktext=categories, label_suffix="")


def parallel_figure(trials: pd.DataFrame, varied: list[str]) -> go.Figure:
    """Hyper-parameters → final test accuracy, one line per trial coloured by its accuracy."""
    done = trials.dropna(subset=["final test acc"])
    dimensions = []
    for name in varied:
        axis = _axis(done[name])
        suffix = axis.pop("label_suffix")
        dimensions.append(dict(label=name + suffix, **axis))
    dimensions.append(dict(label="final test acc", values=done["final test acc"].tolist()))
    fig = go.Figure(go.Parcoords(line=dict(color=done["final test acc"].tolist(), colorscale="Viridis",
                                           showscale=True, colorbar=dict(title="test acc")),
                                 dimensions=dimensions))
    fig.update_layout(**{**LAYOUT, "margin": dict(l=60, r=40, t=110, b=30)},
                      title_text="Hyper-parameters → final test accuracy")
    return fig


def param_scatter(trials: pd.DataFrame, name: str) -> go.Figure:
    """Final test accuracy against one varied parameter (log axis for values spanning LOG_SPAN)."""
    done = trials.dropna(subset=["final test acc"])
    numeric = pd.to_numeric(done[name], errors="coerce")
    log = bool(numeric.notna().all() and len(numeric) and (numeric > 0).all()
               and numeric.max() / numeric.min() >= LOG_SPAN)
    x = numeric.tolist() if numeric.notna().all() else done[name].astype(str).tolist()
    fig = go.Figure(go.Scatter(x=x, y=done["final test acc"].tolist(), mode="markers",
                               marker=dict(size=10, color="#2563eb", opacity=0.7),
                               text=done["label"].tolist(),
                               hovertemplate="%{text}<br>test acc %{y:.3f}<extra></extra>"))
    fig.update_layout(**{**LAYOUT, "height": 320}, title_text=f"Test accuracy against {name}",
                      xaxis=dict(title=name, type="log" if log else None), yaxis_title="final test accuracy")
    return fig

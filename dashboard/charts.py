"""Plotly figure builders: plain data in, `go.Figure` out (no Streamlit, testable without a browser)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnlab.analysis import LayerRow, Summary, TrainingMemory, format_pair
from cnnlab.units import format_bytes

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f")
CURVES = (("train_loss", "train loss", "solid"), ("train_acc", "train acc", "dash"),
          ("test_acc", "test acc", "dot"))
LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=90, b=10), height=400,
              title=dict(y=0.97, yanchor="top"),
              legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))


def shape_figure(summary: Summary) -> go.Figure:
    """Spatial size (bars) and channels (line) of every row whose output is still a feature map."""
    rows = [r for r in summary.layers if len(r.output_shape) == 3]
    names = [r.name for r in rows]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=names, y=[r.output_shape[1] for r in rows], name="height × width (side)",
                marker_color="#93c5fd", text=[f"{r.output_shape[1]}×{r.output_shape[2]}" for r in rows],
                hovertemplate="%{x}: %{text}<extra></extra>")
    fig.add_scatter(x=names, y=[r.output_shape[0] for r in rows], name="channels", mode="lines+markers",
                    line=dict(color="#dc2626"), secondary_y=True)
    fig.update_layout(**LAYOUT, title_text="Feature maps shrink while channels grow")
    fig.update_yaxes(title_text="side (pixels)", secondary_y=False)
    fig.update_yaxes(title_text="channels", secondary_y=True)
    return fig


def params_figure(summary: Summary) -> go.Figure:
    """Parameters per layer, coloured by kind: a VGG's fully connected layers tower over its convs.
    The title names the largest layer, or every layer that ties for largest."""
    rows = [r for r in summary.layers if r.params > 0]
    fig = go.Figure()
    for kind, colour in (("Conv2d", "#2563eb"), ("Linear", "#dc2626"), ("other", "#9ca3af")):
        chosen = [r for r in rows if (r.type if r.type in ("Conv2d", "Linear") else "other") == kind]
        if chosen:
            fig.add_bar(x=[r.name for r in chosen], y=[r.params for r in chosen], name=kind,
                        marker_color=colour, hovertemplate="%{x}: %{y:,} parameters<extra></extra>")
    total = summary.totals.params or 1
    most = max((r.params for r in rows), default=0)
    top = [r.name for r in rows if r.params == most]
    title = "Parameters per layer"
    if len(top) == 1:
        title += f" — {top[0]} alone holds {most / total:.0%}"
    elif top:
        title += f" — {_names(top)} hold {most / total:.0%} each"
    fig.update_layout(**LAYOUT, title_text=title, yaxis_title="parameters",
                      xaxis=dict(categoryorder="array", categoryarray=[r.name for r in rows]))
    return fig


def _names(names: list[str]) -> str:
    """'a, b and c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def main_path(rows: list[LayerRow]) -> list[bool]:
    """Which rows (in execution order) lie on the main path. Along one chain of layers a receptive
    field never shrinks, so a row that sees less than the main path before it sits on a side branch
    (a ResNet downsampling shortcut, run from the block's input)."""
    widest, flags = 0, []
    for row in rows:
        flags.append(row.rf[0] >= widest)
        widest = max(widest, row.rf[0])
    return flags


def receptive_field_figure(summary: Summary) -> go.Figure:
    """Receptive field against execution order (x: the row's number in the layer table): the main path
    as a line that never goes back, side-branch layers as separate markers, and the input height.
    Ticks name the layers where the jump grows (the downsamplings)."""
    numbered = [(i, r) for i, r in enumerate(summary.layers, 1) if r.rf is not None]
    on_main = main_path([r for _, r in numbered])
    fig = go.Figure()
    for main, name, style in ((True, "receptive field (pixels)", dict(mode="lines+markers")),
                              (False, "side branch (shortcut)", dict(mode="markers",
                                                                     marker=dict(symbol="diamond", size=9)))):
        part = [(i, r) for (i, r), m in zip(numbered, on_main, strict=True) if m == main]
        if part:
            fig.add_scatter(x=[i for i, _ in part], y=[r.rf[0] for _, r in part], name=name,
                            line=dict(color="#16a34a" if main else "#ea580c"), **style,
                            customdata=[[r.name, format_pair(r.jump)] for _, r in part],
                            hovertemplate="%{customdata[0]}: sees %{y} pixels, jump %{customdata[1]}"
                                          "<extra></extra>")
    ticks = [(i, r.name) for k, (i, r) in enumerate(numbered)
             if k == 0 or r.jump != numbered[k - 1][1].jump or len(numbered) <= 16]
    first = numbered[0][0] if numbered else 1
    last = numbered[-1][0] if numbered else 1
    fig.add_scatter(x=[first, last], y=[summary.input[1]] * 2, name=f"input height ({summary.input[1]})",
                    mode="lines", line=dict(color="#6b7280", dash="dash"), hoverinfo="skip")
    fig.update_layout(**{**LAYOUT, "margin": dict(l=10, r=10, t=90, b=110)},
                      title_text="Receptive field growth", yaxis_title="input pixels (height)",
                      xaxis=dict(title="layer, in execution order", tickvals=[i for i, _ in ticks],
                                 ticktext=[n for _, n in ticks], tickangle=-45))
    return fig


def memory_figure(memory: TrainingMemory, available: int, device: str) -> go.Figure:
    """Stacked training-memory estimate against what the device has."""
    parts = (("weights", memory.weights), ("gradients", memory.gradients),
             ("optimiser state", memory.optimizer_state), ("activations", memory.activations))
    fig = go.Figure()
    for (name, value), colour in zip(parts, PALETTE, strict=False):
        fig.add_bar(y=["needed"], x=[value / 2**30], name=name, orientation="h", marker_color=colour,
                    hovertemplate=f"{name}: {format_bytes(value)}<extra></extra>")
    fig.add_bar(y=[device], x=[available / 2**30], name=f"{device} memory", orientation="h",
                marker_color="#d1d5db", hovertemplate=f"{device}: {format_bytes(available)}<extra></extra>")
    fits = "fits" if memory.total <= available else "does NOT fit"
    fig.update_layout(**{**LAYOUT, "height": 300}, barmode="stack", xaxis_title="GiB",
                      title_text=f"Training needs {format_bytes(memory.total)}: {fits}")
    return fig


def _add_curves(fig: go.Figure, series_of: pd.DataFrame, colour: str, label: str | None, row: int,
                col: int = 1, legend: bool = True, dashes: bool = True) -> None:
    """Loss in the upper panel (row), accuracies in the lower one (row + 1)."""
    for k, (metric, name, dash) in enumerate(CURVES):
        series = series_of[series_of["name"] == metric]
        if len(series):
            fig.add_scatter(x=series["epoch"].tolist(), y=series["value"].tolist(), mode="lines+markers",
                            name=f"{label}: {name}" if label else name, showlegend=legend,
                            line=dict(color=colour if dashes else PALETTE[k], dash=dash), marker=dict(size=4),
                            row=row + (metric != "train_loss"), col=col)


def curves_figure(metrics: pd.DataFrame, labels: dict[int, str], title: str = "Training curves",
                  height: int = 460) -> go.Figure:
    """Train loss (upper panel) and train and test accuracy (lower panel, 0 to 1) against epoch for each
    run: the textbook's animator, with each quantity on its own axis.

    `metrics` is the run store's long table (run_id, step, epoch, name, value); `labels` names runs.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.45, 0.55])
    for i, (run_id, label) in enumerate(labels.items()):
        _add_curves(fig, metrics[metrics["run_id"] == run_id], PALETTE[i % len(PALETTE)],
                    label if len(labels) > 1 else None, row=1)
    fig.update_layout(**{**LAYOUT, "height": height}, title_text=title, uirevision="curves")
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.02], row=2, col=1)
    fig.update_xaxes(title_text="epoch", row=2, col=1)
    return fig


def small_multiples(metrics: pd.DataFrame, labels: dict[int, str]) -> go.Figure:
    """One column of panels per run (loss above, accuracy below), shared axes, the same curves in each;
    the legend sits under the panels so it never covers a run's title."""
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
    for r in range(grid):
        fig.update_yaxes(title_text="loss", row=2 * r + 1, col=1)
        fig.update_yaxes(title_text="accuracy", range=[0, 1.02], row=2 * r + 2, col=1)
    fig.update_layout(**{**LAYOUT, "height": 110 + 380 * grid, "margin": dict(l=10, r=10, t=70, b=60),
                         "legend": dict(orientation="h", yanchor="top", y=-0.06 / grid, x=0)},
                      title_text="Side by side")
    return fig


def bubble_figure(runs: pd.DataFrame, x: str) -> go.Figure:
    """Best test accuracy against `x` ('params' or 'macs'); bubble size is throughput. Labels may
    reach past the axes (not clipped) and the margins leave them room."""
    fig = go.Figure()
    data = runs.dropna(subset=["best test acc", x])
    speed = data["examples/s"].fillna(0)
    size = (12 + 30 * speed / speed.max()).tolist() if len(data) and speed.max() > 0 else [14] * len(data)
    fig.add_scatter(x=data[x].tolist(), y=data["best test acc"].tolist(), mode="markers+text",
                    text=data["name"].tolist(), cliponaxis=False,
                    textposition="top center", marker=dict(size=size, color="#2563eb", opacity=0.6),
                    hovertemplate="%{text}<br>%{x:,}<br>test acc %{y:.3f}<extra></extra>")
    fig.update_layout(**{**LAYOUT, "margin": dict(l=60, r=60, t=90, b=10)},
                      title_text=f"Test accuracy against {x}",
                      xaxis=dict(type="log", title=x, automargin=True),
                      yaxis=dict(title="best test accuracy", range=[0, 1.1]))
    return fig

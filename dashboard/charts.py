"""Plotly figure builders: plain data in, `go.Figure` out (no Streamlit, testable without a browser)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnlab.analysis import Summary, TrainingMemory
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
    """Parameters per layer, coloured by kind: a VGG's fully connected layers tower over its convs."""
    rows = [r for r in summary.layers if r.params > 0]
    fig = go.Figure()
    for kind, colour in (("Conv2d", "#2563eb"), ("Linear", "#dc2626"), ("other", "#9ca3af")):
        chosen = [r for r in rows if (r.type if r.type in ("Conv2d", "Linear") else "other") == kind]
        if chosen:
            fig.add_bar(x=[r.name for r in chosen], y=[r.params for r in chosen], name=kind,
                        marker_color=colour, hovertemplate="%{x}: %{y:,} parameters<extra></extra>")
    total = summary.totals.params or 1
    top = max(rows, key=lambda r: r.params, default=None)
    title = "Parameters per layer"
    if top is not None:
        title += f" — {top.name} alone holds {top.params / total:.0%}"
    fig.update_layout(**LAYOUT, title_text=title, yaxis_title="parameters",
                      xaxis=dict(categoryorder="array", categoryarray=[r.name for r in rows]))
    return fig


def receptive_field_figure(summary: Summary) -> go.Figure:
    """Receptive field per layer against the input size: how far each unit sees."""
    rows = [r for r in summary.layers if r.rf is not None]
    names = [r.name for r in rows]
    fig = go.Figure()
    fig.add_scatter(x=names, y=[r.rf[0] for r in rows], name="receptive field (pixels)",
                    mode="lines+markers", line=dict(color="#16a34a"),
                    customdata=[r.jump[0] for r in rows],
                    hovertemplate="%{x}: sees %{y} pixels, jump %{customdata}<extra></extra>")
    fig.add_scatter(x=names, y=[summary.input[1]] * len(rows), name=f"input height ({summary.input[1]})",
                    mode="lines", line=dict(color="#6b7280", dash="dash"))
    fig.update_layout(**LAYOUT, title_text="Receptive field growth", yaxis_title="input pixels (height)")
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


def curves_figure(metrics: pd.DataFrame, labels: dict[int, str], title: str = "Training curves") -> go.Figure:
    """Train loss, train acc and test acc against epoch for each run (the textbook's animator).

    `metrics` is the run store's long table (run_id, step, epoch, name, value); `labels` names runs.
    """
    fig = go.Figure()
    for i, (run_id, label) in enumerate(labels.items()):
        rows = metrics[metrics["run_id"] == run_id]
        colour = PALETTE[i % len(PALETTE)]
        for metric, name, dash in CURVES:
            series = rows[rows["name"] == metric]
            if len(series):
                fig.add_scatter(x=series["epoch"].tolist(), y=series["value"].tolist(), mode="lines+markers",
                                name=f"{label}: {name}" if len(labels) > 1 else name,
                                line=dict(color=colour, dash=dash), marker=dict(size=4))
    fig.update_layout(**LAYOUT, title_text=title, xaxis_title="epoch", uirevision="curves")
    return fig


def small_multiples(metrics: pd.DataFrame, labels: dict[int, str]) -> go.Figure:
    """One panel per run, shared axes, the same three curves in each."""
    count = max(len(labels), 1)
    cols = min(count, 3)
    rows = -(-count // cols)
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=list(labels.values()) or [""])
    for i, run_id in enumerate(labels):
        part = metrics[metrics["run_id"] == run_id]
        for (metric, name, dash), colour in zip(CURVES, PALETTE, strict=False):
            series = part[part["name"] == metric]
            fig.add_scatter(x=series["epoch"].tolist(), y=series["value"].tolist(), mode="lines", name=name,
                            line=dict(color=colour, dash=dash), showlegend=i == 0,
                            row=i // cols + 1, col=i % cols + 1)
    fig.update_layout(**{**LAYOUT, "height": 120 + 280 * rows}, title_text="Side by side")
    return fig


def bubble_figure(runs: pd.DataFrame, x: str) -> go.Figure:
    """Best test accuracy against `x` ('params' or 'macs'); bubble size is throughput."""
    fig = go.Figure()
    data = runs.dropna(subset=["best test acc", x])
    speed = data["examples/s"].fillna(0)
    size = (12 + 30 * speed / speed.max()).tolist() if len(data) and speed.max() > 0 else [14] * len(data)
    fig.add_scatter(x=data[x].tolist(), y=data["best test acc"].tolist(), mode="markers+text",
                    text=data["name"].tolist(),
                    textposition="top center", marker=dict(size=size, color="#2563eb", opacity=0.6),
                    hovertemplate="%{text}<br>%{x:,}<br>test acc %{y:.3f}<extra></extra>")
    fig.update_layout(**LAYOUT, title_text=f"Test accuracy against {x}", xaxis=dict(type="log", title=x),
                      yaxis_title="best test accuracy")
    return fig

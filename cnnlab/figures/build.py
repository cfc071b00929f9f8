"""The Build page's figures of a summary: shapes, parameters, receptive field, training memory."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnlab.figures.reads import Memory, Row, Summarised
from cnnlab.figures.style import LAYOUT, PALETTE
from cnnlab.units import format_bytes, format_pair

# What holds a training step's memory (`TrainingMemory`'s fields), as the memory figure names it.
MEMORY_PARTS = {"weights": "weights", "gradients": "gradients", "optimizer_state": "optimiser state",
                "activations": "activations kept for backward",
                "temporaries": "temporaries (batch, gradients in flight)"}
LOG_AXIS = dict(type="log", dtick=1, tickformat="~s")  # ticks at powers of ten only: 1k, 10k, 100k
MAX_TICKS = 8  # an axis is ticked at its values when it has at most this many


def shape_figure(summary: Summarised) -> go.Figure:
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
    sides, channels = [r.output_shape[1] for r in rows], [r.output_shape[0] for r in rows]
    fig.update_yaxes(title_text="side (pixels)", secondary_y=False, **_ticks_at(sides))
    fig.update_yaxes(title_text="channels", secondary_y=True, showgrid=False, **_ticks_at(channels))
    return fig


def _ticks_at(values: list[int]) -> dict:
    """An axis from 0 to a little above the largest value, ticked at the values themselves when they are
    few (a VGG's 64, 128, 256, 512 channels) — never at the fractions the other axis's grid would give."""
    distinct = sorted(set(values))
    return dict(range=[0, max(values, default=1) * 1.1]) | (
        dict(tickvals=distinct) if len(distinct) <= MAX_TICKS else {})


def params_figure(summary: Summarised, log: bool = True) -> go.Figure:
    """Parameters per layer, coloured by kind: a VGG's fully connected layers tower over its convs.
    The title names the largest layer, or every layer that ties for largest. On a `log` axis (the
    default) the small convolutions stay visible beside the fully connected layers."""
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
    fig.update_layout(**LAYOUT, title_text=title,
                      yaxis=dict(title_text="parameters", **(LOG_AXIS if log else {"type": "linear"})),
                      xaxis=dict(categoryorder="array", categoryarray=[r.name for r in rows]))
    return fig


def _names(names: list[str]) -> str:
    """'a, b and c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def main_path(rows: list[Row]) -> list[bool]:
    """Which rows (in execution order) lie on the main path. Along one chain of layers a receptive
    field never shrinks, so a row that sees less than the main path before it sits on a side branch
    (a ResNet downsampling shortcut, run from the block's input)."""
    widest, flags = 0, []
    for row in rows:
        flags.append(row.rf[0] >= widest)
        widest = max(widest, row.rf[0])
    return flags


def receptive_field_figure(summary: Summarised) -> go.Figure:
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


def memory_figure(memory: Memory, available: int, device: str) -> go.Figure:
    """The estimated peak of a training step, stacked by what holds it, against what the device has."""
    held = memory.to_dict()
    fig = go.Figure()
    for (key, name), colour in zip(MEMORY_PARTS.items(), PALETTE, strict=False):
        value = held[key]
        fig.add_bar(y=["needed"], x=[value / 2**30], name=name, orientation="h", marker_color=colour,
                    hovertemplate=f"{name}: {format_bytes(value)}<extra></extra>")
    fig.add_bar(y=[device], x=[available / 2**30], name=f"{device} memory", orientation="h",
                marker_color="#d1d5db", hovertemplate=f"{device}: {format_bytes(available)}<extra></extra>")
    fits = "fits" if memory.total <= available else "does NOT fit"
    fig.update_layout(**{**LAYOUT, "height": 300}, barmode="stack", xaxis_title="GiB",
                      title_text=f"Training needs {format_bytes(memory.total)} at its peak: {fits}")
    return fig

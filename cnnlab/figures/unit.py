"""One unit's arithmetic drawn: per input channel the window, the kernel and their products; the sum, the
activation and the layer's real value in the title (no Streamlit)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnlab.figures.reads import Unit

MAX_TEXT_CELLS = 49  # cells of a window that still carry their numbers (7×7)
WINNER = "#dc2626"


def equation(unit: Unit) -> str:
    """The unit's sum as one line: 'Σ 6 channels + bias 0.12 = 0.53 → Sigmoid 0.63 (real output 0.53)'."""
    if unit.kind == "max pool":
        text = f"max of the window = {unit.sum:.4g}"
    elif unit.kind == "mean pool":
        text = f"sum of the window ÷ {unit.divisor} = {unit.sum:.4g}"
    else:
        what = "products" if unit.kind == "linear" else "channel sums"
        bias = "" if unit.bias is None else f" + bias {unit.bias:.4g}"
        total = float(unit.channel_sums.sum())
        text = f"Σ {len(unit.channel_sums)} {what} {total:.4g}{bias} = {unit.sum:.4g}"
    text += f" (the layer's real output: {unit.value:.4g})"
    if unit.activation is not None:
        text += f" → {unit.activation} = {unit.activated:.4g}"
    return text


def _grid(z: np.ndarray, padding: np.ndarray | None, colours: str | list, mid: float | None,
          ) -> go.Heatmap:
    cells = z.size
    text = np.vectorize(lambda v: f"{v:.2f}")(z).astype(object)
    if padding is not None:
        text[padding] = "pad"
        z = np.where(padding, np.nan, z)
    bound = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    extra = dict(zmid=0, zmin=-bound or -1, zmax=bound or 1) if mid is not None else {}
    return go.Heatmap(z=z, text=text, texttemplate="%{text}" if cells <= MAX_TEXT_CELLS else None,
                      colorscale=colours, showscale=False, hovertemplate="%{text}<extra></extra>", **extra)


def unit_figure(unit: Unit, top: int = 6) -> go.Figure:
    """Conv: a row per input channel of the `top` by |sum| (window, kernel, products, the rest summed
    below); pooling: the window, the max's cell outlined; linear: the top products as bars."""
    if unit.kind == "linear":
        return _linear_figure(unit, top)
    if unit.kernel is None:
        return _pool_figure(unit)
    best = unit.top(top)
    order = [int(np.flatnonzero(unit.inputs == i)[0]) for i in best.inputs]
    titles = []
    for i, index in enumerate(best.inputs):
        titles += [f"input channel {index}: window", "× kernel", f"= products, Σ {best.sums[i]:.4g}"]
    fig = make_subplots(rows=len(order), cols=3, subplot_titles=titles, horizontal_spacing=0.04,
                        vertical_spacing=0.25 / max(1, len(order)))
    for row, k in enumerate(order, start=1):
        fig.add_trace(_grid(unit.window[k], unit.padding, "Greys", None), row=row, col=1)
        fig.add_trace(_grid(unit.kernel[k], None, "RdBu", 0.0), row=row, col=2)
        fig.add_trace(_grid(unit.products[k], unit.padding, "RdBu", 0.0), row=row, col=3)
    rest = (f"; the other {best.rest_count} input channels add {best.rest:.4g}" if best.rest_count else "")
    _cells(fig, f"{unit.layer}, channel {unit.channel}, unit {unit.unit}{rest}<br>{equation(unit)}",
           120 + 170 * len(order))
    return fig


def _pool_figure(unit: Unit) -> go.Figure:
    fig = go.Figure(_grid(unit.window[0], unit.padding, "Greys", None))
    if unit.winner is not None:
        r, c = unit.winner
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                      line=dict(color=WINNER, width=3))
    _cells(fig, f"{unit.layer} ({unit.kind}), channel {unit.channel}, unit {unit.unit}<br>{equation(unit)}",
           320)
    return fig


def _linear_figure(unit: Unit, top: int) -> go.Figure:
    best = unit.top(top)
    labels = [f"input {i}" for i in best.inputs]
    values = list(best.sums)
    if best.rest_count:
        labels.append(f"{best.rest_count} others")
        values.append(best.rest)
    if unit.bias is not None:
        labels.append("bias")
        values.append(unit.bias)
    fig = go.Figure(go.Bar(x=values, y=labels, orientation="h",
                           marker_color=["#2563eb" if v >= 0 else "#dc2626" for v in values],
                           hovertemplate="%{y}: %{x:.4g}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(template="plotly_white", height=120 + 28 * len(labels),
                      margin=dict(l=10, r=10, t=80, b=10),
                      title_text=f"{unit.layer}, output {unit.channel}: input × weight<br>{equation(unit)}")
    return fig


def _cells(fig: go.Figure, title: str, height: int) -> None:
    """Square cells, rows downwards, no ticks."""
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed",
                     scaleanchor="x", constrain="domain")
    for axis in range(2, len(fig.data) + 1):
        fig.layout[f"yaxis{axis}"].scaleanchor = f"x{axis}"
    fig.update_layout(template="plotly_white", height=height, margin=dict(l=10, r=10, t=70, b=10),
                      plot_bgcolor="#fde68a", title_text=title, title_font_size=13)

"""One unit's arithmetic drawn: per input channel the window, the kernel and their products; the sum, the
activation and the layer's real value in the title (no Streamlit)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnlab.figures.reads import Unit

MAX_TEXT_CELLS = 49  # cells of a window that still carry their numbers (7×7)
WINNER = "#dc2626"
PAD = "#fde68a"  # padding cells
WINDOW = "gray"  # black 0 to white 1, as the image


def equation(unit: Unit, separator: str = " ") -> str:
    """The unit's sum, then the real output and the activation after `separator`:
    'Σ 6 channel sums 0.41 + bias 0.12 = 0.53 (the layer's real output: 0.53) → ReLU = 0.53'."""
    if unit.kind == "max pool":
        text = f"max of the window = {unit.sum:.4g}"
    elif unit.kind == "mean pool":
        text = f"sum of the window ÷ {unit.divisor} = {unit.sum:.4g}"
    else:
        what = "products" if unit.kind == "linear" else "channel sums"
        bias = "" if unit.bias is None else f" + bias {unit.bias:.4g}"
        total = float(unit.channel_sums.sum())
        text = f"Σ {len(unit.channel_sums)} {what} {total:.4g}{bias} = {unit.sum:.4g}"
    text += f"{separator}(the layer's real output: {unit.value:.4g})"
    if unit.activation is not None:
        text += f" → {unit.activation} = {unit.activated:.4g}"
    return text


def _grid(name: str, z: np.ndarray, padding: np.ndarray | None, colours: str | list, mid: float | None,
          cells: int | None = None) -> go.Heatmap:
    """A heatmap of one or more stacked windows of `cells` cells each (default: all of `z`), their values
    written in the cells while a window has few; padding cells blank."""
    text = np.array([f"{v:.3g}" if np.isfinite(v) else "" for v in z.ravel()], dtype=object).reshape(z.shape)
    if padding is not None:
        text[padding] = "pad"
        z = np.where(padding, np.nan, z)
    bound = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    extra = dict(zmid=0, zmin=-bound or -1, zmax=bound or 1) if mid is not None else {}
    return go.Heatmap(z=z, text=text, texttemplate="%{text}" if (cells or z.size) <= MAX_TEXT_CELLS else None,
                      colorscale=colours, showscale=False, hovertemplate="%{text}<extra></extra>", name=name,
                      **extra)


def _pad_cells(padding: np.ndarray) -> go.Heatmap:
    """The window's padding cells, yellow and marked 'pad', to lie under its (blank there) heatmap."""
    return go.Heatmap(z=np.where(padding, 1.0, np.nan), text=np.where(padding, "pad", ""),
                      texttemplate="%{text}", colorscale=[[0, PAD], [1, PAD]], showscale=False,
                      hoverinfo="skip", name="padding")


def _stack(tiles: np.ndarray, fill: float | bool = np.nan) -> np.ndarray:
    """n×kh×kw tiles one above the other, a row of `fill` between two."""
    n, kh, kw = tiles.shape
    out = np.full((n * (kh + 1) - 1, kw), fill, dtype=tiles.dtype if fill is False else float)
    for i, tile in enumerate(tiles):
        out[i * (kh + 1):i * (kh + 1) + kh] = tile
    return out


def unit_figure(unit: Unit, top: int = 6) -> go.Figure:
    """Conv: the `top` input channels by |sum|, one above the other (window, kernel, products; the rest
    summed in the title); pooling: the window, the max's cell outlined; linear: the top products as bars."""
    if unit.kind == "linear":
        return _linear_figure(unit, top)
    if unit.kernel is None:
        return _pool_figure(unit)
    best = unit.top(top)
    order = [int(np.flatnonzero(unit.inputs == i)[0]) for i in best.inputs]
    padding = _stack(np.repeat(unit.padding[None], len(order), 0), False)
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.12, subplot_titles=(
        "window", "× kernel", "= products"))
    if unit.padding.any():
        fig.add_trace(_pad_cells(padding), row=1, col=1)
        fig.add_trace(_pad_cells(padding), row=1, col=3)
    cells = unit.padding.size
    fig.add_trace(_grid("window", _stack(unit.window[order]), padding, WINDOW, None, cells), row=1, col=1)
    fig.add_trace(_grid("kernel", _stack(unit.kernel[order]), None, "RdBu", 0.0, cells), row=1, col=2)
    fig.add_trace(_grid("products", _stack(unit.products[order]), padding, "RdBu", 0.0, cells), row=1, col=3)
    kh = unit.padding.shape[0]
    centres = [i * (kh + 1) + (kh - 1) / 2 for i in range(len(order))]
    rest = (f"; the other {best.rest_count} input channels add {best.rest:.4g}" if best.rest_count else "")
    _cells(fig, f"{unit.layer}, channel {unit.channel}, unit {unit.unit}{rest}<br>{equation(unit, '<br>')}",
           170 + min(44, 640 // len(padding)) * len(padding), 3)
    fig.update_yaxes(showticklabels=True, tickvals=centres, ticks="",
                     ticktext=[f"input {i}" for i in best.inputs], row=1, col=1)
    fig.update_yaxes(showticklabels=True, tickvals=centres, ticks="", side="right",
                     ticktext=[f"Σ {v:.3g}" for v in best.sums], row=1, col=3)
    return fig


def _pool_figure(unit: Unit) -> go.Figure:
    fig = go.Figure([_pad_cells(unit.padding), _grid("window", unit.window[0], unit.padding, WINDOW, None)])
    if unit.winner is not None:
        r, c = unit.winner
        fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                      line=dict(color=WINNER, width=3), name="winner")
    _cells(fig, f"{unit.layer} ({unit.kind}), channel {unit.channel}, unit {unit.unit}<br>"
                f"{equation(unit, '<br>')}",
           320, 1)
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
    fig.update_layout(template="plotly_white", height=140 + 28 * len(labels),
                      margin=dict(l=10, r=10, t=100, b=10),
                      title_text=f"{unit.layer}, output {unit.channel}: input × weight<br>"
                                 f"{equation(unit, '<br>')}")
    return fig


def _cells(fig: go.Figure, title: str, height: int, panels: int) -> None:
    """Square cells, rows downwards, no ticks."""
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed",
                     scaleanchor="x", constrain="domain")
    for axis in range(2, panels + 1):
        fig.layout[f"yaxis{axis}"].scaleanchor = f"x{axis}"
    fig.update_layout(template="plotly_white", height=height, margin=dict(l=10, r=10, t=120, b=10),
                      title_text=title, title_font_size=13)


def slide_figure(image: np.ndarray, unit: Unit, field_box: tuple[int, int, int, int] | None,
                 layer_input: tuple[int, np.ndarray] | None, output: np.ndarray,
                 height: int = 330) -> go.Figure:
    """The unit sliding over its input. Left: the real image (C×H×W in [0, 1]) with the unit's field box;
    middle (when the layer's input is not the image): one channel of that input (its index, H×W) with the
    window's cells; right: channel `unit.channel` of the output map (H×W), filled in up to the unit in
    reading order."""
    panels = ["image" + (", the unit's field" if field_box is not None else "")]
    if layer_input is not None:
        panels.append(f"input channel {layer_input[0]}, the window")
    panels.append(f"output channel {unit.channel} so far")
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=panels, horizontal_spacing=0.05)
    rgb = image if image.shape[0] == 3 else np.repeat(image[:1], 3, axis=0)
    fig.add_trace(go.Image(z=(rgb.transpose(1, 2, 0) * 255).round().clip(0, 255).astype(np.uint8),
                           hoverinfo="skip"), row=1, col=1)
    if layer_input is None:
        _window_cells(fig, unit, 1)
    if field_box is not None:
        top, left, bottom, right = field_box
        fig.add_shape(type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
                      line=dict(color="#06b6d4", width=2), row=1, col=1)
    if layer_input is not None:
        fig.add_trace(go.Heatmap(z=layer_input[1], colorscale=WINDOW, showscale=False,
                                 hovertemplate="row %{y}, col %{x}: %{z:.3g}<extra></extra>"), row=1, col=2)
        _window_cells(fig, unit, 2)
    r, c = unit.unit
    filled = np.full(output.shape, np.nan)
    order = np.arange(output.size).reshape(output.shape) <= r * output.shape[1] + c
    filled[order] = output[order]
    bound = float(np.abs(output).max()) or 1.0
    fig.add_trace(go.Heatmap(z=filled, colorscale="RdBu", zmid=0, zmin=-bound, zmax=bound, showscale=False,
                             hovertemplate="unit (%{y}, %{x}): %{z:.4g}<extra></extra>"),
                  row=1, col=len(panels))
    fig.add_shape(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                  line=dict(color=WINNER, width=2), row=1, col=len(panels))
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed",
                     constrain="domain")
    for axis in range(1, len(panels) + 1):
        fig.layout["yaxis" if axis == 1 else f"yaxis{axis}"].scaleanchor = "x" if axis == 1 else f"x{axis}"
    fig.update_layout(template="plotly_white", height=height, margin=dict(l=10, r=10, t=40, b=10),
                      plot_bgcolor="#f3f4f6", uirevision="slide")
    return fig


def _window_cells(fig: go.Figure, unit: Unit, col: int) -> None:
    """The window's span as a box, and a dot on each cell it reads (gaps show a dilation)."""
    rows, cols = unit.rows, unit.cols
    fig.add_shape(type="rect", x0=cols[0] - 0.5, x1=cols[-1] + 0.5, y0=rows[0] - 0.5, y1=rows[-1] + 0.5,
                  line=dict(color=WINNER, width=2), row=1, col=col)
    y, x = np.meshgrid(rows, cols, indexing="ij")
    fig.add_trace(go.Scatter(x=x.ravel(), y=y.ravel(), mode="markers", hoverinfo="skip", showlegend=False,
                             marker=dict(color=WINNER, size=4)), row=1, col=col)

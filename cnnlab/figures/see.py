"""The See page's figures: plain arrays in, `go.Figure` out (no Streamlit)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cnnlab import heat
from cnnlab.figures.reads import Field, Layer, Maps, Top

BOX_COLOUR = "#06b6d4"
UNIT_COLOUR = "#dc2626"
PADDING = "#e5e7eb"
HEAT = [[0.0, "rgba(255,40,0,0)"], [1.0, "rgba(255,40,0,0.85)"]]
MARGIN = dict(l=10, r=10, t=50, b=10)
GAP = 2  # pixels between the tiles of a mosaic


def _rgb(image: np.ndarray) -> np.ndarray:
    """C×H×W in [0, 1] -> H×W×3 uint8 (grey repeated)."""
    rgb = image if image.shape[0] == 3 else np.repeat(image[:1], 3, axis=0)
    return (rgb.transpose(1, 2, 0) * 255).round().clip(0, 255).astype(np.uint8)


def _image_axes(fig: go.Figure, height: int) -> go.Figure:
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain", title_text="")
    fig.update_yaxes(showgrid=False, zeroline=False, autorange="reversed", scaleanchor="x",
                     constrain="domain", title_text="")
    fig.update_layout(template="plotly_white", margin=MARGIN, height=height, plot_bgcolor="white")
    return fig


def _mosaic_axes(fig: go.Figure, height: int) -> go.Figure:
    """Image axes without ticks: a mosaic's coordinates mean nothing to the reader."""
    fig = _image_axes(fig, height)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return fig


def field_figure(image: np.ndarray, field: Field, title: str, height: int = 420,
                 scale: str = "linear") -> go.Figure:
    """The image, the unit's effective field as a heatmap over it and its theoretical field as a box;
    the part of the box outside the image is drawn over grey padding. Heat: each pixel's share of the
    peak, linear or as its square root (`scale`, cnnlab/heat.py), with a colour bar saying which."""
    _, h, w = image.shape
    top, left, bottom, right = field.box
    fig = go.Figure()
    y0, x0, y1, x1 = min(top, 0), min(left, 0), max(bottom, h - 1), max(right, w - 1)
    fig.add_shape(type="rect", x0=x0 - 0.5, x1=x1 + 0.5, y0=y0 - 0.5, y1=y1 + 0.5, fillcolor=PADDING,
                  line_width=0, layer="below", name="padding")
    fig.add_trace(go.Image(z=_rgb(image), name="image", hoverinfo="skip"))
    tickvals, ticktext = heat.ticks(scale)
    fig.add_trace(go.Heatmap(z=heat.drawn(field.heatmap, scale), customdata=field.heatmap, colorscale=HEAT,
                             zmin=0, zmax=1, name="effective field",
                             colorbar=dict(title=dict(text=heat.title(scale), side="right"),
                                           tickvals=tickvals, ticktext=ticktext, thickness=14, len=0.9),
                             hovertemplate="row %{y}, col %{x}: %{customdata:.2%} of the gradient"
                                           "<extra></extra>"))
    fig.add_shape(type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
                  line=dict(color=BOX_COLOUR, width=2), name="theoretical field")
    fig.update_xaxes(range=[x0 - 0.5, x1 + 0.5])
    fig.update_yaxes(range=[y1 + 0.5, y0 - 0.5])
    fig.update_layout(title_text=title)
    return _image_axes(fig, height)


def unit_grid_figure(layer: Layer, unit: tuple[int, int], height: int = 280) -> go.Figure:
    """One clickable marker per position of the layer's map; the chosen unit in red."""
    _, rows, cols = layer.shape
    r, c = np.divmod(np.arange(rows * cols), cols)
    chosen = (r == unit[0]) & (c == unit[1])
    size = max(3, min(14, int(300 / max(rows, cols))))
    fig = go.Figure(go.Scattergl(
        x=c, y=r, mode="markers", marker=dict(symbol="square", size=size,
                                              color=np.where(chosen, UNIT_COLOUR, "#93c5fd")),
        hovertemplate="unit (%{y}, %{x})<extra></extra>", name="units"))
    fig.update_layout(dragmode=False, showlegend=False, clickmode="event+select")
    fig.update_xaxes(range=[-0.5, cols - 0.5], dtick=max(1, -(-cols // 8)))  # whole units only
    fig.update_yaxes(range=[rows - 0.5, -0.5], dtick=max(1, -(-rows // 8)))
    fig = _image_axes(fig, height)
    fig.update_layout(margin=dict(l=10, r=10, t=10, b=10))
    return fig


def _mosaic(tiles: np.ndarray, columns: int) -> np.ndarray:
    """n×h×w (or n×h×w×3) tiles -> one picture, NaN (or white) between them."""
    n, h, w = tiles.shape[:3]
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    shape = (rows * (h + GAP) - GAP, columns * (w + GAP) - GAP, *tiles.shape[3:])
    out = np.full(shape, 255 if tiles.ndim == 4 else np.nan, dtype=tiles.dtype if tiles.ndim == 4 else float)
    for i, tile in enumerate(tiles):
        y, x = (i // columns) * (h + GAP), (i % columns) * (w + GAP)
        out[y:y + h, x:x + w] = tile
    return out


def _scaled(tiles: np.ndarray) -> np.ndarray:
    """Each tile to [0, 1] on its own (a constant tile becomes 0.5)."""
    flat = tiles.reshape(len(tiles), -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    span = np.where(high > low, high - low, 1.0)
    scaled = (flat - low[:, None]) / span[:, None]
    scaled[high == low] = 0.5
    return scaled.reshape(tiles.shape)


def feature_maps_figure(maps: Maps, columns: int = 8) -> go.Figure:
    """The first channels of one layer's output, each scaled to its own range, in a grid."""
    c, h, w = maps.shape
    picture = _mosaic(_scaled(maps.maps), columns)
    fig = go.Figure(go.Heatmap(z=picture, colorscale="Viridis", showscale=False, hoverinfo="skip"))
    fig.update_layout(title_text=f"{maps.layer}: {c}×{h}×{w} (first {len(maps.maps)} channels)")
    rows = -(-len(maps.maps) // max(1, min(columns, len(maps.maps))))
    return _mosaic_axes(fig, 60 + 90 * rows)


def kernels_figure(weights: np.ndarray, name: str, columns: int = 16) -> go.Figure:
    """Kernels as small pictures: colour for Cout×3×kh×kw, else a diverging map of Cout×kh×kw."""
    if weights.ndim == 4:
        tiles = (_scaled(weights).transpose(0, 2, 3, 1) * 255).round().astype(np.uint8)
        fig = go.Figure(go.Image(z=_mosaic(tiles, columns), hoverinfo="skip"))
        what = "RGB kernels"
    else:
        bound = float(np.abs(weights).max()) or 1.0
        fig = go.Figure(go.Heatmap(z=_mosaic(weights, columns), colorscale="RdBu", zmid=0, zmin=-bound,
                                   zmax=bound, showscale=True, hoverinfo="skip"))
        what = "kernels averaged over input channels"
    n, kh, kw = weights.shape[0], weights.shape[-2], weights.shape[-1]
    fig.update_layout(title_text=f"{name}: {n} {what}, {kh}×{kw}")
    rows = -(-n // max(1, min(columns, n)))
    return _mosaic_axes(fig, 80 + max(200, rows * 40))


def top_images_figure(images: np.ndarray, tops: list[Top], layer: str, channel: int,
                      columns: int = 4) -> go.Figure:
    """The images that excite a channel most, each with the field of the unit where it peaks (clipped
    to the image)."""
    tiles = np.stack([_rgb(images[t.index]) for t in tops])
    _, h, w, _ = tiles.shape
    columns = max(1, min(columns, len(tops)))
    fig = go.Figure(go.Image(z=_mosaic(tiles, columns), hoverinfo="skip"))
    for i, top in enumerate(tops):
        y, x = (i // columns) * (h + GAP), (i % columns) * (w + GAP)
        t, left, b, right = top.box
        fig.add_shape(type="rect", x0=x + max(left, 0) - 0.5, x1=x + min(right, w - 1) + 0.5,
                      y0=y + max(t, 0) - 0.5, y1=y + min(b, h - 1) + 0.5,
                      line=dict(color=BOX_COLOUR, width=2))
        fig.add_annotation(x=x + w / 2, y=y + h - 1, text=f"#{top.index}: {top.activation:.3g}",
                           showarrow=False, yanchor="bottom", font=dict(color="white", size=11),
                           bgcolor="rgba(0,0,0,0.5)")
    fig.update_layout(title_text=f"Top {len(tops)} images for {layer}, channel {channel}")
    rows = -(-len(tops) // columns)
    return _mosaic_axes(fig, 60 + 220 * rows)

"""The class-score map of a classifier run as convolutions over a larger picture: one class's score at
every window over the picture, its best window outlined, and each window's best class (no Streamlit)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnlab.figures.reads import ClassMap

BEST = "#06b6d4"


def class_map_figure(scores: ClassMap, cls: int, height: int = 420) -> go.Figure:
    """Left: the picture, class `cls`'s score drawn at each window's centre (heat), its best window
    outlined. Right: each window's best class, written on it."""
    _, h, w = scores.image.shape
    rows, cols = scores.scores.shape[1:]
    wh, ww = scores.window
    ys = np.arange(rows) * scores.jump[0] + (wh - 1) / 2  # window centres in picture pixels
    xs = np.arange(cols) * scores.jump[1] + (ww - 1) / 2
    best = scores.best(cls)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.06, subplot_titles=(
        f"class {cls}: its score at each window", "each window's best class"))
    rgb = scores.image if scores.image.shape[0] == 3 else np.repeat(scores.image[:1], 3, axis=0)
    fig.add_trace(go.Image(z=(rgb.transpose(1, 2, 0) * 255).round().clip(0, 255).astype(np.uint8),
                           hoverinfo="skip"), row=1, col=1)
    fig.add_trace(go.Heatmap(z=scores.scores[cls], x=xs, y=ys, colorscale="Inferno", opacity=0.55,
                             colorbar=dict(title="score", x=0.46, len=0.9, thickness=12),
                             hovertemplate="window at (%{y:.0f}, %{x:.0f}): %{z:.3g}<extra></extra>"),
                  row=1, col=1)
    top, left, bottom, right = scores.box(*best)
    fig.add_shape(type="rect", x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
                  line=dict(color=BEST, width=3), name="best window", row=1, col=1)
    argmax = scores.argmax
    fig.add_trace(go.Heatmap(z=argmax, x=xs, y=ys, text=argmax.astype(str), texttemplate="%{text}",
                             colorscale="Turbo", zmin=0, zmax=max(1, scores.scores.shape[0] - 1),
                             showscale=False, name="best class",
                             hovertemplate="window at (%{y:.0f}, %{x:.0f}): class %{z}<extra></extra>"),
                  row=1, col=2)
    for col in (1, 2):
        fig.update_xaxes(range=[-0.5, w - 0.5], showticklabels=False, showgrid=False, zeroline=False,
                         constrain="domain", row=1, col=col)
        fig.update_yaxes(range=[h - 0.5, -0.5], showticklabels=False, showgrid=False, zeroline=False,
                         constrain="domain", scaleanchor="x" if col == 1 else "x2", row=1, col=col)
    fig.update_layout(template="plotly_white", height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig

"""How an effective field's heat is drawn: each pixel's share of the peak, linear (the default) or as its
square root (which lifts the tails, so the field looks wider than it is). The See page, `cnnlab field
--format png` and the notebook figure share it, so their colour bars agree."""

from __future__ import annotations

import numpy as np

from cnnlab.errors import ConfigError, quoted

SCALES = ("linear", "sqrt")
SHARES = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)  # the colour bar's labelled shares of the peak


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ConfigError(f"heat scale {quoted(scale)} is not one of {', '.join(SCALES)}")
    return scale


def drawn(heatmap: np.ndarray, scale: str = "linear") -> np.ndarray:
    """Each pixel's share of the peak (0 to 1), or its square root; all zero for an all-zero heatmap."""
    peak = heatmap.max()
    share = heatmap / peak if peak > 0 else np.zeros_like(heatmap)
    return np.sqrt(share) if check_scale(scale) == "sqrt" else share


def title(scale: str) -> str:
    """The colour bar's title."""
    return "share of the peak" + (" (drawn as √)" if check_scale(scale) == "sqrt" else "")


def ticks(scale: str) -> tuple[list[float], list[str]]:
    """Where the labelled shares sit on the drawn 0..1 scale, and their labels."""
    check_scale(scale)
    return ([float(np.sqrt(s)) if scale == "sqrt" else s for s in SHARES], [f"{s:.0%}" for s in SHARES])

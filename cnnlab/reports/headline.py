"""The headline figures of two models side by side, A, B and B/A, in words: one table for `cnnlab compare`
and the Build page's pinned comparison."""

from __future__ import annotations

from collections.abc import Callable

from cnnlab.analysis import Summary
from cnnlab.compare import figures, ratios
from cnnlab.units import format_bytes, format_count

LABELS: dict[str, tuple[str, Callable[[int], str]]] = {
    "params": ("Parameters", format_count), "macs": ("MACs per image", format_count),
    "param_bytes": ("Weight memory", format_bytes), "activation_bytes": ("Activation memory", format_bytes),
    "rf": ("Receptive field", lambda v: f"{v} px")}


def headline_rows(a: Summary, b: Summary, missing: str) -> list[tuple[str, str, str, str]]:
    """(label, A, B, B/A) per headline figure; `missing` where a figure or ratio does not exist (no
    receptive field, A's figure 0)."""
    fa, fb, ratio = figures(a), figures(b), ratios(a, b)
    return [(label, missing if fa[k] is None else show(fa[k]), missing if fb[k] is None else show(fb[k]),
             missing if ratio[k] is None else f"{ratio[k]:.3g}×")
            for k, (label, show) in LABELS.items()]

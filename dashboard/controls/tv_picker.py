"""`tv`'s control: which torchvision classifier (torchvision's own list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamlit.delta_generator import DeltaGenerator

from cnnlab.families.tv import TVSpec, tv_models

KEYS = ("tv_name",)


def init(arch: TVSpec) -> dict[str, Any]:
    return {"tv_name": arch.name}


def draw(side: DeltaGenerator) -> Callable[[], dict[str, Any]]:
    name = side.selectbox("Model", tv_models(), key="tv_name",
                          help="torchvision's classification models, with random weights (never downloaded).")
    side.caption("The architecture as torchvision builds it; the table shows its blocks.")
    return lambda: {"name": name}

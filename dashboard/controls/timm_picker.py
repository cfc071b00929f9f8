"""`timm`'s control: which timm model (timm's own list, searchable by typing in the box)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamlit.delta_generator import DeltaGenerator

from cnnlab.families.timm_models import TimmSpec, timm_models

KEYS = ("timm_name",)


def init(arch: TimmSpec) -> dict[str, Any]:
    return {"timm_name": arch.name}


def draw(side: DeltaGenerator) -> Callable[[], dict[str, Any]]:
    names = timm_models()
    name = side.selectbox("Model", names, key="timm_name",
                          help=f"timm's {len(names):,} models, with random weights (nothing is downloaded); "
                               "type to search.")
    side.caption("The architecture as timm builds it; the input defaults to its pretrained size.")
    return lambda: {"name": name}

"""Runs as JSON that every parser reads: a non-finite number (a diverged loss, an infinite metric) is
written as the string "inf" or "-inf" (NaN is stored as NULL, written null), never as the `Infinity`
and `NaN` tokens that JSON does not have. `float()` reads the strings back."""

from __future__ import annotations

import json
import math
from typing import Any


def finite(data: Any) -> Any:
    """`data` with every infinite float replaced by "inf" or "-inf" (and a NaN by None)."""
    if isinstance(data, float) and not math.isfinite(data):
        return None if math.isnan(data) else ("inf" if data > 0 else "-inf")
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [finite(value) for value in data]
    return data


def json_text(data: Any, indent: int | None = None) -> str:
    """`data` as strict JSON (`finite`)."""
    return json.dumps(finite(data), indent=indent, allow_nan=False)

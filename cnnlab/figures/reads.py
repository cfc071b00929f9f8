"""What the figures read of an analysis (cnnlab.analysis) and of inspect results (cnnlab.inspect): the
attributes they draw, as protocols, so the figures import neither package and both may offer
`.figure()` on their results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Row(Protocol):
    """A summary's layer row (`LayerRow`)."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    rf: tuple[int, int] | None
    jump: tuple[int, int] | None


class RowTotals(Protocol):
    params: int


class Summarised(Protocol):
    """A summary (`Summary`): its rows, totals and input (C, H, W)."""

    layers: Sequence[Row]
    totals: RowTotals
    input: tuple[int, int, int]


class Memory(Protocol):
    """A training step's memory at its peak (`TrainingMemory`): bytes by what holds them (`to_dict`, the
    keys of `build.MEMORY_PARTS`) and the peak."""

    @property
    def total(self) -> int: ...

    def to_dict(self) -> dict[str, int]: ...


class Field(Protocol):
    """A unit's effective field (`EffectiveField`): heat over the image, the theoretical box."""

    box: tuple[int, int, int, int]
    heatmap: np.ndarray


class Layer(Protocol):
    """A layer with a spatial map (`SpatialLayer`): its (C, H, W) output."""

    shape: tuple[int, int, int]


class Maps(Protocol):
    """Channels of a layer's output (`FeatureMaps`)."""

    layer: str
    shape: tuple[int, int, int]
    maps: np.ndarray


class Top(Protocol):
    """An image that excites a channel (`TopImage`), and its unit's theoretical box."""

    index: int
    activation: float
    box: tuple[int, int, int, int]


class UnitTop(Protocol):
    """The inputs contributing most to a unit's sum (`inspect.unit.Top`)."""

    inputs: np.ndarray
    sums: np.ndarray
    rest: float
    rest_count: int


class Unit(Protocol):
    """One unit's arithmetic (`UnitComputation`)."""

    layer: str
    kind: str
    channel: int
    unit: tuple[int, int] | None
    inputs: np.ndarray
    window: np.ndarray
    padding: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    kernel: np.ndarray | None
    bias: float | None
    products: np.ndarray | None
    channel_sums: np.ndarray | None
    sum: float
    value: float
    winner: tuple[int, int] | None
    divisor: int | None
    activation: str | None
    activated: float | None

    def top(self, count: int = 8) -> UnitTop: ...


class ClassMap(Protocol):
    """A class-score map (`fc_as_conv.ClassScoreMap`)."""

    image: np.ndarray
    scores: np.ndarray
    window: tuple[int, int]
    jump: tuple[int, int]

    @property
    def argmax(self) -> np.ndarray: ...

    def box(self, i: int, j: int) -> tuple[int, int, int, int]: ...

    def best(self, cls: int) -> tuple[int, int]: ...

"""The result of an analysis: per-layer rows, totals, and their table/JSON/memory views."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnnlab import limits
from cnnlab.errors import ConfigError
from cnnlab.spec import check_int

if TYPE_CHECKING:
    import pandas as pd

# Parameter-sized state tensors each optimiser keeps (SGD: one momentum buffer when momentum > 0).
OPTIMIZER_STATE = {"sgd": 1, "adam": 2, "adamw": 2}


@dataclass(frozen=True)
class LayerRow:
    name: str
    type: str
    depth: int
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int
    macs: int
    output_bytes: int
    rf: tuple[int, int] | None
    jump: tuple[int, int] | None
    start: tuple[float, float] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "type": self.type, "depth": self.depth,
            "output_shape": list(self.output_shape), "params": self.params,
            "trainable_params": self.trainable_params, "macs": self.macs, "output_bytes": self.output_bytes,
            "rf": _list(self.rf), "jump": _list(self.jump), "start": _list(self.start),
        }


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    macs: int
    param_bytes: int
    activation_bytes: int

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes needed to train with a batch: weights + gradients + optimiser state + activations."""

    weights: int
    gradients: int
    optimizer_state: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer_state + self.activations

    def to_dict(self) -> dict[str, int]:
        return {**self.__dict__, "total": self.total}


@dataclass(frozen=True)
class Summary:
    model: str
    input: tuple[int, int, int]
    classes: int
    layers: tuple[LayerRow, ...]
    totals: Totals

    @property
    def final_field(self) -> LayerRow | None:
        """The last row that still has a spatial receptive field."""
        return next((row for row in reversed(self.layers) if row.rf is not None), None)

    def training_memory(self, batch_size: int, optimizer: str = "sgd",
                        momentum: float = 0.0) -> TrainingMemory:
        """Estimate training memory: activations are kept for the backward pass, one copy per sample."""
        if optimizer not in OPTIMIZER_STATE:
            raise ConfigError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZER_STATE)}")
        batch_size = check_int("batch size", batch_size, 1, limits.MAX_BATCH_SIZE)
        if (isinstance(momentum, bool) or not isinstance(momentum, int | float) or not math.isfinite(momentum)
                or not 0 <= momentum < 1):
            raise ConfigError(f"momentum must be a number from 0 up to (not including) 1, got {momentum!r}")
        copies = 0 if optimizer == "sgd" and not momentum else OPTIMIZER_STATE[optimizer]
        per_param = self.totals.param_bytes / max(self.totals.params, 1)
        trainable_bytes = int(self.totals.trainable_params * per_param)
        return TrainingMemory(
            weights=self.totals.param_bytes,
            gradients=trainable_bytes,
            optimizer_state=trainable_bytes * copies,
            activations=self.totals.activation_bytes * batch_size,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `python -m cnnlab summary --format json`."""
        return {
            "model": self.model, "input": list(self.input), "classes": self.classes,
            "layers": [row.to_dict() for row in self.layers], "totals": self.totals.to_dict(),
        }

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [row.to_dict() for row in self.layers]
        for row in rows:
            row["output_shape"] = "×".join(map(str, row["output_shape"]))
            for key in ("rf", "jump", "start"):
                row[key] = None if row[key] is None else format_pair(row[key])
        return pd.DataFrame(rows, columns=list(LayerRow.__dataclass_fields__))


def _list(pair: tuple | None) -> list | None:
    return None if pair is None else list(pair)


def format_pair(pair: tuple | list) -> str:
    """'212' for a square pair, '11×7' otherwise; halves kept ('0.5')."""
    text = [str(int(v)) if float(v).is_integer() else f"{v:g}" for v in pair]
    return text[0] if text[0] == text[1] else "×".join(text)

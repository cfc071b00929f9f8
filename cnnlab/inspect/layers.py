"""The layers of a model that have a spatial map, with the engine's receptive field, and their outputs.

A layer is addressed by its module's qualified name (`layer4`, `features.conv1`); a module called more
than once (a shared ReLU) gives one layer per call, the k-th named `name (k)` as in the summary table.
The field (`rf`, `jump`, `start`) is the one the analysis engine traced, never recomputed here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from cnnlab.analysis.tracer import trace
from cnnlab.errors import ConfigError, quoted


@dataclass(frozen=True)
class SpatialLayer:
    """One call of one module whose output is a (C, H, W) map with a receptive field."""

    name: str
    module: str
    call: int
    shape: tuple[int, int, int]
    rf: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[float, float]

    @property
    def centre_unit(self) -> tuple[int, int]:
        """The unit at the centre of the map (the default unit)."""
        return (self.shape[1] // 2, self.shape[2] // 2)

    def check_unit(self, unit: tuple[int, int] | None) -> tuple[int, int]:
        """`unit` (row, column), or the centre unit for None; a unit outside the map is a ConfigError."""
        if unit is None:
            return self.centre_unit
        row, col = unit
        height, width = self.shape[1:]
        if not (0 <= row < height and 0 <= col < width):
            raise ConfigError(f"unit ({row}, {col}) is outside {self.name}'s {height}×{width} map; rows "
                              f"and columns run from 0 to {height - 1} and {width - 1}")
        return (int(row), int(col))

    def centre(self, unit: tuple[int, int]) -> tuple[float, float]:
        """Input coordinates of the centre of `unit`'s field."""
        return tuple(self.start[a] + unit[a] * self.jump[a] for a in range(2))

    def box(self, unit: tuple[int, int]) -> tuple[int, int, int, int]:
        """`unit`'s theoretical field as inclusive input-pixel indices (top, left, bottom, right);
        it may reach beyond the image, into the padding."""
        (cy, cx), (hy, hx) = self.centre(unit), ((self.rf[0] - 1) / 2, (self.rf[1] - 1) / 2)
        return (round(cy - hy), round(cx - hx), round(cy + hy), round(cx + hx))


def spatial_layers(model: nn.Module, input_shape: tuple[int, int, int]) -> list[SpatialLayer]:
    """Every module call (containers included, the model itself excluded) with a spatial field, in order."""
    calls, _, _ = trace(model, tuple(input_shape))
    seen: Counter[str] = Counter()
    layers = []
    for call in calls:
        if call.depth == 0:
            continue
        seen[call.name] += 1
        if call.field is None or call.output is None or call.output.dim() != 4:
            continue
        name = call.name if seen[call.name] == 1 else f"{call.name} ({seen[call.name]})"
        layers.append(SpatialLayer(name, call.name, seen[call.name], tuple(call.output.shape[1:]),
                            tuple(int(v) for v in call.field.rf), tuple(int(v) for v in call.field.jump),
                            tuple(float(v) for v in call.field.start)))
    return layers


# A later call's row name, as the analysis writes it (`relu (2)`): the name, then the call's number.
_CALL = re.compile(r"^(.*) \((\d+)\)$")


def find_layer(model: nn.Module, layers: list[SpatialLayer], name: str) -> SpatialLayer:
    """The layer called `name` ('name (1)' is 'name'); a ConfigError says why another name is no layer."""
    match = _CALL.match(name.strip())
    key = (match.group(1), int(match.group(2))) if match else (name.strip(), 1)
    for layer in layers:
        if (layer.module, layer.call) == key:
            return layer
    modules = dict(model.named_modules())
    choices = ", ".join(layer.name for layer in layers[:12]) + (", ..." if len(layers) > 12 else "")
    if key[0] in modules and key[0]:
        raise ConfigError(f"layer {quoted(name)} has no spatial map (its output is not C×H×W with a "
                          f"receptive field); choose one that has: {choices}")
    raise ConfigError(f"the model has no layer {quoted(name)}; layers with a spatial map: {choices}")


class _Stop(Exception):
    """Raised from a hook once every wanted output is captured: the rest of the forward is skipped."""


def capture(model: nn.Module, x: torch.Tensor, layers: Iterable[SpatialLayer], *,
            keep_graph: bool = False) -> dict[str, torch.Tensor]:
    """Run `model` on `x` until every layer in `layers` has produced its output; return them by name.

    With `keep_graph`, outputs stay attached to autograd (for gradients); otherwise they are detached
    copies, taken before any later in-place operation (an in-place ReLU, a residual `+=`) changes them.
    """
    wanted: dict[tuple[str, int], SpatialLayer] = {(layer.module, layer.call): layer for layer in layers}
    modules = dict(model.named_modules())
    counts: Counter[str] = Counter()
    outputs: dict[str, torch.Tensor] = {}

    def hook_for(module_name: str):  # noqa: ANN202
        def hook(_module: nn.Module, _args: object, output: torch.Tensor) -> None:
            counts[module_name] += 1
            layer = wanted.get((module_name, counts[module_name]))
            if layer is not None:
                outputs[layer.name] = output if keep_graph else output.detach().clone()
                if len(outputs) == len(wanted):
                    raise _Stop

        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in {k[0] for k in wanted}]
    try:
        model(x)
    except _Stop:
        pass
    finally:
        for handle in handles:
            handle.remove()
    missing = [layer.name for key, layer in wanted.items() if layer.name not in outputs]
    if missing:
        raise ConfigError(f"layer(s) {', '.join(missing)} did not run in this model's forward pass")
    return outputs

"""`timm:NAME`: any model of timm (PyTorch Image Models), with random weights (nothing is downloaded).

timm is an optional extra (`pip install 'cnnlab[timm]'`): without it, a `timm:` model string is one
line saying so. The default input is the model's pretrained configuration's `input_size`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import torch
from torch import nn

from cnnlab.errors import ConfigError, quoted
from cnnlab.families.family import Family, SpecData
from cnnlab.families.options import CLASSES
from cnnlab.inputs import InputSpec

DEFAULT_INPUT = InputSpec(3, 224, 224)  # for a model whose pretrained configuration names no size


@cache
def timm_models() -> tuple[str, ...]:
    """timm's architectures, by name; a ConfigError if timm is not installed."""
    try:
        import timm
    except ImportError as exc:
        raise ConfigError("timm: models need the timm package: pip install 'cnnlab[timm]'") from exc
    return tuple(timm.list_models())


@dataclass(frozen=True)
class TimmSpec(SpecData):
    """A timm architecture by name, with `classes` outputs."""

    family: ClassVar[str] = "timm"
    name: str = "resnet50"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.name, str) or self.name not in _names():
            raise ConfigError(f"{quoted(self.name)} is not a timm model; timm.list_models() has "
                              f"{len(timm_models())}, e.g. convnext_tiny, efficientnet_b0, resnet50d")


@cache
def _names() -> frozenset[str]:
    return frozenset(timm_models())


def timm_input(spec: TimmSpec) -> InputSpec:
    """The input of the model's pretrained configuration (3×224×224 where it names none)."""
    import timm

    config = timm.models.get_pretrained_cfg(spec.name)
    size = getattr(config, "input_size", None)
    return InputSpec(*size) if size and len(size) == 3 else DEFAULT_INPUT


def build_timm(spec: TimmSpec, inp: InputSpec) -> nn.Module:
    """timm's architecture with random weights (`pretrained=False`). A model built for a fixed image
    size (a vision transformer's position embedding, Swin's windows) is built for the input's size
    where its constructor takes one."""
    import timm

    def create(**size: tuple[int, int]) -> nn.Module:
        try:
            return timm.create_model(spec.name, pretrained=False, num_classes=spec.classes, **size)
        except NotImplementedError:  # a constructor that computes with tensor values needs real ones
            with torch.device("cpu"):
                return timm.create_model(spec.name, pretrained=False, num_classes=spec.classes, **size)\
                    .to("meta")

    try:
        if (inp.height, inp.width) != timm_input(spec).as_tuple()[1:]:
            try:
                return create(img_size=(inp.height, inp.width))
            except TypeError:  # a model that takes any size has no img_size
                pass
        return create()
    except ConfigError:
        raise
    except Exception as exc:  # whatever a constructor refuses, in one line
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"timm:{spec.name} cannot be built for a {inp} input: {reason}") from exc


FAMILY = Family(
    name="timm", label="timm", spec=TimmSpec, build=build_timm, default_input=DEFAULT_INPUT,
    input_of=timm_input, presets={}, options=(CLASSES,), name_of=lambda spec: f"timm:{spec.name}",
    model_help="timm:NAME, any timm model with random weights, e.g. timm:convnext_tiny (needs timm)",
    parse=lambda text: TimmSpec(name=text.strip()),
    no_seq="holds timm's own models, and seq describes cnnlab's plain chains of layers",
    no_code="holds timm's own models, not cnnlab's: build one with "
            "timm.create_model(name, pretrained=False, num_classes=...) instead of exporting code",
)

"""`tv:NAME`: any torchvision classification model, with random weights (never downloaded).

The list of names is torchvision's own (`list_models(module=torchvision.models)`), so detection,
segmentation, video and quantized models are not in it.
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

# Models whose auxiliary classifiers would make the output a tuple during training: left out.
_NO_AUX = {"googlenet", "inception_v3"}


@cache
def tv_models() -> tuple[str, ...]:
    """torchvision's classification models, by name."""
    import torchvision

    return tuple(torchvision.models.list_models(module=torchvision.models))


@dataclass(frozen=True)
class TVSpec(SpecData):
    """A torchvision classifier by name, with `classes` outputs."""

    family: ClassVar[str] = "tv"
    name: str = "resnet50"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.name, str) or self.name not in tv_models():
            raise ConfigError(f"{quoted(self.name)} is not a torchvision classification model; choose one of "
                              f"{', '.join(tv_models())}")


def build_tv(spec: TVSpec, inp: InputSpec) -> nn.Module:
    """torchvision's architecture with random weights; the input is checked when it is analysed. A
    vision transformer is built for the input's height (its position embedding has one entry per
    patch), so any square side its patches divide runs."""
    import torchvision

    extra: dict = {"aux_logits": False, "init_weights": True} if spec.name in _NO_AUX else {}
    if spec.name.startswith("vit_"):
        extra["image_size"] = inp.height
    try:
        try:
            return torchvision.models.get_model(spec.name, weights=None, num_classes=spec.classes, **extra)
        except NotImplementedError:  # a constructor that computes with tensors (RegNet's widths) needs
            with torch.device("cpu"):  # real ones
                model = torchvision.models.get_model(spec.name, weights=None, num_classes=spec.classes,
                                                     **extra)
            return model.to("meta")
    except (AssertionError, ValueError, RuntimeError) as exc:  # a size the constructor refuses
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"tv:{spec.name} cannot run on a {inp} input: {reason}") from exc


def _notes(spec: TVSpec, inp: InputSpec) -> tuple[str, ...]:
    """Inception v3's published parameter count includes its auxiliary classifier, which cnnlab leaves
    out (GoogLeNet's published count does not)."""
    if spec.name != "inception_v3":
        return ()
    from torchvision.models.inception import InceptionAux

    with torch.device("meta"):
        aux = sum(p.numel() for p in InceptionAux(768, spec.classes).parameters())
    return (f"the auxiliary classifier (training-only, {aux:,} parameters) is left out; torchvision's "
            f"count of inception_v3's parameters includes it",)


FAMILY = Family(
    name="tv", label="torchvision", spec=TVSpec, build=build_tv, default_input=InputSpec(3, 224, 224),
    presets={}, options=(CLASSES,), name_of=lambda spec: f"tv:{spec.name}",
    model_help="tv:NAME, any torchvision classification model with random weights, e.g. tv:convnext_tiny",
    parse=lambda text: TVSpec(name=text.strip().lower()),
    no_seq="holds torchvision's own models, and seq describes cnnlab's plain chains of layers",
    no_code="holds torchvision's own models, not cnnlab's: build one with "
            "torchvision.models.get_model(name, weights=None, num_classes=...) instead of exporting code",
    notes=_notes,
)

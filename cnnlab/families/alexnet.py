"""AlexNet as in the textbook: one tower, 11×11/4 stem, overlapping 3×3/2 max-pools, dropout FC layers.

The network is its `seq` string; `build_seq` makes it (conv1, relu1, pool1, ..., fc3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from cnnlab import limits
from cnnlab.checks import check_fraction, check_int
from cnnlab.families.family import Family, SpecData
from cnnlab.families.options import CLASSES, FC_WIDTH
from cnnlab.families.seq import SeqSpec, build_seq, decimal
from cnnlab.inputs import InputSpec
from cnnlab.pycode import sequential_code

FEATURES = "c11-96s4p1,relu,m3s2,c5-256p2,relu,m3s2,c3-384p1,relu,c3-384p1,relu,c3-256p1,relu,m3s2"


@dataclass(frozen=True)
class AlexNetSpec(SpecData):
    """The textbook's single-tower AlexNet (96-256-384-384-256 channels, two FC layers with dropout)."""

    family: ClassVar[str] = "alexnet"
    fc_width: int = 4096
    dropout: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "fc_width", check_int("FC width", self.fc_width, 1, limits.MAX_FC_WIDTH))
        object.__setattr__(self, "dropout", check_fraction("dropout", self.dropout))


def classifier(fc_width: int, dropout: float) -> str:
    """Two hidden FC layers with ReLU and dropout (AlexNet's and VGG's), in the seq form."""
    return f"fc{fc_width},relu,drop{decimal(dropout)},fc{fc_width},relu,drop{decimal(dropout)}"


def to_seq(spec: AlexNetSpec) -> SeqSpec:
    return SeqSpec.parse(f"{FEATURES},{classifier(spec.fc_width, spec.dropout)},fc{spec.classes}")


def build_alexnet(spec: AlexNetSpec, inp: InputSpec) -> nn.Sequential:
    return build_seq(to_seq(spec), inp)


FAMILY = Family(
    name="alexnet", label="AlexNet", spec=AlexNetSpec, build=build_alexnet,
    default_input=InputSpec(1, 224, 224), presets={"alexnet": AlexNetSpec()}, options=(FC_WIDTH, CLASSES),
    name_of=lambda spec: "alexnet", model_help="alexnet", to_seq=to_seq,
    code=sequential_code("AlexNet", "AlexNet as in the textbook: one tower, 11×11/4 stem, overlapping "
                                    "max-pools, dropout FC layers."),
)

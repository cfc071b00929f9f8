"""LeNet-5 as in the textbook: 5×5 convolutions, sigmoid, 2×2 average pooling, three FC layers.

The network is its `seq` string; `build_seq` makes it (conv1, sigmoid1, pool1, ..., fc3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from cnnlab.families.family import Family, SpecData
from cnnlab.families.options import CLASSES
from cnnlab.families.seq import SeqSpec, build_seq
from cnnlab.inputs import InputSpec
from cnnlab.pycode import sequential_code

LAYERS = "c5-6p2,sig,a2,c5-16,sig,a2,fc120,sig,fc84,sig"


@dataclass(frozen=True)
class LeNetSpec(SpecData):
    """The textbook LeNet-5: sigmoid activations and average pooling."""

    family: ClassVar[str] = "lenet"


def to_seq(spec: LeNetSpec) -> SeqSpec:
    return SeqSpec.parse(f"{LAYERS},fc{spec.classes}")


def build_lenet(spec: LeNetSpec, inp: InputSpec) -> nn.Sequential:
    return build_seq(to_seq(spec), inp)


FAMILY = Family(
    name="lenet", label="LeNet", spec=LeNetSpec, build=build_lenet, default_input=InputSpec(1, 28, 28),
    presets={"lenet": LeNetSpec()}, options=(CLASSES,), name_of=lambda spec: "lenet",
    model_help="lenet", to_seq=to_seq,
    code=sequential_code("LeNet", "LeNet-5: 5×5 convolutions, sigmoid, 2×2 average pooling, three FC "
                                  "layers."),
)

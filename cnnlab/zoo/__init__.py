"""Model builders: spec + input -> `nn.Module`, on any device (`meta` included)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from cnnlab import limits
from cnnlab.errors import ConfigError
from cnnlab.meta import MetaMode
from cnnlab.spec import AlexNetSpec, ArchSpec, InputSpec, LeNetSpec, ModelConfig, ResNetSpec, VGGSpec
from cnnlab.zoo.alexnet import build_alexnet
from cnnlab.zoo.lenet import build_lenet
from cnnlab.zoo.resnet import build_resnet
from cnnlab.zoo.vgg import build_vgg

BUILDERS: dict[type, Callable[..., nn.Module]] = {
    LeNetSpec: build_lenet,
    AlexNetSpec: build_alexnet,
    VGGSpec: build_vgg,
    ResNetSpec: build_resnet,
}


def build(config: ModelConfig | ArchSpec, inp: InputSpec | None = None,
          device: str | torch.device = "meta") -> nn.Module:
    """Build the network for `config` on `device` (default `meta`: shapes only, no memory).

    Raises ConfigError if the input is too small for the network or the network is absurdly large.
    """
    if not isinstance(config, ModelConfig):
        if inp is None:
            raise TypeError("build(spec, inp): an InputSpec is needed with a bare ArchSpec")
        config = ModelConfig(config, inp)
    with torch.device("meta"), MetaMode():
        model = BUILDERS[type(config.arch)](config.arch, config.input)
    params = sum(p.numel() for p in model.parameters())
    if params > limits.MAX_PARAMS:
        raise ConfigError(f"{config.name} at input {config.input} has {params:,} parameters; "
                          f"cnnlab caps models at {limits.MAX_PARAMS:,}")
    if torch.device(device).type == "meta":
        return model
    model = model.to_empty(device=device)
    for module in model.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    return model

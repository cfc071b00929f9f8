"""Building: spec + input -> `nn.Module`, on any device (`meta` included), by the spec's family."""

from __future__ import annotations

import torch
from torch import nn

from cnnlab import limits
from cnnlab.errors import ConfigError
from cnnlab.families import family_of
from cnnlab.meta import MetaMode
from cnnlab.spec import ArchSpec, InputSpec, ModelConfig


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
        model = family_of(config.arch).build(config.arch, config.input)
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

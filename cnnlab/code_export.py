"""PyTorch code export: a model as a self-contained .py file that needs only torch.

The file defines the network as cnnlab builds it (same state_dict keys and shapes), and
`build_model()` returning it with the exported options.
"""

from __future__ import annotations

from cnnlab.errors import ConfigError
from cnnlab.families import family_of
from cnnlab.spec import ModelConfig
from cnnlab.zoo import build


def python_code(config: ModelConfig) -> str:
    """The source of a file that builds `config`'s network with torch alone."""
    family = family_of(config.arch)
    if family.code is None:
        raise ConfigError(f"{config.name} is torchvision's own model, not cnnlab's: build it with "
                          f"torchvision.models.get_model({config.arch.name!r}, num_classes=...) instead "
                          "of exporting code")
    definitions, call = family.code(config.arch, config.input, build(config))
    c, h, w = config.input.as_tuple()
    return "\n".join([
        f'"""{config.name}: input {config.input}, {config.arch.classes} classes. Exported by cnnlab; needs '
        'only torch.',
        "",
        f"    model = build_model()             # random weights; model(torch.randn(1, {c}, {h}, {w}))",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import torch",
        "from torch import nn",
        "",
        "",
        definitions.rstrip(),
        "",
        "",
        "def build_model() -> nn.Module:",
        f"    return {call}",
        "",
    ])

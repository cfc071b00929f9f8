"""PyTorch code export: a model as a self-contained .py file that needs only torch.

The file defines the network as cnnlab builds it (same state_dict keys and shapes), and
`build_model()` returning it with the exported options.
"""

from __future__ import annotations

from cnnlab.families import family_of
from cnnlab.spec import ModelConfig
from cnnlab.zoo import build


def python_code(config: ModelConfig) -> str:
    """The source of a file that builds `config`'s network with torch alone; a ConfigError where its
    family has no code export."""
    definitions, call = family_of(config.arch).code_of(config.arch, config.input, lambda: build(config))
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

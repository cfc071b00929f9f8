"""cnnlab: build, analyse, train and compare convolutional networks.

The public names are loaded on first use, so `import cnnlab` (and a CLI verb that needs no tensor,
such as `cnnlab runs`) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cnnlab.errors import ConfigError

if TYPE_CHECKING:
    from cnnlab import track
    from cnnlab.analysis import analyze
    from cnnlab.spec import ArchSpec, InputSpec, ModelConfig, model_config
    from cnnlab.zoo import build

# name -> the module it comes from (a submodule itself where the name is the module's)
_LAZY = {"track": "cnnlab.track", "analyze": "cnnlab.analysis", "ArchSpec": "cnnlab.spec",
         "InputSpec": "cnnlab.spec", "ModelConfig": "cnnlab.spec", "model_config": "cnnlab.spec",
         "build": "cnnlab.zoo"}

__all__ = ["ArchSpec", "ConfigError", "InputSpec", "ModelConfig", "analyze", "build", "model_config",
           "track"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__ == f"cnnlab.{name}" else getattr(module, name)
    globals()[name] = value
    return value

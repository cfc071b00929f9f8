"""cnnlab: build, analyse, train and compare convolutional networks."""

from cnnlab import track
from cnnlab.analysis import analyze
from cnnlab.errors import ConfigError
from cnnlab.spec import ArchSpec, InputSpec, ModelConfig, model_config
from cnnlab.zoo import build

__all__ = ["ArchSpec", "ConfigError", "InputSpec", "ModelConfig", "analyze", "build", "model_config",
           "track"]

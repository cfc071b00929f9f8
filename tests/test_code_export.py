"""Code export: the generated file, run on its own, builds cnnlab's network exactly."""

import subprocess
import sys

import pytest
import torch

from cnnlab import ConfigError, build, model_config
from cnnlab.code_export import python_code

# Every preset (small widths and inputs keep the CPU work light) and five seq models.
CASES = [
    ("lenet", "1x28x28", {}),
    ("alexnet", "1x67x67", {"fc_width": 64}),
    *[(f"vgg{n}", "3x32x32", {"width_divisor": 16, "fc_width": 32, "batch_norm": n == 16})
      for n in (11, 13, 16, 19)],
    *[(f"resnet{n}", "3x32x32", {"width_divisor": 16, "stem": "cifar" if n == 34 else "imagenet"})
      for n in (18, 34, 50)],
    ("seq:c5-6p2,sig,a2,c5-16,sig,a2,fc120,sig,fc84,sig,fc10", "1x28x28", {}),
    ("seq:c3-16p1,bn,relu,m3s2p1ceil,c3-16g4psamed2nb,tanh,gap,fc7", "3x20x20", {}),
    ("seq:c7-8s2p3,relu,a3s1p1,flat,bn,drop0.3,fc16,relu,fc5", "2x17x17", {}),
    ("seq:c1-4,sig,c3-4g2,m2s1,fc3", "1x9x9", {}),
    ("seq:fc32,relu,fc4", "1x6x6", {}),
]


def exported(config):
    namespace: dict = {}
    exec(compile(python_code(config), "exported.py", "exec"), namespace)
    return namespace["build_model"]()


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@pytest.mark.parametrize("name, inp, options", CASES)
def test_the_exported_file_loads_cnnlab_weights_and_computes_the_same(name, inp, options):
    config = model_config(name, inp, **options)
    torch.manual_seed(0)
    ours = build(config, device="cpu").eval()
    theirs = exported(config).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, *config.input.as_tuple())
    with torch.no_grad():
        assert (ours(x) - theirs(x)).abs().max().item() <= 1e-6


def test_the_file_imports_only_torch():
    imports = [line for line in python_code(model_config("resnet50")).splitlines()
               if line.startswith(("import ", "from "))]
    assert imports == ["from __future__ import annotations", "import torch", "from torch import nn"]


def test_torchvision_models_are_not_exported():
    with pytest.raises(ConfigError, match="^tv:resnet18 has no code export: the torchvision family holds "
                                          "torchvision's own models, not cnnlab's"):
        python_code(model_config("tv:resnet18"))


@pytest.mark.slow  # a cnnlab process of its own
def test_cli_writes_the_file(tmp_path):
    target = tmp_path / "lenet.py"
    result = subprocess.run([sys.executable, "-m", "cnnlab", "code", "lenet", "--classes", "3", "--output",
                             str(target)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    namespace: dict = {}
    exec(target.read_text(), namespace)
    assert namespace["build_model"]()(torch.zeros(1, 1, 28, 28)).shape == (1, 3)
    bad = subprocess.run([sys.executable, "-m", "cnnlab", "code", "tv:resnet18"], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("cnnlab: error: tv:resnet18 has no code export")

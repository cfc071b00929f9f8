"""The `tv` family: any torchvision classifier, analysed by the same engine; random weights only."""

import json
import subprocess
import sys

import pytest
import torch
import torchvision

from cnnlab import ConfigError, analyze, model_config
from cnnlab.spec import parse_model, to_seq

# (name, input): a plain net, branches (GoogLeNet, Inception), depthwise (MobileNet, EfficientNet,
# ConvNeXt), dense connections, channel shuffles, fire modules, squeeze-excitation (RegNetY).
MODELS = [("resnet18", "3x64x64"), ("googlenet", "3x96x96"), ("inception_v3", "3x299x299"),
          ("mobilenet_v2", "3x64x64"), ("efficientnet_b0", "3x64x64"), ("convnext_tiny", "3x64x64"),
          ("densenet121", "3x64x64"), ("shufflenet_v2_x0_5", "3x64x64"), ("squeezenet1_1", "3x64x64"),
          ("regnet_y_400mf", "3x64x64")]


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@pytest.mark.parametrize("name, inp", MODELS)
def test_params_equal_torchvision_own_model(name, inp):
    summary = analyze(f"tv:{name}", inp, classes=7)
    extra = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
    theirs = getattr(torchvision.models, name)(num_classes=7, **extra)
    assert summary.totals.params == sum(p.numel() for p in theirs.parameters())
    assert summary.classes == 7
    assert summary.final_field is not None and summary.final_field.rf[0] > 1


def test_the_list_is_torchvision_own_and_other_tasks_are_refused():
    names = torchvision.models.list_models(module=torchvision.models)
    assert model_config(f"tv:{names[0]}").name == f"tv:{names[0]}"
    with pytest.raises(ConfigError, match="'fasterrcnn_resnet50_fpn' is not a torchvision classification"):
        parse_model("tv:fasterrcnn_resnet50_fpn")


@pytest.mark.parametrize("model, inp, message", [
    ("tv:vit_b_16", "3x224x192", "cannot run on a 3x224x192 input: Wrong image width! Expected 224"),
    ("tv:vit_b_16", "3x100x100", "cannot run on a 3x100x100 input: Input shape indivisible by patch"),
    ("tv:resnet18", "1x64x64", "tv:resnet18 cannot run on a 1x64x64 input"),
])
def test_a_model_that_cannot_run_at_the_input_gets_the_engine_message(model, inp, message):
    with pytest.raises(ConfigError, match=message):
        analyze(model, inp)


def test_tv_models_have_no_seq_form():
    with pytest.raises(ConfigError, match="tv:resnet18 has no seq form"):
        to_seq(parse_model("tv:resnet18"))


@pytest.mark.slow  # a cnnlab process of its own
def test_cli_summary_of_a_torchvision_model():
    args = ["summary", "tv:convnext_tiny", "--input", "3x224x224", "--levels", "2", "--format", "json"]
    result = subprocess.run([sys.executable, "-m", "cnnlab", *args], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    with torch.device("meta"):
        theirs = torchvision.models.convnext_tiny(num_classes=10)
    assert data["model"] == "tv:convnext_tiny" and data["seq"] is None
    assert data["totals"]["params"] == sum(p.numel() for p in theirs.parameters())
    assert [row["name"] for row in data["layers"][:3]] == ["features.0", "features.1", "features.2"]

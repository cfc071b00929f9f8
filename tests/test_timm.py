"""The `timm` family: any timm model with random weights, analysed by the same engine."""

import json
import re
import subprocess
import sys

import pytest
import torch

from cnnlab import ConfigError, analyze, model_config
from cnnlab.cli import main
from cnnlab.spec import parse_model, to_seq

timm = pytest.importorskip("timm")

# timm's published figures at 224 px (results/benchmark-infer-amp-nchw-pt291-cu128-4090.csv in
# huggingface/pytorch-image-models: param_count in millions, infer_gmacs). Its counter also counts
# normalisation and elementwise work, so it runs above cnnlab's count (EfficientNet-B0's squeeze-
# excitation and batch norm most: 0.386 against 0.40).
PUBLISHED = {"swin_tiny_patch4_window7_224": (28.29, 4.51), "convnext_tiny": (28.59, 4.47),
             "efficientnet_b0": (5.29, 0.40), "resnet50d": (25.58, 4.35)}


@pytest.mark.parametrize("name", PUBLISHED)
def test_cli_summary_matches_timm_own_module_and_published_macs(name, capsys):
    assert main(["summary", f"timm:{name}", "--classes", "1000", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    with torch.device("meta"):
        theirs = timm.create_model(name, pretrained=False, num_classes=1000)
    assert data["input"] == [3, 224, 224]  # the pretrained configuration's size
    assert data["totals"]["params"] == sum(p.numel() for p in theirs.parameters())
    params, gmacs = PUBLISHED[name]
    assert round(data["totals"]["params"] / 1e6, 2) == params
    assert data["totals"]["macs"] / 1e9 == pytest.approx(gmacs, rel=0.04)


def test_default_input_is_the_pretrained_configuration_and_another_size_rebuilds():
    assert model_config("timm:vit_base_patch16_384").input.as_tuple() == (3, 384, 384)
    summary = analyze("timm:vit_small_patch16_224", "3x96x96")  # built for 96 px: 36 patches + class token
    assert [row.output_shape for row in summary.layers if row.name == "patch_embed.proj"] == [(384, 6, 6)]


@pytest.mark.parametrize("model, inp, message", [
    ("timm:no_such_model", None, "'no_such_model' is not a timm model"),
    ("timm:resnet18", "1x64x64", "timm:resnet18 cannot run on a 1x64x64 input"),
    ("timm:vit_small_patch16_224", "1x224x224", "timm:vit_small_patch16_224 cannot run on a 1x224x224"),
])
def test_bad_input_is_one_config_error(model, inp, message):
    with pytest.raises(ConfigError, match=message):
        analyze(model, inp)


def test_timm_models_have_no_seq_form_and_no_code_export(capsys):
    with pytest.raises(ConfigError, match="timm:resnet18 has no seq form"):
        to_seq(parse_model("timm:resnet18"))
    assert main(["code", "timm:resnet18"]) == 2
    assert "timm:resnet18 has no code export" in capsys.readouterr().err


@pytest.mark.slow
def test_a_model_timm_lacks_is_one_line_and_exit_2():
    result = subprocess.run([sys.executable, "-m", "cnnlab", "summary", "timm:no_such_model"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "'no_such_model' is not a timm model" in result.stderr


# Plain residual, dense concatenation, a plain chain (timm's VGG), cross-stage partial, RepVGG's
# training form (3×3, 1×1 and identity branches), Res2Net's chained splits and DLA's tree aggregation
# (both call one ReLU module several times per block): no global gate mixes every position into a unit.
FIELD_MODELS = ["resnet50d", "densenet121", "vgg11", "cspresnet50", "repvgg_a0", "res2net50_26w_4s", "dla34"]


@pytest.mark.slow
@pytest.mark.parametrize("name", FIELD_MODELS)
def test_receptive_fields_bound_the_gradient_of_one_unit(name):
    """The input pixels with a gradient from one unit in the middle of a layer's map span exactly its
    field (an independent computation: autograd through the real model, random weights), for every call
    of that layer whose field fits in the input: a module called again has a row per call ('relu (2)')."""
    side = 160
    layers = analyze(f"timm:{name}", f"3x{side}x{side}").layers
    last = [r for r in layers if r.rf is not None and 16 < r.rf[0] <= side // 2][-1]
    layer = re.sub(r" \(\d+\)$", "", last.name)
    calls = [r for r in layers if r.name == layer or re.fullmatch(rf"{re.escape(layer)} \(\d+\)", r.name)]
    model = timm.create_model(name, pretrained=False).double().eval()
    for module in model.modules():  # timm starts residual branches at zero (their last norm's scale)
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            torch.nn.init.ones_(module.weight)
    outputs = []  # each call's own output, copied: the model may add to it in place later (out += x)
    model.get_submodule(layer).register_forward_hook(lambda m, a, out: outputs.append(out.clone()))
    x = (torch.rand(1, 3, side, side, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
         + 0.1).requires_grad_()
    model(x)
    assert len(outputs) == len(calls)
    checked = 0
    for row, out in zip(calls, outputs, strict=True):
        if row.rf is None:
            continue
        i, j = out.shape[-2] // 2, out.shape[-1] // 2
        centre = (row.start[0] + i * row.jump[0], row.start[1] + j * row.jump[1])
        half = ((row.rf[0] - 1) / 2, (row.rf[1] - 1) / 2)
        if any(centre[a] - half[a] < 0 or centre[a] + half[a] > side - 1 for a in range(2)):
            continue  # the field runs off the input: the gradient is cut at its edge
        x.grad = None
        out[0, :, i, j].sum().backward(retain_graph=True)
        rows_hit, cols_hit = (x.grad[0].abs().sum(0) > 0).nonzero(as_tuple=True)
        assert rows_hit.min() >= centre[0] - half[0] and rows_hit.max() <= centre[0] + half[0]
        assert cols_hit.min() >= centre[1] - half[1] and cols_hit.max() <= centre[1] + half[1]
        assert (rows_hit.max() - rows_hit.min() + 1, cols_hit.max() - cols_hit.min() + 1) == row.rf, row.name
        checked += 1
    assert checked >= 1

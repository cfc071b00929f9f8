"""`python -m cnnlab compare`: ratios B/A against two separate summaries, stages aligned, bad input.

One test runs the command as a user does (a subprocess); the others call the same entry point in-process.
"""

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from cnnlab.analysis import analyze
from cnnlab.cli import main
from cnnlab.compare import aligned_stages, stages


def cnnlab(capsys, *args: str) -> SimpleNamespace:
    """`python -m cnnlab ARGS` in this process: its exit status, stdout and stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


def summary_json(capsys, *args: str) -> dict:
    result = cnnlab(capsys, "summary", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_json_ratios_equal_those_of_two_separate_summaries(capsys):
    result = cnnlab(capsys, "compare", "vgg11", "vgg11", "--a-width-divisor", "4", "--b-input", "1x96x96",
                    "--b-width-divisor", "4", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    a = summary_json(capsys, "vgg11", "--width-divisor", "4")
    b = summary_json(capsys, "vgg11", "--width-divisor", "4", "--input", "1x96x96")
    assert set(data) == {"schema_version", "a", "b", "ratio"}
    assert data["a"] == a and data["b"] == b
    ratio = data["ratio"]
    assert ratio["params"] == b["totals"]["params"] / a["totals"]["params"]
    assert ratio["macs"] == b["totals"]["macs"] / a["totals"]["macs"]
    assert ratio["param_bytes"] == b["totals"]["param_bytes"] / a["totals"]["param_bytes"]
    assert ratio["activation_bytes"] == b["totals"]["activation_bytes"] / a["totals"]["activation_bytes"]
    last_field = [row["rf"][0] for row in b["layers"] if row["rf"]][-1]
    assert last_field == 150 and ratio["rf"] == 1.0  # the field does not depend on the input size
    # At 96 the five blocks leave 3×3 maps instead of 7×7: the convolutions cost (96/224)² as much.
    conv_macs = [sum(r["macs"] for r in s["layers"] if r["type"] == "Conv2d") for s in (a, b)]
    assert conv_macs[1] * 224**2 == conv_macs[0] * 96**2


@pytest.mark.slow  # a cnnlab process of its own
def test_shared_options_apply_to_both_and_the_table_shows_the_ratio():
    command = [sys.executable, "-m", "cnnlab", "compare", "vgg11", "vgg16", "--width-divisor", "4"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    a, b = analyze("vgg11", width_divisor=4), analyze("vgg16", width_divisor=4)
    params_line = next(line for line in result.stdout.splitlines() if line.startswith("Parameters"))
    assert params_line.split()[-1] == f"{b.totals.params / a.totals.params:.3g}×"
    assert "Receptive field" in result.stdout and result.stdout.count("block5") == 2


def test_a_bad_model_exits_2_with_one_line_naming_it(capsys):
    result = cnnlab(capsys, "compare", "vgg11", "vgg99")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("cnnlab: error: model B (vgg99): unknown model 'vgg99'")
    assert len(result.stderr.splitlines()) == 1
    result = cnnlab(capsys, "compare", "lenet", "vgg11", "--input", "1x28x28")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("cnnlab: error: model B (vgg11): VGG block5 (5 of 5): max-pool")


def test_stages_group_a_vgg_by_block_and_align_a_resnet_beside_it():
    vgg, resnet = analyze("vgg11", levels=1), analyze("resnet18", levels=1)
    names = [s.name for s in stages(vgg)]
    assert names == ["block1", "block2", "block3", "block4", "block5", "flatten … fc3"]
    assert sum(s.params for s in stages(vgg)) == vgg.totals.params
    pairs = aligned_stages(vgg, resnet)
    # ResNet-18: stem at 112, maxpool + layer1 at 56, layer2-4, the 1×1 average pool, then the head.
    assert [b.name for _, b in pairs] == ["conv1 … relu", "maxpool … layer1", "layer2", "layer3", "layer4",
                                          "avgpool", "fc"]
    assert pairs[6][0] is None and pairs[4][1].rf == (435, 435)

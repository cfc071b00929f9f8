"""`python -m cnnlab summary` as a user runs it: a real subprocess."""

import csv
import io
import json
import subprocess
import sys

import pytest

from cnnlab.analysis import analyze

pytestmark = pytest.mark.slow  # each test runs cnnlab as a process of its own


def cnnlab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnnlab", *args], capture_output=True, text=True,
                          timeout=120)


def test_json_follows_the_contract_and_matches_the_engine():
    result = cnnlab("summary", "vgg11", "--width-divisor", "4", "--format", "json", "--levels", "1")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    expected = analyze("vgg11", width_divisor=4, levels=1)
    assert data["model"] == "vgg11" and data["input"] == [1, 224, 224] and data["classes"] == 10
    assert data["schema_version"] == 1
    assert data["seq"] == ("seq:c3-16p1,relu,m2,c3-32p1,relu,m2,c3-64p1,relu,c3-64p1,relu,m2,c3-128p1,relu,"
                           "c3-128p1,relu,m2,c3-128p1,relu,c3-128p1,relu,m2,fc4096,relu,drop0.5,fc4096,relu,"
                           "drop0.5,fc10")
    assert [row["output_shape"][0] for row in data["layers"][:5]] == [16, 32, 64, 128, 128]
    assert data["totals"]["params"] == expected.totals.params


def test_csv_has_a_header_and_one_line_per_layer():
    result = cnnlab("summary", "lenet", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 12 and rows[0]["name"] == "conv1" and rows[0]["output_shape"] == "6×28×28"


def test_table_is_aligned_and_ends_with_totals():
    result = cnnlab("summary", "alexnet", "--levels", "1")
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["Layer", "Type", "Output"]
    assert len({len(line) for line in lines[2:5]}) == 1  # aligned rows
    assert any(line.startswith("Total params:      46,764,746") for line in lines)
    assert lines[-1] == "Receptive field:   195 input pixels at pool3"


def test_table_and_json_show_macs_and_flops():
    """LeNet-5 at 1×28×28, by hand: conv1 6·25·28² = 117,600; conv2 16·6·25·10² = 240,000; the FC layers
    400·120 + 120·84 + 84·10 = 58,920. 416,520 MACs, two FLOPs each."""
    table = cnnlab("summary", "lenet").stdout.splitlines()
    assert "MACs per image:    416,520 (416.52K)" in table
    assert "FLOPs per image:   833,040 (833.04K), 2 per MAC" in table
    totals = json.loads(cnnlab("summary", "lenet", "--format", "json").stdout)["totals"]
    assert (totals["macs"], totals["flops"]) == (416_520, 833_040)


@pytest.mark.parametrize("args, message", [
    (["summary", "vgg:1x8,1x8,1x8,1x8,1x8,1x8", "--input", "1x28x28"],
     "VGG block5 (5 of 6): max-pool 2×2 on a 1×1 map; input 28×28 supports at most 4 pooling blocks"),
    (["summary", "resnet101"], "unknown model 'resnet101'"),
    (["summary", "vgg:2x0"], "VGG block 1: output channels must be at least 1, got 0"),
    (["summary", "lenet", "--input", "1x28"], "is not of the form CxHxW"),
    (["summary", "lenet", "--input", "1e9"], "input '1e9' is not of the form CxHxW"),
    (["summary", "lenet", "--input", "1x1000000000x1000000000"],
     "input height is 1000000000; cnnlab caps it at 1024"),
    (["summary", "lenet", "--input", "1x99999x28"], "input height is 99999; cnnlab caps it at 1024"),
    (["summary", "lenet", "--input", "4097x28x28"], "input channels is 4097; cnnlab caps it at 4096"),
    (["summary", "lenet", "--stem", "cifar"], "'stem' does not apply to lenet"),
    (["summary", "lenet", "--classes", "ten"], "argument --classes: 'ten' is not a whole number"),
    (["summary", "lenet", "--levels", "0"], "levels must be a whole number of at least 1"),
    (["summary", "resnet18", "--depth", "7"], "argument --depth: '7' is not one of 18, 34, 50"),
    (["summary", "lenet", "--depth", "18"], "option 'depth' does not apply to lenet"),
    (["summary", "seq:c5-6,sig,a2,c5-16,c5-16,fc10", "--input", "1x16x16"],
     "layer 5 of 6 (conv 5×5): input map 2×2 is smaller than the kernel"),
    (["summary", "seq:c3-8,fc10,c3-8"],
     "layer 3 of 4 (conv 3×3): needs a spatial map, but layer 2 (linear 10) flattened it to 10 features"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_input_exits_2_with_one_clear_line(args, message):
    result = cnnlab(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr

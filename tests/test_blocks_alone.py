"""A block from the middle of a network, analysed on its own: inputs take as many channels as any layer,
and the number of values in one input image is bounded instead. Figures derived by hand."""

import pytest
from torch import nn

from cnnlab import ConfigError, InputSpec, analyze
from cnnlab.cli import main
from cnnlab.families.resnet import Bottleneck


@pytest.mark.parametrize("c", [64, 256])
def test_one_5x5_against_two_3x3_on_c_channels_at_14x14(c):
    """5×5: 25·C² weights + C biases, 25·C²·196 MACs; each 3×3: 9·C² + C weights, 9·C²·196 MACs."""
    one = analyze(f"seq:c5-{c}p2,relu,gap", f"{c}x14x14").layers
    two = analyze(f"seq:c3-{c}p1,relu,c3-{c}p1,relu,gap", f"{c}x14x14").layers
    assert (one[0].params, one[0].macs, one[0].rf) == (25 * c * c + c, 25 * c * c * 196, (5, 5))
    assert [(r.params, r.macs) for r in two if r.type == "Conv2d"] == [(9 * c * c + c, 9 * c * c * 196)] * 2
    assert two[2].rf == (5, 5)
    expected = {64: (102_464, 20_070_400, 36_928, 7_225_344), 256: (1_638_656, 321_126_400, 590_080,
                                                                   115_605_504)}[c]
    assert (one[0].params, one[0].macs, two[0].params, two[0].macs) == expected


def test_a_resnet_bottleneck_at_256_channels_in():
    """layer1's second block of ResNet-50 at 56×56: 1×1 256→64, 3×3 64→64, 1×1 64→256 (no bias), batch
    norms of 64, 64 and 256 channels (weight and bias each), identity shortcut."""
    summary = analyze(Bottleneck(256, 64), (256, 56, 56))
    convs = [(r.params, r.macs) for r in summary.layers if r.type == "Conv2d"]
    assert convs == [(16_384, 16_384 * 3136), (36_864, 36_864 * 3136), (16_384, 16_384 * 3136)]
    assert summary.totals.params == 16_384 + 36_864 + 16_384 + 2 * (64 + 64 + 256) == 70_400
    assert summary.totals.macs == 218_365_952 and summary.totals.flops == 436_731_904
    assert summary.layers[-1].output_shape == (256, 56, 56) and summary.final_field.rf == (3, 3)


def test_a_plain_conv_module_on_256_channels():
    summary = analyze(nn.Conv2d(256, 512, 3, stride=2, padding=1), (256, 28, 28))
    assert summary.totals.params == 9 * 256 * 512 + 512 == 1_180_160
    assert summary.totals.macs == 9 * 256 * 512 * 14 * 14 == 231_211_008


@pytest.mark.parametrize("text, message", [
    ("4097x8x8", "input channels is 4097; cnnlab caps it at 4096"),
    # a number of any length is named as written, not called a malformed input
    ("3x1000000000x1000000000", "input height is 1000000000; cnnlab caps it at 1024"),
    ("1x28x00099999999999", "input width is 00099999999999; cnnlab caps it at 1024"),
    ("1x28x" + "9" * 5000, "input width is " + "9" * 60 + "… (5,000 characters); cnnlab caps it at 1024"),
    ("256x512x512", "input 256x512x512 holds 67,108,864 values per image; cnnlab caps an input at "
                    "16,777,216 (e.g. 16x1024x1024, 64x512x512, 256x256x256)"),
    ("4096x1024x1024", "holds 4,294,967,296 values per image"),
])
def test_an_absurd_input_is_refused_naming_the_bound(text, message):
    with pytest.raises(ConfigError) as err:
        InputSpec.parse(text)
    assert message in str(err.value)


@pytest.mark.parametrize("text", ["16x1024x1024", "64x512x512", "256x256x256", "4096x64x64"])
def test_inputs_at_the_bound_are_taken(text):
    assert str(InputSpec.parse(text)) == text


def test_the_cli_summarises_a_block_alone_and_refuses_too_large_an_input(capsys):
    assert main(["summary", "seq:c5-256p2,relu,gap", "--input", "256x14x14"]) == 0
    out = capsys.readouterr().out
    assert "Total params:      1,641,226 (1.64M)" in out  # 1,638,656 for the conv, 256·10 + 10 for fc10
    assert main(["summary", "lenet", "--input", "64x1024x1024"]) == 2
    err = capsys.readouterr().err
    assert err == ("cnnlab: error: input 64x1024x1024 holds 67,108,864 values per image; cnnlab caps an "
                   "input at 16,777,216 (e.g. 16x1024x1024, 64x512x512, 256x256x256)\n")

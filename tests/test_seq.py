"""The `seq` family: its grammar, round trips, errors naming the layer, presets as seq, real forwards."""

import json
import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from cnnlab import ConfigError, ModelConfig, analyze, build, model_config
from cnnlab.families.seq import Layer, SeqSpec
from cnnlab.spec import PRESETS, parse_model, to_seq

LENET = "c5-6p2,sig,a2,c5-16,sig,a2,fc120,sig,fc84,sig,fc10"


def test_lenet_string_is_lenet():
    config = model_config("seq:" + LENET)
    ours, textbook = analyze(config), analyze("lenet")
    assert [(r.name, r.type, r.output_shape, r.params) for r in ours.layers] == [
        (r.name, r.type, r.output_shape, r.params) for r in textbook.layers]
    assert ours.totals == textbook.totals


def test_grammar_reads_every_argument():
    spec = SeqSpec.parse("c3-32g32p1,c11-96s4p1,c3-8psamed2nb,m3s2p1ceil,a2,bn,relu,sig,tanh,drop0.25,gap,"
                         "flat,fc7")
    assert spec.layers[0] == Layer("conv", kernel=3, out=32, groups=32, padding=1)
    assert spec.layers[1] == Layer("conv", kernel=11, out=96, stride=4, padding=1)
    assert spec.layers[2] == Layer("conv", kernel=3, out=8, padding="same", dilation=2, bias=False)
    assert spec.layers[3] == Layer("max", kernel=3, stride=2, padding=1, ceil=True)
    assert spec.layers[4] == Layer("avg", kernel=2, stride=2)
    assert [x.kind for x in spec.layers[5:]] == ["bn", "relu", "sig", "tanh", "drop", "gap", "flat"]
    assert spec.layers[9].p == 0.25 and spec.classes == 7


def test_suffixes_may_come_in_any_order():
    assert SeqSpec.parse("c3-32g32nbp1s2,m3ceilp1s2") == SeqSpec.parse("c3-32s2p1g32nb,m3s2p1ceil")


def test_without_a_last_fc_the_classes_option_adds_it():
    config = model_config("seq:c3-8,relu,gap", "3x16x16", classes=5)
    assert config.name == "seq:c3-8,relu,gap,fc5"
    rows = analyze(config).layers
    assert [r.name for r in rows] == ["conv1", "relu1", "gap1", "flatten", "fc1"]
    assert rows[-1].output_shape == (5,) and rows[-1].params == 8 * 5 + 5


@pytest.mark.parametrize("text", [
    LENET, "c3-64p1,bn,relu,m2,c3-128p1,relu,m3s2p1ceil,gap,fc10",
    "c7-16s2p3nb,bn,relu,a3s1p1,flat,drop0.5,fc3",
    "c3-32p1g32,c1-64,tanh,c3-64psamed2,m2s1,fc2", "fc100,relu,fc10",
])
def test_strings_round_trip_through_cli_url_and_json(text):
    """parse -> format -> parse; the formatted form is canonical (suffixes in the order s p d g nb)."""
    spec = parse_model("seq:" + text)
    assert spec.text() == text
    assert SeqSpec.parse(spec.text()) == spec
    config = model_config(spec, "3x32x32")
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize("text, message", [
    ("c3-8,x7,fc10", "layer 2 of 3 ('x7'): 'x7' is not a layer"),
    ("c3-,fc10", "layer 1 of 2 ('c3-'): 'c3-' is not a layer"),
    ("c3-8,m,fc10", "layer 2 of 3 ('m'): 'm' is not a layer"),
    ("c3-0,fc10", "layer 1 of 2 ('c3-0'): output channels must be at least 1, got 0"),
    ("c3--8,fc10", "layer 1 of 2 ('c3--8'): 'c3--8' is not a layer"),
    ("c3-8s0,fc10", "layer 1 of 2 ('c3-8s0'): stride must be at least 1, got 0"),
    ("c3-8,c3-6g4,fc10", "layer 2 of 3 ('c3-6g4'): groups 4 does not divide the 6 output channels"),
    ("c3-8,relu,", "layer 3 of 3 (''): empty layer (a trailing or doubled comma?)"),
    ("c3-8,,relu", "layer 2 of 3 (''): empty layer"),
    ("c٣-8,fc10", "layer 1 of 2 ('c٣-8'): 'c٣-8' is not a layer"),
    ("c3-99999999,fc10", "layer 1 of 2 ('c3-99999999'): output channels is 99999999; cnnlab caps it at 4096"),
    ("c999-8,fc10", "kernel is 999; cnnlab caps it at 64"),
    ("c3-8" + "9" * 5000, "layer 1 of 1 ('c3-8999"),
    ("c3-8x2,fc10", "conv suffix 'x2' is not understood"),
    ("c3-8s2s2,fc10", "stride is given twice"),
    ("c3-8ceil,fc10", "a conv takes no 'ceil' suffix"),
    ("m2nb,fc10", "a max-pool takes no 'nb' suffix"),
    ("c3-8s2psame,fc10", "padding 'same' needs a convolution of stride 1"),
    ("m3p2,fc10", "padding 2 is more than half the kernel 3"),
    ("drop1.5,fc10", "dropout must be a number in [0, 1), got 1.5"),
    ("c3-8,fc1", "layer 2 of 2 (fc1): classes must be at least 2, got 1"),
    ("", "seq needs at least one layer"),
    (",".join(["relu"] * 300), "seq has 300 layers; cnnlab caps it at 256"),
])
def test_bad_strings_name_the_layer(text, message):
    with pytest.raises(ConfigError) as err:
        SeqSpec.parse(text)
    assert message in str(err.value)


@pytest.mark.parametrize("text, inp, message", [
    ("c5-6,sig,a2,c5-16,c5-16,fc10", "1x16x16",
     "layer 5 of 6 (conv 5×5): input map 2×2 is smaller than the kernel"),
    ("c3-9g3,fc10", "1x8x8", "layer 1 of 2 (conv 3×3): groups 3 does not divide the 1 input channels"),
    ("c3-8,m2,m2,m2", "1x8x8", "layer 4 of 5 (max-pool 2×2): input map 1×1 is smaller than the kernel"),
    ("c3-8d4,fc10", "1x8x8",
     "layer 1 of 2 (conv 3×3): input map 8×8 is smaller than the kernel (dilated to 9×9)"),
    ("c7-8p1,fc10", "1x4x4",
     "layer 1 of 2 (conv 7×7): input map 4×4 (padded by 1) is smaller than the kernel"),
    ("fc32,c3-8,fc10", "1x8x8",
     "layer 2 of 3 (conv 3×3): needs a spatial map, but layer 1 (linear 32) flattened"),
    ("flat,m2,fc10", "1x8x8",
     "layer 2 of 3 (max-pool 2×2): needs a spatial map, but layer 1 (flatten) flattened"),
    ("c3-8,flat,flat,fc10", "1x8x8", "layer 3 of 4 (flatten): needs a spatial map"),
    ("gap,fc32,gap,fc10", "1x8x8", "layer 3 of 4 (global average pool): needs a spatial map"),
])
def test_maps_that_do_not_fit_name_the_layer(text, inp, message):
    with pytest.raises(ConfigError) as err:
        build(model_config("seq:" + text, inp))
    assert message in str(err.value)


def _rows(summary):
    return [(r.type, r.output_shape, r.params, r.macs, r.rf, r.jump, r.start) for r in summary.layers]


@pytest.mark.parametrize("name", [n for n in PRESETS if not n.startswith("resnet")])
@pytest.mark.parametrize("options", [{}, {"classes": 7}])
def test_each_preset_as_seq_has_the_same_table_params_and_fields(name, options):
    if name.startswith("vgg"):
        options = {**options, "width_divisor": 4, "batch_norm": True, "fc_width": 512}
    config = model_config(name, **options)
    as_seq = ModelConfig(to_seq(config.arch), config.input)
    ours, theirs = analyze(as_seq), analyze(config)
    assert _rows(ours) == _rows(theirs)
    assert ours.totals.params == theirs.totals.params and ours.totals.macs == theirs.totals.macs
    final = (ours.final_field.rf, ours.final_field.jump, ours.final_field.start)
    assert final == (theirs.final_field.rf, theirs.final_field.jump, theirs.final_field.start)


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "tv:resnet18"])
def test_networks_with_branches_have_no_seq_form(name):
    with pytest.raises(ConfigError, match="has no seq form"):
        to_seq(parse_model(name))


CONV = st.builds(
    lambda k, out, s, p, d, g, nb: f"c{k}-{out * g}" + (f"s{s}" if s > 1 else "") + p
    + (f"d{d}" if d > 1 else "") + (f"g{g}" if g > 1 else "") + ("nb" if nb else ""),
    st.integers(1, 5), st.integers(1, 4), st.integers(1, 3), st.sampled_from(["", "p1", "p2", "psame"]),
    st.integers(1, 2), st.sampled_from([1, 1, 2]), st.booleans())
POOL = st.builds(lambda kind, k, s, p, ceil: f"{kind}{k}" + (f"s{s}" if s else "") + p
                 + ("ceil" if ceil else ""),
                 st.sampled_from("ma"), st.integers(1, 3), st.integers(0, 2), st.sampled_from(["", "p1"]),
                 st.booleans())
OTHER = st.sampled_from(["bn", "relu", "sig", "tanh", "drop0.5", "gap", "flat", "fc8", "fc3"])
LAYERS = st.lists(st.one_of(CONV, POOL, OTHER), min_size=1, max_size=8)


MAP_LAYERS = ("conv", "max", "avg", "gap", "flat")  # the grammar's layers that need a C×H×W map
CONV_TOKEN = re.compile(r"c(?P<k>\d)-(?P<out>\d+)(?:s(?P<s>\d))?(?:p(?P<p>\d|same))?(?:d(?P<d>\d))?"
                        r"(?:g(?P<g>\d))?(?P<nb>nb)?")
POOL_TOKEN = re.compile(r"(?P<kind>[ma])(?P<k>\d)(?:s(?P<s>\d))?(?:p(?P<p>\d))?(?P<ceil>ceil)?")


def torch_layer(token: str, channels: int) -> tuple[str, nn.Module, int]:
    """The token as the grammar (cnnlab/families/seq.py's docstring) defines it, made straight from
    torch.nn for an input of `channels`: (kind, module, the window's reach along one side, else 0)."""
    if conv := CONV_TOKEN.fullmatch(token):
        k, groups, dilation = int(conv["k"]), int(conv["g"] or 1), int(conv["d"] or 1)
        padding = "same" if conv["p"] == "same" else int(conv["p"] or 0)
        module = nn.Conv2d(channels, int(conv["out"]), k, stride=int(conv["s"] or 1), padding=padding,
                           dilation=dilation, groups=groups, bias=not conv["nb"])
        return "conv", module, 0 if padding == "same" else dilation * (k - 1) + 1 - 2 * padding
    if pool := POOL_TOKEN.fullmatch(token):
        k, kind = int(pool["k"]), nn.MaxPool2d if pool["kind"] == "m" else nn.AvgPool2d
        padding = int(pool["p"] or 0)
        module = kind(k, stride=int(pool["s"] or k), padding=padding, ceil_mode=bool(pool["ceil"]))
        return "max" if pool["kind"] == "m" else "avg", module, k - 2 * padding
    if token.startswith("fc"):
        return "fc", nn.LazyLinear(int(token[2:])), 0
    if token.startswith("drop"):
        return "drop", nn.Dropout(float(token[4:])), 0
    kinds = {"bn": nn.LazyBatchNorm2d, "relu": nn.ReLU, "sig": nn.Sigmoid, "tanh": nn.Tanh,
             "gap": lambda: nn.AdaptiveAvgPool2d(1), "flat": nn.Flatten}
    return token, kinds[token](), 0


def first_layer_torch_refuses(tokens: list[str], channels: int, side: int) -> int | None:
    """The position (from 1) of the layer cnnlab must name when PyTorch's own layers refuse the chain,
    or None when it runs. A layer PyTorch refuses whatever its input (its arguments alone, tried on a
    64×64 map with channels enough for its groups) comes first; else the first that cannot take its
    input. Besides PyTorch's own refusals, the grammar's two rules: a map layer needs a C×H×W map, and
    a window (padding included) must cover the map, even where a ceil-mode pool would let it hang off."""
    tokens = tokens if tokens[-1].startswith("fc") else [*tokens, "fc10"]  # the classes option's default
    for i, token in enumerate(tokens, 1):
        window = CONV_TOKEN.fullmatch(token) or POOL_TOKEN.fullmatch(token)
        if window:
            groups = int(window.groupdict().get("g") or 1)
            try:
                torch_layer(token, groups)[1](torch.zeros(1, groups, 64, 64))
            except (ValueError, RuntimeError):
                return i
    x = torch.randn(2, channels, side, side)
    for i, token in enumerate(tokens, 1):
        try:
            kind, module, reach = torch_layer(token, x.shape[1])
            if kind in MAP_LAYERS and (x.dim() != 4 or min(x.shape[2:]) < reach):
                return i
            if kind == "fc":
                x = x.flatten(1)
            if kind == "bn" and x.dim() == 2:
                module = nn.LazyBatchNorm1d()
            x = module.eval()(x)
        except (ValueError, RuntimeError):
            return i
    return None


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tokens=LAYERS, channels=st.sampled_from([1, 2, 3]), side=st.integers(1, 12))
def test_random_layer_lists_summarise_like_a_real_forward_or_name_the_layer_pytorch_refuses(
        tokens, channels, side):
    refused_at = first_layer_torch_refuses(tokens, channels, side)
    if refused_at is not None:
        with pytest.raises(ConfigError, match=f"^layer {refused_at} of "):
            analyze(model_config("seq:" + ",".join(tokens), f"{channels}x{side}x{side}"))
        return
    config = model_config("seq:" + ",".join(tokens), f"{channels}x{side}x{side}")
    summary = analyze(config)
    model = build(config, device="cpu").eval()
    shapes = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[1:])))
             for m in model.children()]
    with torch.no_grad():
        model(torch.randn(2, channels, side, side))
    for hook in hooks:
        hook.remove()
    assert [r.output_shape for r in summary.layers] == shapes
    assert summary.totals.params == sum(p.numel() for p in model.parameters())

"""The analysis engine: receptive fields, MACs, memory, any nn.Module, and robustness."""

import json
import math

import pytest
import torch
import torch.nn.functional as F
import torchvision
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlab import ConfigError, build, model_config
from cnnlab.analysis import analyze
from cnnlab.families import PRESETS


def rows_by_name(summary):
    return {row.name: row for row in summary.layers}


def test_textbook_receptive_fields_of_the_last_pooling_layers():
    alexnet = rows_by_name(analyze("alexnet"))
    assert alexnet["pool3"].rf == (195, 195)
    vgg16 = analyze("vgg16", "3x224x224")
    pools = [row for row in vgg16.layers if row.type == "MaxPool2d"]
    assert pools[-1].rf == (212, 212)
    # Hand derivation: each 2x2/2 pool moves the first centre by half the incoming jump.
    assert pools[-1].jump == (32, 32)
    assert pools[-1].start == (0.5 + 1 + 2 + 4 + 8,) * 2


def test_resnet18_fields_match_a_hand_derivation():
    # conv1 7x7/2: 7 (jump 2); maxpool 3x3/2: 7 + 2*2 = 11 (jump 4)
    # layer1: four 3x3 convs at jump 4: 11 + 4*2*4 = 43
    # layer2: 3x3/2 at jump 4: 43 + 8 = 51 (jump 8); 3x3: 67; block 2: 67 + 16 + 16 = 99
    #   (the 1x1/2 shortcut sees 43 < 67: the union is the main path's 67)
    # layer3: 99 + 16 = 115 (jump 16); 147; 179; 211
    # layer4: 211 + 32 = 243 (jump 32); 307; 371; 435
    expected = {"conv1": 7, "maxpool": 11, "layer1": 43, "layer2": 99, "layer3": 211, "layer4": 435}
    rows = rows_by_name(analyze("resnet18", "3x224x224", levels=1))
    assert {name: rows[name].rf[0] for name in expected} == expected
    assert rows["layer4"].jump == (32, 32)
    assert rows["avgpool"].rf is None and rows["fc"].rf is None
    inner = rows_by_name(analyze("resnet18", "3x224x224"))
    assert inner["layer2.0.downsample.0"].rf == (43, 43)
    assert inner["layer2.0.conv2"].rf == (67, 67)


def test_resnet50_fields_match_a_hand_derivation():
    # Bottlenecks have one 3x3 each (the stride sits on it): layer1 11 + 3*2*4 = 35;
    # layer2 35 + 8 = 43 (jump 8), + 3*16 = 91; layer3 91 + 16 = 107 (jump 16), + 5*32 = 267;
    # layer4 267 + 32 = 299 (jump 32), + 2*64 = 427.
    rows = rows_by_name(analyze("resnet50", "3x224x224", levels=1))
    assert [rows[f"layer{i}"].rf[0] for i in range(1, 5)] == [35, 91, 267, 427]


class TwoPaths(nn.Module):
    """A concatenation of a 5x5 path and a path that pads only top/left before a 3x3 'valid' conv."""

    def __init__(self):
        super().__init__()
        self.wide = nn.Conv2d(1, 2, 5, padding=2)
        self.shifted = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        return torch.cat([self.wide(x), self.shifted(F.pad(x, (2, 0, 2, 0)))], dim=1)


def test_fields_merge_as_the_union_of_branch_windows():
    # wide: pixels [-2, 2] around 0; shifted: start 0 - 2 + 1 = -1 with rf 3, so [-2, 0].
    rows = analyze(TwoPaths(), (1, 16, 16)).layers
    assert rows_by_name(analyze(TwoPaths(), (1, 16, 16)))["shifted"].start == (-1.0, -1.0)
    merged = analyze(nn.Sequential(TwoPaths(), nn.ReLU()), (1, 16, 16)).layers[-1]
    assert merged.rf == (5, 5) and merged.start == (0.0, 0.0)
    assert len(rows) == 2


class ChainedSplits(nn.Module):
    """Res2Net's block in small: four channel groups; each 3x3 sees its group plus the previous 3x3's
    output, the last group passes through, and one ReLU module runs after every step."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 3, padding=1) for _ in range(3))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        groups = torch.split(self.relu(self.stem(x)), 1, 1)
        outs = []
        for i, conv in enumerate(self.convs):
            outs.append(self.relu(conv(groups[i] if i == 0 else outs[-1] + groups[i])))
        return self.relu(torch.cat([*outs, groups[-1]], 1))


def test_a_module_called_again_has_each_calls_own_field():
    # stem 3x3/2: 3 (jump 2); each 3x3 adds 2*2 = 4 to the union of its group (3) and the previous
    # 3x3's path: 7, 11, 15; the concatenation is the union of 7, 11, 15 and the passed-on group's 3.
    rows = rows_by_name(analyze(ChainedSplits(), (1, 32, 32)))
    relus = ["relu", "relu (2)", "relu (3)", "relu (4)", "relu (5)"]
    assert [rows[name].rf for name in relus] == [(3, 3), (7, 7), (11, 11), (15, 15), (15, 15)]
    assert [rows[f"convs.{i}"].rf[0] for i in range(3)] == [7, 11, 15]
    assert all(rows[name].jump == (2, 2) and rows[name].start == (0.0, 0.0) for name in relus)


def test_analyzing_a_torchvision_model_matches_the_preset():
    ours = analyze("resnet18", "3x224x224", classes=1000)
    module = torchvision.models.resnet18()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    theirs = analyze(module, (3, 224, 224))
    assert theirs.layers == ours.layers
    assert theirs.totals == ours.totals
    assert module.training and all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert next(module.parameters()).device.type == "cpu"


def flop_counter_flops(model: nn.Module, shape) -> int:
    """An independent count: every FLOP PyTorch's FlopCounterMode sees in one image's forward pass."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(torch.empty(1, *shape, device="meta"))
    return counter.get_total_flops()


TORCHVISION = ["mobilenet_v3_small", "efficientnet_b0", "densenet121", "convnext_tiny", "shufflenet_v2_x1_0",
               "swin_t", "vit_b_16", "maxvit_t"]


@pytest.mark.parametrize("name", [*PRESETS, *(f"tv:{n}" for n in TORCHVISION)])
def test_flops_and_macs_equal_flop_counter_mode(name):
    """FLOPs = 2 × MACs, and both count exactly what FlopCounterMode counts in these networks:
    convolutions and every matrix product (attention's included), without bias, batch norm, pooling,
    activations or additions."""
    config = model_config(name)
    if name.startswith("tv:"):
        with torch.device("meta"):
            model = torchvision.models.get_model(name[3:], num_classes=config.arch.classes)
    else:
        model = build(config)
    expected = flop_counter_flops(model, config.input.as_tuple())
    summary = analyze(config)
    assert summary.totals.flops == expected
    assert summary.totals.macs * 2 == expected
    assert sum(row.macs for row in analyze(config, levels=1).layers) * 2 == expected


class SelfAttention(nn.Module):
    """Attention over the positions of a feature map; with `kdim`, keys and values have fewer features."""

    def __init__(self, kdim: int | None = None, need_weights: bool = False):
        super().__init__()
        self.kdim, self.need_weights = kdim, need_weights
        self.attention = nn.MultiheadAttention(16, 4, batch_first=True, kdim=kdim, vdim=kdim)

    def forward(self, x):
        tokens = x.flatten(2).transpose(1, 2)
        context = tokens[..., : self.kdim] if self.kdim else tokens
        return self.attention(tokens, context, context, need_weights=self.need_weights)[0]


@pytest.mark.parametrize("make, shape", [
    (SelfAttention, (16, 4, 5)), (lambda: SelfAttention(kdim=8), (16, 4, 5)),
    (lambda: SelfAttention(need_weights=True), (16, 4, 5)),
])
def test_multi_head_attention_counts_its_projections_and_products(make, shape):
    model = make()
    # 20 positions, 16 features: projections 20·(3·16·16 + 16·16) = 20,480 (with kdim 8, keys and values
    # 20·16·8 each: 15,360); products q·kᵀ and weights·v, 20·20·16 each: 12,800.
    projections = 15_360 if model.kdim else 20_480
    assert analyze(model, shape).totals.macs == projections + 12_800
    assert analyze(model, shape).totals.macs * 2 == flop_counter_flops(model.to("meta"), shape)


class Product(nn.Module):
    """One call of `op` on the input and constant factors of the given shapes."""

    def __init__(self, op, *shapes):
        super().__init__()
        self.op = op
        for i, shape in enumerate(shapes):
            self.register_buffer(f"f{i}", torch.zeros(shape))

    def forward(self, x):
        return self.op(x, *self.buffers())


@pytest.mark.parametrize("op, shapes, shape, macs", [
    # by hand: output elements × the length of each sum
    (lambda x, w: F.conv1d(x[0], w, groups=2, dilation=2), [(6, 2, 3)], (1, 4, 11), 6 * 7 * 2 * 3),
    (lambda x, w: F.conv3d(x.view(1, 2, 7, 7, 7), w, stride=2), [(5, 2, 3, 3, 3)], (2, 7, 49),
     5 * 27 * 2 * 27),
    (lambda x, w: F.conv_transpose2d(x, w, stride=2, groups=2), [(4, 3, 3, 3)], (4, 5, 5),
     4 * 25 * 3 * 9),  # each input value times its group's 3 output channels × 3×3 kernel
    (lambda x, w: x[0, 0] @ w, [(6, 3)], (1, 5, 6), 5 * 3 * 6),
    (lambda x, w: torch.matmul(x, w), [(6,)], (2, 5, 6), 2 * 5 * 6),
    (lambda x, w: torch.bmm(x[0], w), [(4, 6, 2)], (4, 3, 6), 4 * 3 * 2 * 6),
    (lambda x, c, w: torch.baddbmm(c, x[0], w), [(4, 3, 2), (4, 6, 2)], (4, 3, 6), 4 * 3 * 2 * 6),
    (lambda x, c, w: torch.addmm(c, x[0, 0], w), [(3, 2), (6, 2)], (1, 3, 6), 3 * 2 * 6),
    (lambda x, w: torch.mm(x[0, 0], w), [(6, 2)], (1, 3, 6), 3 * 2 * 6),
    (lambda x, w: torch.einsum("bhid,bhjd->bhij", x, w), [(1, 2, 7, 6)], (2, 5, 6), 2 * 5 * 7 * 6),
    (lambda x, w: torch.einsum("bij,jk", x[0], w), [(6, 4)], (1, 5, 6), 5 * 4 * 6),
    (lambda x, w: torch.einsum("bij,bij->bij", x[0], w), [(1, 5, 6)], (1, 5, 6), 0),  # elementwise
    (lambda x, w, v: torch.einsum("bij,jk,kl->bil", x[0], w, v), [(6, 4), (4, 3)], (1, 5, 6),
     5 * 6 * 4 + 5 * 4 * 3),
    (lambda x, k, v: F.scaled_dot_product_attention(x, k, v), [(1, 2, 7, 6), (1, 2, 7, 3)], (2, 5, 6),
     2 * 5 * 7 * (6 + 3)),
])
def test_every_product_counts_its_multiply_accumulates(op, shapes, shape, macs):
    model = Product(op, *shapes)
    assert analyze(model, shape).totals.macs == macs
    # FlopCounterMode agrees, except that it leaves out a product with a vector (aten.mv)
    vector = any(len(s) == 1 for s in shapes)
    assert flop_counter_flops(model.to("meta"), shape) == (0 if vector else 2 * macs)


def test_totals_are_consistent():
    summary = analyze("vgg11")
    t = summary.totals
    assert t.params == sum(row.params for row in summary.layers)
    assert t.param_bytes == 4 * t.params
    # In-place ReLUs, the Flatten view and eval-mode dropout share their input's memory: counted once.
    shared = ("ReLU", "Flatten", "Dropout")
    assert t.activation_bytes == sum(row.output_bytes for row in summary.layers if row.type not in shared)


def test_json_contract():
    data = json.loads(json.dumps(analyze("lenet").to_dict()))
    assert set(data) == {"model", "input", "classes", "layers", "totals"}
    assert data["input"] == [1, 28, 28] and data["classes"] == 10
    assert set(data["totals"]) == {"params", "trainable_params", "macs", "param_bytes", "activation_bytes",
                                    "flops"}
    assert {"name", "type", "depth", "output_shape", "params", "macs", "rf", "jump", "start"} <= set(
        data["layers"][0])
    assert data["layers"][-1]["rf"] is None


def test_frame_has_one_row_per_layer():
    summary = analyze("vgg16", levels=1)
    frame = summary.to_frame()
    assert len(frame) == len(summary.layers) and frame.loc[0, "output_shape"] == "64×112×112"


def test_module_needs_an_input_shape():
    with pytest.raises(ConfigError, match="needs an input shape"):
        analyze(nn.Conv2d(1, 1, 3))
    with pytest.raises(ConfigError, match="levels must be"):
        analyze("lenet", levels=0)


def test_a_module_that_cannot_run_on_the_input_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot run on a 3x8x8 input"):
        analyze(nn.Conv2d(1, 4, 3), (3, 8, 8))


class RaisesValueError(nn.Module):
    def forward(self, x):
        raise ValueError("this model wants 5 channels")


def test_anything_a_forward_raises_and_a_wrong_argument_are_config_errors():
    with pytest.raises(ConfigError, match="cannot run on a 3x8x8 input: this model wants 5 channels"):
        analyze(RaisesValueError(), (3, 8, 8))
    with pytest.raises(ConfigError, match="not int"):
        analyze(123)


def test_adaptive_pooling_has_a_field_only_where_its_windows_are_fixed():
    def pooled_field(side: int, out: int):
        model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(out))
        return analyze(model, (1, side, side)).layers[-1]

    fixed = analyze(nn.Sequential(nn.Conv2d(1, 1, 3), nn.AvgPool2d(2)), (1, 10, 10)).layers[-1]
    assert (pooled_field(10, 4).rf, pooled_field(10, 4).jump) == (fixed.rf, fixed.jump) == ((4, 4), (2, 2))
    assert pooled_field(10, 8).rf == (3, 3)  # same size: unchanged
    assert pooled_field(10, 3).rf is None  # windows of 3 and 4 pixels: no single field
    assert pooled_field(4, 7).rf is None  # an enlarged map
    alexnet = analyze(torchvision.models.alexnet(), (3, 64, 64))
    assert alexnet.final_field.rf == (195, 195)  # features end at 1×1, avgpool enlarges it to 6×6


class ChannelsLastBlock(nn.Module):
    """Conv, then LayerNorm and Linear on a channels-last view (as ConvNeXt does), then conv again."""

    def __init__(self):
        super().__init__()
        self.conv1, self.norm, self.mix, self.conv2 = (nn.Conv2d(3, 8, 3), nn.LayerNorm(8), nn.Linear(8, 8),
                                                       nn.Conv2d(8, 8, 3))

    def forward(self, x):
        x = self.conv1(x).permute(0, 2, 3, 1)
        return self.conv2(self.mix(self.norm(x)).permute(0, 3, 1, 2))


class GlobalMix(nn.Module):
    """A residual merge with a branch that mixes every position (like attention): no single field."""

    def forward(self, x):
        return x + x.flatten(2).softmax(-1).view_as(x)


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_fields_follow_permuted_maps_and_end_where_a_branch_mixes_every_position():
    rows = analyze(ChannelsLastBlock(), (3, 16, 16)).layers
    assert [r.rf for r in rows] == [(3, 3), (3, 3), (3, 3), (5, 5)]
    assert [r.output_shape for r in rows] == [(8, 14, 14), (14, 14, 8), (14, 14, 8), (8, 12, 12)]
    assert analyze(nn.Sequential(nn.Conv2d(1, 1, 3), GlobalMix()), (1, 8, 8)).layers[-1].rf is None
    # ConvNeXt-T: 4×4/4 stem; stage 1 is three 7×7 depthwise blocks at jump 4 (4 + 3·6·4 = 76); a 2×2/2
    # downsampling conv (76 + 4 = 80, jump 8); stage 2 is three more blocks (80 + 3·6·8 = 224).
    convnext = analyze(torchvision.models.convnext_tiny(), (3, 64, 64), levels=2).layers
    convnext = {r.name: r.rf for r in convnext}
    assert [convnext[f"features.{i}"] for i in range(4)] == [(4, 4), (76, 76), (80, 80), (224, 224)]


def real_shapes(model: nn.Module, shape) -> list[tuple]:
    shapes = []
    leaves = [m for m in model.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(lambda m, a, out: shapes.append(tuple(out.shape[1:]))) for m in leaves]
    model.eval()(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    return shapes


def expected_vgg_error(blocks, side, divisor) -> str | None:
    """What cnnlab must say about VGG `blocks` on a side×side input, derived by hand: a block whose
    channels the divisor takes to 0 is named first; else the first 2×2 max-pool that would meet a 1×1
    map (block k pools a map of side // 2**(k-1), so the input supports floor(log2(side)) blocks)."""
    for i, (_, channels) in enumerate(blocks, 1):
        if channels // divisor < 1:
            return f"VGG block {i}: {channels} channels divided by width divisor {divisor} leaves no channel"
    most = int(math.log2(side))
    if most < len(blocks):
        k = most + 1
        return (f"VGG block{k} ({k} of {len(blocks)}): max-pool 2×2 on a 1×1 map; input {side}×{side} "
                f"supports at most {most} pooling blocks")
    return None


def check_or_config_error(text, inp, expected=..., **options):
    """Analyse; on success compare every row's shape with a real CPU forward. A rejection is one line and,
    where `expected` is given, exactly that message (None: it must be accepted). Return what happened."""
    try:
        config = model_config(text, inp, **options)
        summary = analyze(config)
    except ConfigError as err:
        assert "\n" not in str(err) and expected is not None
        assert expected is ... or str(err) == expected
        return "rejected"
    assert expected in (None, ...), f"accepted, but expected: {expected}"
    assert sum(row.type == "Conv2d" for row in summary.layers) == sum(
        n for n, _ in config.arch.blocks)
    assert summary.layers[-1].output_shape == (10,)
    assert [row.output_shape for row in summary.layers] == real_shapes(build(config, device="cpu"),
                                                                        config.input.as_tuple())
    return "analysed"


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    blocks=st.lists(st.tuples(st.integers(1, 3), st.integers(1, 24)), min_size=1, max_size=7),
    side=st.integers(1, 120), channels=st.integers(1, 3), divisor=st.integers(1, 4),
    batch_norm=st.booleans(), fc=st.integers(1, 32),
)
def test_random_vgg_configs_match_a_real_forward_or_raise_config_error(blocks, side, channels, divisor,
                                                                        batch_norm, fc):
    text = "vgg:" + ",".join(f"{n}x{c}" for n, c in blocks)
    event(check_or_config_error(text, f"{channels}x{side}x{side}", expected_vgg_error(blocks, side, divisor),
                                width_divisor=divisor, batch_norm=batch_norm, fc_width=fc))


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@settings(max_examples=60, deadline=None)
@given(
    blocks=st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 8)), min_size=0, max_size=4),
    junk=st.text(max_size=4), side=st.integers(-5, 40), channels=st.integers(-2, 20),
    divisor=st.integers(-2, 100), fc=st.integers(-2, 20000),
)
def test_arbitrary_vgg_input_never_raises_anything_but_config_error(blocks, junk, side, channels, divisor,
                                                                    fc):
    text = "vgg:" + ",".join(f"{n}x{c}" for n, c in blocks) + junk
    in_range = (not junk and blocks and all(n >= 1 and c >= 1 for n, c in blocks) and side >= 1
                and 1 <= channels <= 16 and 1 <= divisor <= 64 and fc >= 1)
    expected = expected_vgg_error(blocks, side, divisor) if in_range else ...
    event(check_or_config_error(text, f"{channels}x{side}x{side}", expected, width_divisor=divisor,
                                fc_width=fc))

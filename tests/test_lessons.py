"""Each lesson's numbers against an independent calculation written here (closed forms, torchvision)."""

import pytest
import torch
import torchvision

from cnnlab import inspect, lessons
from cnnlab.runs.store import RunStore

VGG11 = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
VGG16 = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def vgg_cost(blocks, channels: int, size: int, divisor: int = 1, fc: int = 4096, classes: int = 10):
    """Parameters and MACs of a VGG by hand: 3×3 same convolutions, a 2×2 pool after each block."""
    params = macs = 0
    c_in, side = channels, size
    for convs, c in blocks:
        c //= divisor
        for _ in range(convs):
            params += 9 * c_in * c + c
            macs += 9 * c_in * c * side * side
            c_in = c
        side //= 2
    for n_in, n_out in ((c_in * side * side, fc), (fc, fc), (fc, classes)):
        params += n_in * n_out + n_out
        macs += n_in * n_out
    return params, macs


def field(layers) -> int:
    """The receptive field of a chain of (kernel, stride) windows: rf += (k - 1) · jump; jump *= stride."""
    rf, jump = 1, 1
    for kernel, stride in layers:
        rf += (kernel - 1) * jump
        jump *= stride
    return rf


@pytest.mark.parametrize("channels, size, depth", [(64, 56, 2), (32, 28, 3), (8, 12, 4)])
def test_stacked_3x3_against_one_large_convolution(channels, size, depth):
    lesson = lessons.stacked_3x3(channels, size, depth)
    stack, single = lesson.rows
    k, c = 2 * depth + 1, channels
    assert stack["params"] == depth * (9 * c * c + c) and single["params"] == k * k * c * c + c
    assert stack["MACs"] == depth * 9 * c * c * size * size and single["MACs"] == k * k * c * c * size * size
    assert stack["receptive field"] == single["receptive field"] == k


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_vgg16_fc_share_and_gap_head_from_torchvision():
    lesson = lessons.vgg_fc_share("vgg16", 224, 3, 10)
    reference = torchvision.models.vgg16(num_classes=10)  # random weights, never downloaded
    total, fc = count(reference), count(reference.classifier)
    plain, gap = lesson.rows
    assert plain["params"] == total and plain["FC params"] == fc and plain["FC share"] == fc / total
    assert gap["params"] == count(reference.features) + 512 * 10 + 10
    assert f"{fc / total:.1%}" in lesson.finding and f"{total - gap['params']:,}" in lesson.finding


@pytest.mark.parametrize("sizes, channels", [((224, 96), 1), ((128, 64), 3)])
def test_vgg_costs_at_two_input_sizes(sizes, channels):
    rows = lessons.vgg_costs(sizes, channels).rows
    expected = [vgg_cost(blocks, channels, size, divisor)
                for size in sizes for blocks, divisor in ((VGG11, 1), (VGG16, 1), (VGG11, 4))]
    assert [(r["params"], r["MACs"]) for r in rows] == expected
    assert [r["input"] for r in rows] == [f"{channels}x{s}x{s}" for s in sizes for _ in range(3)]
    assert rows[5]["MACs vs first"] == expected[5][1] / expected[0][1]


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_evolution_table_and_best_accuracy_from_the_store(tmp_path):
    store = RunStore(tmp_path)
    for model, accuracies in (("lenet", [0.61, 0.83, 0.79]), ("lenet", [0.71]), ("resnet18", [0.9])):
        run = store.create_run({}, name=model, model=model, dataset="shapes")
        for step, acc in enumerate(accuracies):
            store.log_metrics(run, step, step + 1.0, {"test_acc": acc, "train_loss": 1.0})
    rows = {r["model"]: r for r in lessons.evolution(224, 1, store).rows}
    assert [r["best test acc"] for r in rows.values()] == [0.83, None, None, 0.9]
    assert rows["lenet"]["params"] == 156 + 2416 + (16 * 25 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert rows["vgg11"]["params"] == vgg_cost(VGG11, 1, 224)[0]
    resnet = torchvision.models.resnet18(num_classes=10)
    assert rows["resnet18"]["params"] == count(resnet) - 64 * 2 * 7 * 7  # one input channel, not three
    # LeNet: conv 5, pool 2, conv 5, pool 2; VGG-11: its 3×3 convs and 2×2 pools; AlexNet's eight windows
    assert rows["lenet"]["receptive field"] == field([(5, 1), (2, 2), (5, 1), (2, 2)]) == 16
    vgg11 = [window for convs, _ in VGG11 for window in [(3, 1)] * convs + [(2, 2)]]
    assert rows["vgg11"]["receptive field"] == field(vgg11) == 150
    assert rows["alexnet"]["receptive field"] == field(
        [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)])
    tv = (torchvision.models.alexnet(), torchvision.models.vgg11(), resnet)
    weight_layers = [sum(isinstance(m, torch.nn.Conv2d | torch.nn.Linear) for m in net.modules())
                     for net in tv]
    assert [r["conv + FC layers"] for r in rows.values()] == [2 + 3, *weight_layers] == [5, 8, 11, 21]


def test_the_evolution_claim_is_what_its_table_shows():
    lesson = lessons.evolution(224, 1)
    # VGG-11 (150 px) sees less than AlexNet (195 px): the claim says so rather than "saw more".
    assert lesson.claim.startswith("Each generation went deeper (5 → 8 → 11 → 21 conv and FC layers), but "
                                   "depth alone does not widen the field: vgg11 sees 150 px against "
                                   "alexnet's 195")
    assert "saw more" not in lesson.claim
    assert lesson.finding.endswith("— means none has been trained yet (the Train page does it).")


@pytest.mark.parametrize("blocks", [1, 3, 5])
def test_residual_blocks_see_the_union_of_their_paths(blocks):
    rows = lessons.residual_field(16, 32, blocks).rows
    # The longest path crosses every 3×3 convolution: 1 + 2 per convolution, as the plain stack.
    assert [(r["plain stack field"], r["residual field"]) for r in rows] == [
        (1 + 4 * k, 1 + 4 * k) for k in range(1, blocks + 1)]
    assert rows[-1]["paths"] == 2 ** blocks


def test_fc_as_conv_on_a_larger_image():
    rows = lessons.fc_conv_larger_image("vgg11", 224, 320, 1).rows
    plain, converted, crops = rows
    side = 320 // 32 - 7 + 1  # block5's map, then fc1's 7×7 kernel
    assert converted["output"] == f"10×{side}×{side}" and crops["output"] == f"{side * side} × 10"
    assert converted["receptive field"] == 150 + 6 * 32 and converted["jump"] == 32
    macs_224 = vgg_cost(VGG11, 1, 224)[1]
    conv_320 = vgg_cost(VGG11, 1, 320)[1] - (512 * 10 * 10 * 4096 + 4096 * 4096 + 4096 * 10)
    assert plain["MACs"] == macs_224 and crops["MACs"] == side * side * macs_224
    assert converted["MACs"] == conv_320 + side * side * (512 * 7 * 7 * 4096 + 4096 * 4096 + 4096 * 10)


def test_the_effective_field_against_autograd_by_hand():
    depth, size = 6, 32
    lesson = lessons.effective_field(channels=4, size=size, depth=depth, images=4)
    rows = lesson.rows
    assert [r["theoretical field"] for r in rows] == [2 * k + 1 for k in range(1, depth + 1)]
    # The same initial weights and images; the gradient of the centre unit of the last ReLU, by hand.
    model = inspect.initial(lesson.models[0], seed=0).model.double()
    x = torch.randn(4, 1, size, size, generator=torch.Generator().manual_seed(0)).double()
    x.requires_grad_(True)
    names = [name for name, _ in model.named_children()]
    y = x
    for module in list(model.children())[:names.index(f"relu{depth}") + 1]:
        y = module(y)
    y[:, :, size // 2, size // 2].sum().backward()
    heat = x.grad.abs().sum(1).mean(0)
    heat = heat / heat.sum()
    centre = size // 2  # "same" 3×3 convolutions: unit (16, 16) is centred on pixel (16, 16)

    def side(fraction: float) -> int:
        return next(s for s in range(1, size, 2)
                    if heat[centre - s // 2:centre + s // 2 + 1, centre - s // 2:centre + s // 2 + 1].sum()
                    >= fraction - 1e-12)

    assert rows[-1]["effective field (50%)"] == side(0.5) < rows[-1]["theoretical field"]
    assert rows[-1]["effective field (95%)"] == side(0.95)

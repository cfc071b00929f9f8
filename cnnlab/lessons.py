"""The chapter's lessons, each computed by the analysis engine from the numbers it depends on.

Every function returns a `Lesson`: the claim in one sentence, what the engine found (a sentence built
from its numbers), a table of those numbers, and the models to open on the Build page (A, then B).
Nothing here is typed in: change C, the input size or the depth and every figure follows.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from cnnlab import inspect
from cnnlab.analysis import Summary, analyze
from cnnlab.families.resnet import BasicBlock
from cnnlab.fc_as_conv import fc_as_conv_summary
from cnnlab.runs.store import RunStore
from cnnlab.spec import InputSpec, ModelConfig, model_config


@dataclass(frozen=True)
class Lesson:
    title: str
    claim: str
    finding: str
    rows: list[dict[str, Any]]
    models: tuple[ModelConfig, ...] = field(default=())


def _stack(channels: int, layers: list[str]) -> str:
    """A `seq` model: a 1×1 "stem" that makes C channels of a grey image (inputs have at most 16),
    `layers`, then global average pooling (the classes option adds the last linear layer)."""
    return f"seq:c1-{channels},{','.join(layers)},gap"


def _conv_rows(summary: Summary) -> list:
    """The convolutions after the stem."""
    return [row for row in summary.layers if row.type == "Conv2d"][1:]


def _conv_figures(summary: Summary) -> dict[str, Any]:
    """Receptive field (height), parameters and MACs of a stack's convolutions, its stem left out."""
    convs = _conv_rows(summary)
    return {"receptive field": convs[-1].rf[0], "params": sum(r.params for r in convs),
            "MACs": sum(r.macs for r in convs)}


def stacked_3x3(channels: int = 64, size: int = 56, depth: int = 2) -> Lesson:
    """`depth` stacked 3×3 convolutions against one (2·depth+1)×(2·depth+1), C channels in and out."""
    k = 2 * depth + 1
    inp = InputSpec(1, size, size)
    stack = model_config(_stack(channels, [f"c3-{channels}p1,relu"] * depth), inp)
    single = model_config(_stack(channels, [f"c{k}-{channels}p{depth},relu"]), inp)
    many, one = _conv_figures(analyze(stack)), _conv_figures(analyze(single))
    saving = 1 - many["params"] / one["params"]
    return Lesson(
        f"{depth} × 3×3 against one {k}×{k}",
        f"A stack of {depth} 3×3 convolutions sees what one {k}×{k} convolution sees, with fewer weights "
        f"({depth}·(9C²+C) against {k * k}C²+C) and {depth} non-linearities instead of one.",
        f"Field {many['receptive field']} against {one['receptive field']}; at C = {channels} the stack "
        f"has {saving:.0%} fewer parameters and MACs.",
        [{"layers": f"{depth} × conv 3×3", **many}, {"layers": f"1 × conv {k}×{k}", **one}],
        (stack, single))


def vgg_fc_share(name: str = "vgg16", size: int = 224, channels: int = 3, classes: int = 10) -> Lesson:
    """The share of VGG's parameters in its three FC layers, and a global-average-pooling head instead."""
    config = model_config(name, InputSpec(channels, size, size), classes=classes)
    features = ",".join(",".join([f"c3-{c}p1,relu"] * n) + ",m2" for n, c in config.arch.scaled_blocks())
    gap = model_config(f"seq:{features},gap", config.input, classes=classes)
    rows = []
    for label, model in ((f"{name}: flatten + 3 FC", config), (f"{name}: GAP + 1 FC", gap)):
        summary = analyze(model)
        fc = sum(row.params for row in summary.layers if row.type == "Linear")
        rows.append({"head": label, "params": summary.totals.params, "FC params": fc,
                     "FC share": fc / summary.totals.params, "MACs": summary.totals.macs})
    saved = rows[0]["params"] - rows[1]["params"]
    return Lesson(
        "VGG's parameters sit in its FC layers",
        "Most of VGG's parameters are in its fully connected layers, not in its convolutions; a global "
        "average pooling head keeps the convolutions and drops almost all of them.",
        f"{name} at {config.input}: the FC layers hold {rows[0]['FC share']:.1%} of "
        f"{rows[0]['params']:,} parameters; a GAP head saves {saved:,} ({saved / rows[0]['params']:.1%}).",
        rows, (config, gap))


def vgg_costs(sizes: tuple[int, int] = (224, 96), channels: int = 1) -> Lesson:
    """VGG-11, VGG-16 and VGG-11 with channels ÷4 at two input sizes (the seeds' resize lesson)."""
    variants = (("vgg11", 1), ("vgg16", 1), ("vgg11", 4))
    rows, configs = [], []
    for size in sizes:
        for name, divisor in variants:
            config = model_config(name, InputSpec(channels, size, size), width_divisor=divisor)
            t = analyze(config).totals
            configs.append(config)
            rows.append({"model": name + (f"/{divisor}" if divisor > 1 else ""), "input": str(config.input),
                         "params": t.params, "MACs": t.macs, "activation memory": t.activation_bytes})
    base = rows[0]
    for row in rows:
        row["MACs vs first"] = row["MACs"] / base["MACs"]
    small = rows[len(variants) + 2]
    return Lesson(
        "What VGG costs, and what a smaller input saves",
        "VGG-16 costs about twice VGG-11's compute for a few more parameters, dividing the channels by 4 "
        "divides the compute by about 16, and a smaller input shrinks each convolution's cost with its area.",
        f"VGG-11/4 at {small['input']} needs {small['MACs'] / base['MACs']:.2%} of VGG-11's MACs at "
        f"{base['input']}.",
        rows, (configs[0], configs[len(variants) + 2]))


EVOLUTION = ("lenet", "alexnet", "vgg11", "resnet18")


WEIGHT_LAYERS = ("Conv2d", "Linear")  # what "deeper" counts


def evolution(size: int = 224, channels: int = 1, store: RunStore | None = None) -> Lesson:
    """LeNet (at its 28×28) → AlexNet → VGG-11 → ResNet-18 (at `size`): depth, cost, field, best
    accuracy; the claim is read off the table (a generation that sees less than the one before is named)."""
    best = _best_accuracy(store) if store is not None else {}
    rows, configs = [], []
    for name in EVOLUTION:
        config = model_config(name, InputSpec(channels, 28, 28) if name == "lenet" else
                              InputSpec(channels, size, size))
        summary = analyze(config)
        t, final = summary.totals, summary.final_field
        configs.append(config)
        rows.append({"model": name, "input": str(config.input),
                     "conv + FC layers": sum(layer.type in WEIGHT_LAYERS for layer in summary.layers),
                     "params": t.params, "MACs": t.macs, "weight memory": t.param_bytes,
                     "activation memory": t.activation_bytes, "receptive field": final.rf[0],
                     "best test acc": best.get(name)})
    finding = (f"ResNet-18 has {rows[3]['params'] / rows[2]['params']:.1%} of VGG-11's parameters and a "
               f"field of {rows[3]['receptive field']} against {rows[2]['receptive field']} pixels.")
    if any(row["best test acc"] is None for row in rows):
        finding += (" Best test acc is the best any run of the model in the run store reached; — means none "
                    "has been trained yet (the Train page does it).")
    return Lesson("LeNet → AlexNet → VGG → ResNet", _evolution_claim(rows), finding, rows,
                  (configs[2], configs[3]))


def _evolution_claim(rows: list[dict[str, Any]]) -> str:
    """What the evolution table shows about depth and field, in one or two sentences."""
    depths = [row["conv + FC layers"] for row in rows]
    deeper = all(a < b for a, b in itertools.pairwise(depths))
    claim = (f"Each generation went deeper ({' → '.join(map(str, depths))} conv and FC layers)" if deeper
             else f"The generations' depths are {', '.join(map(str, depths))} conv and FC layers")
    less = [(before, after) for before, after in itertools.pairwise(rows)
            if after["receptive field"] < before["receptive field"]]
    if not less:
        return claim + " and saw more of the image each time."
    named = "; ".join(f"{after['model']} sees {after['receptive field']} px against {before['model']}'s "
                      f"{before['receptive field']}" for before, after in less)
    return (f"{claim}, but depth alone does not widen the field: {named} — each layer widens "
            "it by (kernel − 1) × the product of the strides before it, so 3×3 kernels at stride 1 widen it "
            "slowly.")


def _best_accuracy(store: RunStore) -> dict[str, float]:
    """The best test accuracy recorded for each model name among the store's runs."""
    runs = store.list_runs()
    metrics = store.metrics_frame([run.id for run in runs])
    best = metrics[metrics["name"] == "test_acc"].groupby("run_id")["value"].max()
    result: dict[str, float] = {}
    for run in runs:
        if run.id in best.index and run.model:
            result[run.model] = max(result.get(run.model, 0.0), float(best[run.id]))
    return result


def residual_field(channels: int = 16, size: int = 32, blocks: int = 3) -> Lesson:
    """`blocks` residual blocks (two 3×3 convolutions each) against the plain stack of those convolutions."""
    inp = InputSpec(1, size, size)
    plain = model_config(_stack(channels, [f"c3-{channels}p1nb,bn,relu"] * (2 * blocks)), inp)
    # The seq grammar has no shortcut: the residual stack is ResNet's own BasicBlock, as a module.
    residual = nn.Sequential(nn.Conv2d(1, channels, 1), *(BasicBlock(channels, channels)
                                                          for _ in range(blocks)))
    plain_rows = _conv_rows(analyze(plain))[1::2]
    residual_rows = [r for r in analyze(residual, inp, levels=1).layers if r.type == "BasicBlock"]
    # Each block is crossed through its convolutions or its shortcut: 2^k paths, k convolutions on average.
    rows = [{"after block": k, "plain stack field": p.rf[0], "residual field": r.rf[0], "paths": 2 ** k,
             "convolutions on the plain path": 2 * k, "on a residual path, on average": k}
            for k, (p, r) in enumerate(zip(plain_rows, residual_rows, strict=True), 1)]
    return Lesson(
        "A residual block sees the union of its paths",
        "A residual block's output sees the union of what its two paths see: the same field as the plain "
        "stack, reached through 2ⁿ paths of which only one crosses every convolution.",
        f"After {blocks} blocks: field {rows[-1]['residual field']} with shortcuts, "
        f"{rows[-1]['plain stack field']} without, through {rows[-1]['paths']} paths.",
        rows, (plain, model_config("resnet18", inp, stem="cifar")))


def fc_conv_larger_image(name: str = "vgg11", train_size: int = 224, size: int = 320,
                         channels: int = 1) -> Lesson:
    """The FC network rewritten as convolutions, run once on a larger image: a map of class scores."""
    config = model_config(name, InputSpec(channels, train_size, train_size))
    plain = analyze(config)
    converted = fc_as_conv_summary(config, InputSpec(channels, size, size))
    scores = converted.layers[-1]
    windows = scores.output_shape[1] * scores.output_shape[2]
    classes = config.arch.classes
    rows = [{"network": f"{name} at {config.input}", "output": _shape(plain.layers[-1]),
             "receptive field": None, "jump": None, "MACs": plain.totals.macs},
            {"network": f"{name}, FC as conv, at {channels}x{size}x{size}", "output": _shape(scores),
             "receptive field": scores.rf[0], "jump": scores.jump[0], "MACs": converted.totals.macs},
            {"network": f"{name} on {windows} crops of {train_size}×{train_size}",
             "output": f"{windows} × {classes}",
             "receptive field": None, "jump": None, "MACs": windows * plain.totals.macs}]
    return Lesson(
        "FC layers as convolutions slide over a larger image",
        "A network's fully connected layers are convolutions whose kernel covers the last feature map: "
        "rewritten so, the network runs on a larger image and returns a map of class scores, one per window.",
        f"At {size}×{size}, {name} gives a {rows[1]['output']} score map: {windows} windows "
        f"{scores.jump[0]} pixels apart, each seeing {scores.rf[0]} pixels, for "
        f"{converted.totals.macs / rows[2]['MACs']:.0%} of the MACs of cropping them one by one.",
        rows, (config,))


def _shape(row: Any) -> str:
    return "×".join(map(str, row.output_shape))


def effective_field(channels: int = 16, size: int = 64, depth: int = 8, images: int = 8) -> Lesson:
    """A stack of `depth` 3×3 convolutions at initialisation: each layer's theoretical field against the
    effective one of its centre unit (the See page's measurement, on random images)."""
    config = model_config(_stack(channels, [f"c3-{channels}p1,relu"] * depth), InputSpec(1, size, size))
    model = inspect.initial(config, seed=0).model
    layers = inspect.spatial_layers(model, config.input.as_tuple())
    net = inspect.prepared(model)  # once, not per layer
    x = torch.randn(images, 1, size, size, generator=torch.Generator().manual_seed(0))
    rows = []
    for k in range(1, depth + 1):
        layer = inspect.find_layer(model, layers, f"relu{k}")
        field = inspect.effective_field(net, x, layer)
        rows.append({"3×3 layers": k, "theoretical field": layer.rf[0], "effective field (50%)": field.side50,
                     "effective field (95%)": field.side95})
    last = rows[-1]
    return Lesson(
        "The effective field is much smaller than the theoretical one",
        "A unit's theoretical field is every pixel that can reach it; the pixels that really move it (the "
        "effective field, where its gradient lands) crowd around the centre, in a region much smaller.",
        f"After {depth} layers the theoretical field is {last['theoretical field']} pixels; half of the "
        f"centre unit's gradient falls within {last['effective field (50%)']} and 95% within "
        f"{last['effective field (95%)']}.",
        rows, (config,))

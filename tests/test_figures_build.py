"""The Build page's figures (cnnlab.figures), fed real analyses."""

from cnnlab import figures
from cnnlab.analysis import analyze
from cnnlab.analysis.memory import training_memory
from cnnlab.spec import model_config


def title(fig) -> str:
    return fig.layout.title.text


def test_shape_figure_follows_the_feature_maps():
    summary = analyze("vgg16", levels=1)
    fig = figures.shape_figure(summary)
    sides, channels = fig.data
    assert list(sides.x) == ["block1", "block2", "block3", "block4", "block5"]
    assert list(sides.y) == [112, 56, 28, 14, 7]
    assert list(channels.y) == [64, 128, 256, 512, 512]
    # Each axis from 0 to 10% above its top, ticked at its own values (not at the other axis's grid).
    assert fig.layout.yaxis.range == (0, 112 * 1.1) and fig.layout.yaxis.tickvals == (7, 14, 28, 56, 112)
    assert fig.layout.yaxis2.range == (0, 512 * 1.1) and fig.layout.yaxis2.tickvals == (64, 128, 256, 512)


def test_params_figure_makes_vggs_fc_layers_stand_out():
    summary = analyze("vgg16")
    fig = figures.params_figure(summary)
    by_kind = {trace.name: trace for trace in fig.data}
    assert set(by_kind) == {"Conv2d", "Linear"}
    fc = dict(zip(by_kind["Linear"].x, by_kind["Linear"].y, strict=True))
    assert fc["fc1"] == max(row.params for row in summary.layers)
    assert fc["fc1"] > 10 * max(by_kind["Conv2d"].y)
    share = fc["fc1"] / summary.totals.params
    assert title(fig) == f"Parameters per layer — fc1 alone holds {share:.0%}"
    assert fig.layout.yaxis.type == "log"  # conv1's 1,792 stay visible beside fc1's 102,764,544
    assert figures.params_figure(summary, log=False).layout.yaxis.type == "linear"


def test_receptive_field_figure_ends_at_the_textbook_value():
    fig = figures.receptive_field_figure(analyze("vgg16"))
    field, input_line = fig.data
    assert field.y[-1] == 212  # VGG-16's last pooling layer sees 212 input pixels
    assert set(input_line.y) == {224}


def test_memory_figure_says_whether_training_fits():
    memory = training_memory(model_config("lenet"), "adam").at(64)
    fits = figures.memory_figure(memory, available=memory.total * 2, device="test GPU")
    assert title(fits).endswith(": fits")
    assert [t.name for t in fits.data] == ["weights", "gradients", "optimiser state",
                                           "activations kept for backward",
                                           "temporaries (batch, gradients in flight)", "test GPU memory"]
    too_small = figures.memory_figure(memory, available=memory.total // 2, device="test GPU")
    assert title(too_small).endswith("does NOT fit")


def test_params_title_names_every_layer_that_ties():
    from torch import nn

    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 2))
    fig = figures.params_figure(analyze(model, (1, 4, 4)))
    # 16·16 + 16 = 272 each for layers 1 and 2, 16·2 + 2 = 34 for layer 3: 272 / 578 = 47%
    assert title(fig) == "Parameters per layer — 1 and 2 hold 47% each"


def test_rf_figure_of_resnet50_runs_forward_with_the_shortcuts_apart():
    summary = analyze("resnet50")
    main, side, input_line = figures.receptive_field_figure(summary).data
    xs = list(main.x) + list(side.x)
    assert sorted(xs) == [i for i, r in enumerate(summary.layers, 1) if r.rf is not None]
    assert all(a < b for a, b in zip(main.x, main.x[1:], strict=False))
    assert all(a <= b for a, b in zip(main.y, main.y[1:], strict=False))
    assert [c[0] for c in side.customdata] == [f"layer{i}.0.downsample.{j}"
                                               for i in (1, 2, 3, 4) for j in (0, 1)]
    assert main.y[-1] == summary.final_field.rf[0]
    assert set(input_line.y) == {224}


"""The Build page, driven headless through Streamlit's AppTest."""

import json

import pytest

from cnnlab.units import format_count
from tests.dashboard.conftest import shown

# Hand-summed parameters (10 classes, each family's default input). A convolution has
# out·(in·k·k + 1), a linear layer out·(in + 1), a batch norm 2 per channel.
# VGG's classifier on 512×7×7: 4,096·(25,088 + 1) + 4,096·(4,096 + 1) + 10·(4,096 + 1).
VGG_FC = 102_764_544 + 16_781_312 + 40_970  # 119,586,826
# VGG convolutions on a 1×224×224 input: 1→64 is 640; 64→64 36,928; 64→128 73,856; 128→128 147,584;
# 128→256 295,168; 256→256 590,080; 256→512 1,180,160; 512→512 2,359,808.
VGG11 = 640 + 73_856 + 295_168 + 590_080 + 1_180_160 + 3 * 2_359_808 + VGG_FC  # 128,806,154
PARAMS = {
    # conv1 6·(25 + 1), conv2 16·(150 + 1), fc1 120·(400 + 1), fc2 84·(120 + 1), fc3 10·(84 + 1)
    "lenet": 156 + 2_416 + 48_120 + 10_164 + 850,
    # convs 96·(121 + 1), 256·(96·25 + 1), 384·(256·9 + 1), 384·(384·9 + 1), 256·(384·9 + 1); the last
    # map is 256×5×5 at 224: fc1 4,096·(6,400 + 1), fc2 4,096·(4,096 + 1), fc3 10·(4,096 + 1)
    "alexnet": 11_712 + 614_656 + 885_120 + 1_327_488 + 884_992 + 26_218_496 + 16_781_312 + 40_970,
    "vgg13": VGG11 + 36_928 + 147_584,
    "vgg16": VGG11 + 36_928 + 147_584 + 590_080 + 2 * 2_359_808,
    "vgg19": VGG11 + 36_928 + 147_584 + 2 * 590_080 + 4 * 2_359_808,
    # torchvision's ResNet-34 (21,797,672) and ResNet-50 (25,557,032) with a 10-way fc instead of 1,000
    "resnet34": 21_797_672 - 512_000 - 1_000 + 5_130,
    "resnet50": 25_557_032 - 2_048_000 - 1_000 + 20_490,
}
# Rows of the block-level table: VGG's 5 blocks, flatten, 3 fc, 2 ReLU, 2 dropout; LeNet's 2 convs,
# 2 pools, 4 sigmoids, flatten, 3 fc; AlexNet's 5 convs, 7 ReLUs, 3 pools, flatten, 3 fc, 2 dropout;
# ResNet's conv1, bn1, relu, maxpool, 4 stages, avgpool, fc.
ROWS = {"lenet": 12, "alexnet": 21, "vgg11": 13, "vgg13": 13, "vgg16": 13, "vgg19": 13, "resnet34": 10,
        "resnet50": 10}


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def chart_titles(at):
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def layer_table(at):
    return next(df.value for df in at.dataframe if "output_shape" in df.value.columns)


def test_default_view_is_vgg11_analysed(app):
    app.run()
    assert not app.exception and not app.error
    assert metric(app, "Parameters") == format_count(VGG11) == "128.81M"
    assert "128,806,154 exactly" in [c.value for c in app.caption]  # shown, not only in a tooltip
    assert len(layer_table(app)) == ROWS["vgg11"]
    assert app.query_params["model"] == "vgg11"
    titles = chart_titles(app)
    assert titles[0] == "Feature maps shrink while channels grow"
    assert any(t.startswith("Parameters per layer — fc1 alone holds") for t in titles)


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@pytest.mark.parametrize("family, preset_key, preset, name", [
    ("LeNet", None, None, "lenet"), ("AlexNet", None, None, "alexnet"),
    ("VGG", "vgg_preset", "VGG-13", "vgg13"), ("VGG", "vgg_preset", "VGG-16", "vgg16"),
    ("VGG", "vgg_preset", "VGG-19", "vgg19"), ("ResNet", "depth", 34, "resnet34"),
    ("ResNet", "depth", 50, "resnet50"),
])
def test_each_preset_renders_its_table_and_charts(app, family, preset_key, preset, name):
    app.run()
    if family != "VGG":
        app.selectbox(key="family").select(family).run()
    if preset_key:
        app.selectbox(key=preset_key).select(preset).run()
    assert not app.exception and not app.error
    assert metric(app, "Parameters") == format_count(PARAMS[name])
    assert len(layer_table(app)) == ROWS[name]
    assert len(app.get("plotly_chart")) == 4
    assert app.query_params["model"] == name


def test_switching_to_every_layer_shows_leaf_rows(app):
    app.run()
    app.selectbox(key="vgg_preset").select("VGG-16").run()
    app.radio(key="table_view").set_value("every layer").run()
    assert len(layer_table(app)) == 39  # 13 convs, 13 ReLUs, 5 pools, flatten, 3 fc, 2 ReLUs, 2 dropouts


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_an_impossible_vgg_shows_the_engine_message_and_keeps_working(app):
    app.run()
    app.session_state["blocks"] = {"edited_rows": {}, "deleted_rows": [],
                                   "added_rows": [{"num_convs": 1, "out_channels": 64}]}
    app.text_input(key="in_size").input("28").run()
    assert not app.exception
    assert [shown(e) for e in app.error] == [
        "VGG block5 (5 of 6): max-pool 2×2 on a 1×1 map; input 28×28 supports at most 4 pooling blocks"]
    # The page still works: fix the size and the six-block network is analysed.
    app.text_input(key="in_size").input("224").run()
    assert not app.error
    blocks = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512), (1, 64))
    assert app.query_params["model"] == "vgg:" + ",".join(f"{n}x{c}" for n, c in blocks)


@pytest.mark.parametrize("key, typed, message", [
    ("width_divisor", "0", "Width divisor must be a whole number from 1 to 64, got 0."),
    ("fc_width", "0", "FC width must be a whole number from 1 to 16,384, got 0."),
    ("in_size", "27", "Input size must be a whole number from 28 to 256, got 27."),
    ("in_size", "1000000000", "Input size must be a whole number from 28 to 256, got 1000000000."),
    # what was typed, as typed: a browser's number field read "1e9" as 1
    ("in_size", "1e9", "Input size must be a whole number from 28 to 256, got 1e9."),
    ("in_size", "64.5", "Input size must be a whole number from 28 to 256, got 64.5."),
    ("in_size", "-64", "Input size must be a whole number from 28 to 256, got -64."),
    ("classes", "1", "Classes must be a whole number from 2 to 1,000, got 1."),
    ("classes", "", "Classes must be a whole number from 2 to 1,000, got nothing."),
])
def test_a_number_out_of_range_is_answered_with_its_range(app, key, typed, message):
    app.run()
    app.text_input(key=key).input(typed).run()
    assert not app.exception
    assert [shown(e) for e in app.error] == [message]
    # the headline keeps the last valid model, greyed and named as such, and the link keeps it too
    assert metric(app, "Parameters") == format_count(VGG11)
    assert any("Last valid model" in c.value for c in app.caption) and app.query_params["model"] == "vgg11"


def test_a_memory_batch_out_of_range_is_answered_with_its_range(app):
    app.run()
    app.text_input(key="mem_batch").input("0").run()
    assert not app.exception
    assert [shown(e) for e in app.error] == ["Batch size must be a whole number from 1 to 4,096, got 0."]
    assert metric(app, "Parameters") == format_count(VGG11)  # the model itself is still shown


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_the_block_table_says_its_channels_are_divided(app):
    app.query_params["model"] = "vgg11"
    app.query_params["width_divisor"] = "4"
    app.run()
    assert not app.exception and not app.error
    assert any(c.value.startswith("Channels as the paper writes them: the network builds each ÷ 4")
               and c.value.endswith("64 → 16, 512 → 128.") for c in app.caption)
    assert layer_table(app)["output_shape"].iloc[0] == "16×112×112"  # block1: 64 ÷ 4 channels, pooled


def test_editing_a_block_cell_changes_the_analysis(app):
    app.run()
    app.session_state["blocks"] = {"edited_rows": {0: {"out_channels": 32}}, "added_rows": [],
                                   "deleted_rows": []}
    app.run()
    # the first two convolutions become 1→32 (320) and 32→128 (36,992); the rest as VGG-11's
    expected = 320 + 36_992 + 295_168 + 590_080 + 1_180_160 + 3 * 2_359_808 + VGG_FC
    assert metric(app, "Parameters") == format_count(expected) == "128.77M"


@pytest.mark.slow  # page runs of seconds of CPU each
def test_a_link_reproduces_its_config(app):
    app.query_params["model"] = "vgg:2x16,2x32"
    app.query_params["input"] = "3x96x96"
    app.query_params["batch_norm"] = "1"
    app.run()
    assert not app.exception and not app.error
    # convs 3→16, 16→16, 16→32, 32→32; four batch norms; two pools leave 32×24×24 for fc1
    expected = (448 + 2_320 + 4_640 + 9_248 + 2 * (16 + 16 + 32 + 32)
                + 4_096 * (18_432 + 1) + 16_781_312 + 40_970)
    assert metric(app, "Parameters") == format_count(expected) == "92.34M"
    assert app.checkbox(key="batch_norm").value is True and app.text_input(key="in_size").value == "96"


@pytest.mark.parametrize("text", ["1", "true", "yes", "YES"])
def test_a_link_writes_a_flag_in_any_of_the_words_a_sweep_takes(text):
    from dashboard.model_state import from_params, to_params

    config = from_params({"model": "vgg11", "batch_norm": text})
    assert config.arch.batch_norm is True and to_params(config)["batch_norm"] == "1"
    assert from_params({"model": "vgg11", "batch_norm": "no"}).arch.batch_norm is False


def test_a_bad_link_falls_back_to_the_default_with_an_error(app):
    app.query_params["model"] = "vgg:2x-16"
    app.run()
    assert not app.exception
    assert "The link's model could not be used: VGG block 1 '2x-16'" in shown(app.error[0])
    assert app.query_params["model"] == "vgg11"


@pytest.mark.parametrize("params, message", [
    ({"model": "vgg11", "input": "1x28x28"}, "block5 (5 of 5): max-pool 2×2 on a 1×1 map"),
    ({"model": "alexnet", "input": "3x64x64"}, "layer 13 of 20 (max-pool 3×3): input map 2×2 is smaller"),
    ({"model": "vgg:16x4096,16x4096,16x4096", "input": "3x256x256"}, "cnnlab caps models at"),
    ({"model": "vgg11", "classes": "--5"}, "classes='--5' is not a whole number"),
    ({"model": "vgg11", "fc_width": "²"}, "fc_width='²' is not a whole number"),
    ({"model": "vgg11", "batch_norm": "maybe"}, "batch_norm='maybe' is not 1/true/yes or 0/false/no"),
    ({"input": "1x28x28"}, "block5 (5 of 5)"),  # no model: VGG-11 at that input
])
def test_a_link_to_a_model_that_cannot_be_analysed_falls_back_with_its_reason(app, params, message):
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception
    assert "The link's model could not be used" in shown(app.error[0]) and message in shown(app.error[0])
    assert metric(app, "Parameters") == format_count(VGG11)


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_block_edits_survive_another_page_and_choosing_custom(app):
    app.run()
    app.session_state["blocks"] = {"edited_rows": {0: {"out_channels": 16}}, "added_rows": [],
                                   "deleted_rows": [4]}
    app.run()
    edited = "vgg:1x16,1x128,2x256,2x512"
    assert app.query_params["model"] == edited and app.selectbox(key="vgg_preset").value == "custom"
    app.switch_page("views/train.py").run()
    app.switch_page("views/build.py").run()
    assert not app.exception and app.query_params["model"] == edited
    assert layer_table(app)["output_shape"].iloc[0] == "16×112×112"
    app.selectbox(key="vgg_preset").select("custom").run()
    assert app.query_params["model"] == edited
    app.selectbox(key="vgg_preset").select("VGG-13").run()
    assert app.query_params["model"] == "vgg13"
    app.session_state["blocks"] = {"edited_rows": {0: {"num_convs": 1}, 1: {"num_convs": 1}},
                                   "added_rows": [], "deleted_rows": []}
    app.run()  # VGG-13 with one convolution in each of its first two blocks is VGG-11
    assert app.query_params["model"] == "vgg11" and app.selectbox(key="vgg_preset").value == "VGG-11"


def test_a_link_outside_the_dashboard_range_is_refused_clearly(app):
    app.query_params["model"] = "lenet"
    app.query_params["input"] = "1x600x600"
    app.run()
    assert not app.exception and "28 to 256 pixels" in shown(app.error[0])


@pytest.mark.slow  # page runs of seconds of CPU each
def test_resnet_controls_change_the_model(app):
    app.run()
    app.selectbox(key="family").select("ResNet").run()
    app.radio(key="stem").set_value("cifar").run()
    app.text_input(key="in_size").input("32").run()
    # a 3×3 stem at 32×32 (64·27·1,024), four 64→64 convs at 32×32, each later stage a strided conv,
    # three convs and a 1×1 shortcut at half the side and twice the width (134,217,728 each), the fc
    macs = 64 * 27 * 1_024 + 4 * 64 * 576 * 1_024 + 3 * 134_217_728 + 512 * 10
    assert metric(app, "MACs per image") == format_count(macs) == "555.42M"
    assert app.query_params["stem"] == "cifar"


def needed(app) -> dict[str, float]:
    """The memory chart's stacked parts, in GiB."""
    bars = json.loads(app.get("plotly_chart")[3].proto.spec)["data"]
    return {bar["name"]: bar["x"][0] for bar in bars if bar["y"] == ["needed"]}


def test_training_memory_chart_follows_batch_size(app):
    app.run()
    # the optimiser starts as the one a run of this family trains with (VGG's recipe: Adam), as on Train
    assert app.selectbox(key="mem_opt").value == "adam"
    at_128 = needed(app)
    app.text_input(key="mem_batch").input("256").run()
    at_256 = needed(app)
    # fp32 weights: 4 bytes per parameter, whatever the batch; Adam keeps two moments per parameter
    assert at_128["weights"] == at_256["weights"] == pytest.approx(4 * VGG11 / 2**30, rel=1e-12)
    state = at_128["optimiser state"]
    assert state == at_256["optimiser state"] == pytest.approx(8 * VGG11 / 2**30, rel=1e-6)
    app.selectbox(key="mem_opt").select("sgd").run()
    assert needed(app)["optimiser state"] == 0  # plain SGD keeps no state
    # what backward keeps is per image: twice the batch, twice the activations
    kept = "activations kept for backward"
    assert at_256[kept] == pytest.approx(2 * at_128[kept], rel=1e-6)


def choose_resnet18(app):
    app.run()
    app.selectbox(key="family").select("ResNet").run()
    app.radio(key="table_view").set_value("every layer").run()
    assert not app.exception and not app.error


def test_resnet18_rows_are_unique_and_its_rf_chart_never_goes_back(app):
    choose_resnet18(app)
    names = list(layer_table(app)["name"])
    assert len(names) == 60 and len(set(names)) == 60 and "layer4.1.relu (2)" in names
    assert list(layer_table(app).columns[:6]) == ["name", "type", "output_shape", "kernel", "stride",
                                                  "padding"]
    chart = next(c for c in app.get("plotly_chart") if "Receptive field" in json.loads(c.proto.spec)
                 ["layout"]["title"]["text"])
    main, side, _ = json.loads(chart.proto.spec)["data"]
    assert all(a < b for a, b in zip(main["x"], main["x"][1:], strict=False))
    assert all(a <= b for a, b in zip(main["y"], main["y"][1:], strict=False))
    # the three downsampling shortcuts (a 1×1 convolution and its batch norm each) are the side markers
    assert [c[0] for c in side["customdata"]] == [f"layer{i}.0.downsample.{j}"
                                                  for i in (2, 3, 4) for j in (0, 1)]
    assert main["y"][-1] == 435  # ResNet-18's last 3×3 convolution sees 435 pixels (tests/test_analysis.py)


def test_the_formula_expander_explains_lenets_sizes(app):
    app.query_params["model"] = "lenet"
    app.run()
    formulas = next(df.value for df in app.dataframe if "output side" in df.value.columns)
    assert dict(zip(formulas["layer"], formulas["output side"], strict=True)) == {
        "conv1": "⌊(28 + 2·2 − 5)/1⌋ + 1 = 28", "pool1": "⌊(28 + 2·0 − 2)/2⌋ + 1 = 14",
        "conv2": "⌊(14 + 2·0 − 5)/1⌋ + 1 = 10", "pool2": "⌊(10 + 2·0 − 2)/2⌋ + 1 = 5"}
    table = layer_table(app)
    conv2 = table.loc[table["name"] == "conv2", ["kernel", "stride", "padding"]].iloc[0]
    assert list(conv2) == ["5", "1", "0"]
    assert table.loc[table["name"] == "fc1", "kernel"].iloc[0] == "—"


def test_parameters_tab_shows_the_share_of_each_kind(app):
    app.run()  # VGG-11: 9,219,328 conv and 119,586,826 FC parameters of 128,806,154 (hand-summed per layer)
    shares = {m.label: m.value for m in app.metric if m.label.endswith("layers")}
    assert shares == {"Convolution layers": f"{9_219_328 / 128_806_154:.1%}",
                      "Fully connected layers": f"{119_586_826 / 128_806_154:.1%}"}


@pytest.mark.slow  # page runs of seconds of CPU each
def test_after_an_error_the_headline_is_marked_as_the_last_valid_model(app):
    app.run()
    assert not any("Last valid model" in c.value for c in app.caption)
    app.text_input(key="in_size").input("28").run()  # VGG-11's five pools need 32 pixels
    assert app.error
    assert any(c.value.startswith("⚠ Last valid model") and "vgg11" in c.value for c in app.caption)
    assert metric(app, "Parameters") == format_count(VGG11)
    app.text_input(key="in_size").input("64").run()
    assert not app.error and not any("Last valid model" in c.value for c in app.caption)


def test_the_parameters_chart_is_on_a_log_axis_until_toggled(app):
    """Linear, VGG's fc1 (102,764,544) hides conv1 (640); log keeps both visible."""
    def axis_type(at):
        chart = next(c for c in at.get("plotly_chart")
                     if json.loads(c.proto.spec)["layout"]["title"]["text"].startswith("Parameters per"))
        return json.loads(chart.proto.spec)["layout"]["yaxis"]["type"]

    app.run()
    assert axis_type(app) == "log"
    app.toggle(key="params_log").set_value(False).run()
    assert axis_type(app) == "linear"


def test_the_layer_table_has_markdown_and_text_copies(app):
    app.run()
    labels = {b.proto.id.rsplit("-", 1)[-1]: b.proto.label for b in app.get("download_button")}
    assert {key: label for key, label in labels.items() if "table" in key} == {
        "download_table_markdown": "Table as Markdown", "download_table_text": "Table as text"}

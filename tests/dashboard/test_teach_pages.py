"""Pin A / compare B and the FC→conv switch on the Build page; every panel of the Lessons page (AppTest)."""

import json

import pytest
import torchvision

from cnnlab.analysis import analyze
from cnnlab.units import format_count
from tests.dashboard.conftest import shown
from tests.dashboard.test_see_page import array

STAGE_COLUMNS = ["layers", "output", "params", "RF"]
LESSONS = ["stack2", "stack3", "fc_share", "costs", "evolution", "residual", "fc_conv", "erf"]


def tables(at, columns):
    """The page's tables whose columns start with `columns`, in page order (AppTest shows no keys)."""
    return [df.value for df in at.dataframe if list(df.value.columns[:len(columns)]) == columns]


def headline(at):
    return tables(at, ["", "A", "B", "B/A"])[0].set_index("")


def stage_tables(at):
    return tables(at, STAGE_COLUMNS)


def fc_conv_table(at):
    return tables(at, ["name", "type", "output shape"])[0]


def test_pin_a_then_change_b_shows_both_with_ratios_and_the_link_carries_both(app):
    app.run()
    app.button(key="pin_a").click().run()
    app.selectbox(key="vgg_preset").select("VGG-16").run()
    assert not app.exception and not app.error
    a, b = analyze("vgg11"), analyze("vgg16")
    table = headline(app)
    assert table.loc["Parameters", "A"] == format_count(a.totals.params)
    assert table.loc["Parameters", "B"] == format_count(b.totals.params)
    assert table.loc["MACs per image", "B/A"] == f"{b.totals.macs / a.totals.macs:.3g}×"
    assert table.loc["Receptive field", "B/A"] == f"{212 / 150:.3g}×"  # VGG-16 sees 212, VGG-11 150
    stages_a, stages_b = stage_tables(app)
    assert list(stages_a["layers"]) == list(stages_b["layers"]) == [
        "block1", "block2", "block3", "block4", "block5", "flatten … fc3"]
    assert list(stages_b["RF"][:5]) == ["6", "16", "44", "100", "212"]
    assert app.query_params["model"] == "vgg16" and app.query_params["pin_model"] == "vgg11"
    app.button(key="unpin_a").click().run()
    assert "pin_model" not in app.query_params and not stage_tables(app)


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_link_with_a_pinned_model_shows_a_beside_b(app):
    app.query_params.update({"model": "vgg11", "input": "1x96x96", "width_divisor": "4",
                             "pin_model": "vgg11", "pin_input": "1x224x224"})
    app.run()
    assert not app.exception and not app.error
    table = headline(app)
    small, big = analyze("vgg11", "1x96x96", width_divisor=4), analyze("vgg11", "1x224x224")
    assert table.loc["MACs per image", "B/A"] == f"{small.totals.macs / big.totals.macs:.3g}×"
    assert list(stage_tables(app)[1]["output"][:5]) == ["16×48×48", "32×24×24", "64×12×12", "128×6×6",
                                                              "128×3×3"]


def test_a_bad_pinned_model_in_the_link_is_reported_and_the_page_works(app):
    app.query_params.update({"model": "vgg16", "pin_model": "vgg99"})
    app.run()
    assert not app.exception
    message = "The link's pinned model A could not be used: unknown model 'vgg99'"
    assert shown(app.error[0]).startswith(message)
    assert "pin_model" not in app.query_params and app.query_params["model"] == "vgg16"


def test_fc_as_conv_switch_shows_the_class_score_map(app):
    app.run()
    app.toggle(key="fc_as_conv").set_value(True).run()
    assert not app.exception and not app.error
    last = fc_conv_table(app).iloc[-1]
    # 320 / 32 = 10, minus fc1's 7×7 kernel plus one: a 4×4 map; field 150 + 6 · 32.
    assert list(last[["name", "type", "output shape", "RF"]]) == ["fc3", "Conv2d", "10×4×4", "342"]
    app.number_input(key="fc_conv_side").set_value(416).run()
    assert fc_conv_table(app).iloc[-1]["output shape"] == "10×7×7"  # 416 / 32 - 6
    app.selectbox(key="family").select("ResNet").run()
    assert not app.exception
    assert [shown(e) for e in app.error] == [
        "FC as convolutions: FC→conv rewrites networks that flatten a feature map into fully connected "
        "layers (LeNet, AlexNet, VGG, seq); ResNet is not one: a ResNet already ends in global average "
        "pooling and a single linear layer"]


@pytest.fixture
def lessons_page(app):
    app.run()
    app.switch_page("views/lessons.py").run()
    assert not app.exception and not app.error
    return app


def lesson_table(at, key):
    frames = [df.value for df in at.dataframe]
    assert len(frames) == len(LESSONS)
    return frames[LESSONS.index(key)]


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_every_lesson_panel_is_shown_with_its_claim(lessons_page):
    assert [s.value for s in lessons_page.subheader] == [
        "2 × 3×3 against one 5×5", "3 × 3×3 against one 7×7", "VGG's parameters sit in its FC layers",
        "What VGG costs, and what a smaller input saves", "LeNet → AlexNet → VGG → ResNet",
        "A residual block sees the union of its paths", "FC layers as convolutions slide over a larger image",
        "The effective field is much smaller than the theoretical one"]
    # Every panel has a button to the Build page with its models.
    links = [b.key for b in lessons_page.button if b.key.endswith("_link")]
    assert links == [f"lesson_{key}_link" for key in LESSONS]
    # The FC-share panel's opens, in this same session, VGG-16 pinned beside its GAP head.
    lessons_page.button(key="lesson_fc_share_link").click().run()
    assert not lessons_page.exception and not lessons_page.error
    assert lessons_page.title[0].value == "Build a network"
    gap = lessons_page.query_params
    assert gap["pin_model"] == "vgg16" and gap["model"].startswith("seq:c3-64p1,relu,c3-64p1,relu,m2,")
    assert gap["model"].endswith(",c3-512p1,relu,m2,gap,fc10")
    # The 3×3-stack panel's opens the two seq stacks on Build, A beside B, the controls following B.
    lessons_page.switch_page("views/lessons.py").run()
    lessons_page.button(key="lesson_stack2_link").click().run()
    assert not lessons_page.exception and not lessons_page.error
    stack = {key: lessons_page.query_params[key] for key in ("pin_model", "model")}
    assert stack == {"pin_model": "seq:c1-64,c3-64p1,relu,c3-64p1,relu,gap,fc10",
                     "model": "seq:c1-64,c5-64p2,relu,gap,fc10"}
    assert lessons_page.selectbox(key="family").value == "Layers (seq)"
    a, b = (analyze(stack[key], "1x56x56") for key in ("pin_model", "model"))
    assert headline(lessons_page).loc["Parameters", "B/A"] == f"{b.totals.params / a.totals.params:.3g}×"


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_each_lesson_panel_follows_its_inputs(lessons_page):
    """One session, one input changed per panel, each table against a calculation written here."""
    at = lessons_page
    for key, depth in (("stack2", 2), ("stack3", 3)):
        at.text_input(key=f"{key}_c").input("32").run()
        table, c, k = lesson_table(at, key), 32, 2 * depth + 1
        assert list(table["params"]) == [f"{depth * (9 * c * c + c):,}", f"{k * k * c * c + c:,}"]
        assert list(table["receptive field"]) == [str(k), str(k)]

    at.selectbox(key="fc_share_name").select("vgg11").run()
    reference = torchvision.models.vgg11(num_classes=10)
    total = sum(p.numel() for p in reference.parameters())
    fc = sum(p.numel() for p in reference.classifier.parameters())
    assert lesson_table(at, "fc_share")["FC share"].iloc[0] == f"{fc / total:.2%}"

    at.text_input(key="costs_b").input("64").run()
    table = lesson_table(at, "costs")
    assert list(table["input"]) == ["1x224x224"] * 3 + ["1x64x64"] * 3
    # VGG-11/4 at 64: conv MACs scale with the area, (64/224)² of those at 224, plus FC 128·2·2 → 4096.
    conv_224 = analyze("vgg11", width_divisor=4).totals.macs - (128 * 7 * 7 * 4096 + 4096 * 4096 + 4096 * 10)
    expected = conv_224 * 64**2 // 224**2 + 128 * 2 * 2 * 4096 + 4096 * 4096 + 4096 * 10
    assert table["MACs"].iloc[5] == f"{expected:,}"

    from cnnlab.runs.store import RunStore

    store = RunStore()  # the isolated CNNLAB_HOME of this test
    run = store.create_run({}, name="lenet", model="lenet", dataset="shapes")
    store.log_metrics(run, 1, 1.0, {"test_acc": 0.5})
    store.log_metrics(run, 2, 2.0, {"test_acc": 0.75})
    at.text_input(key="evolution_size").input("96").run()
    table = lesson_table(at, "evolution")
    assert list(table["best test acc"]) == ["0.750", "—", "—", "—"] and table["input"].iloc[3] == "1x96x96"

    at.text_input(key="residual_blocks").input("5").run()
    table = lesson_table(at, "residual")
    assert list(table["residual field"]) == list(table["plain stack field"]) == ["5", "9", "13", "17", "21"]

    at.text_input(key="erf_depth").input("3").run()
    table = lesson_table(at, "erf")
    assert list(table["theoretical field"]) == ["3", "5", "7"]
    assert not at.exception and not at.error


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_fc_conv_panel_and_the_costs_button_opens_the_build_page(lessons_page):
    lessons_page.text_input(key="fc_conv_size").input("288").run()
    table = lesson_table(lessons_page, "fc_conv")
    assert table["output"].iloc[1] == "10×3×3"  # 288 / 32 - 7 + 1
    lessons_page.text_input(key="fc_conv_size").input("200").run()  # smaller than the training 224
    assert [shown(e) for e in lessons_page.error] == [
        "the larger input 1x200x200 is smaller than the training input 1x224x224; a class-score map needs "
        "at least one window of the training size"]
    assert len(lessons_page.subheader) == len(LESSONS) - 1 and not lessons_page.exception
    lessons_page.button(key="lesson_costs_link").click().run()  # VGG-11 beside VGG-11/4 at 96, this session
    assert not lessons_page.exception and not lessons_page.error
    link = lessons_page.query_params
    assert link["pin_model"] == "vgg11" and link["width_divisor"] == "4"
    assert headline(lessons_page).loc["Parameters", "B"] == format_count(
        analyze("vgg11", "1x96x96", width_divisor=4).totals.params)


def test_the_class_score_map_is_drawn_over_a_mosaic_under_the_fc_conv_lesson(lessons_page):
    lessons_page.selectbox(key="fc_conv_name").select("lenet").run()
    lessons_page.text_input(key="fc_conv_train").input("28").run()
    lessons_page.toggle(key="lesson_fc_map_on").set_value(True).run()
    assert not lessons_page.exception and not lessons_page.error
    [chart] = [c for c in lessons_page.get("plotly_chart") if "best class" in c.proto.spec]
    figure = json.loads(chart.proto.spec)
    heat = next(t for t in figure["data"] if t.get("name") == "best class")
    # LeNet over 56×56: 28-pixel windows every 4 pixels, 8×8 of them, centred at 13.5, 17.5, ...
    assert array(heat["x"]).tolist() == array(heat["y"]).tolist() == [13.5 + 4 * k for k in range(8)]
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["class 0: its score at each window",
                                                                   "each window's best class"]
    lessons_page.number_input(key="lesson_fc_map_class").set_value(7).run()
    assert json.loads(next(c for c in lessons_page.get("plotly_chart") if "best class" in c.proto.spec)
                      .proto.spec)["layout"]["annotations"][0]["text"] == "class 7: its score at each window"

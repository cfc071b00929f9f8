"""The See page against real models, a real run store and a run trained in this process."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from cnnlab.limits import MAX_INSPECT_IMAGES
from cnnlab.runs import service
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from tests.dashboard.conftest import shown


def figures(app, prefix: str) -> list[dict]:
    return [json.loads(c.proto.spec) for c in app.get("plotly_chart")
            if json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "").startswith(prefix)]


def array(value) -> np.ndarray:
    """A Plotly array as JSON: a list, or a typed array {dtype, bdata, shape}."""
    if isinstance(value, dict):
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return data.reshape([int(n) for n in str(value.get("shape", data.size)).split(",")])
    return np.array(value, dtype=float)


def heat_of(figure: dict) -> np.ndarray:
    return array(next(t for t in figure["data"] if t["type"] == "heatmap")["customdata"])


def metric(app, label: str) -> list[str]:
    return [m.value for m in app.metric if m.label == label]


def box_of(figure: dict) -> tuple[float, float, float, float]:
    shape = next(s for s in figure["layout"]["shapes"] if s.get("name") == "theoretical field")
    return (shape["y0"], shape["x0"], shape["y1"], shape["x1"])


def open_see(app, model: str):
    app.query_params["model"] = model
    app.switch_page("views/see.py").run()
    assert not app.exception and not app.error, [shown(e) for e in app.error]
    return app


def test_the_build_models_unit_field_is_drawn_where_the_engine_says(app):
    open_see(app, "lenet")
    assert app.selectbox(key="see_layer").value == "pool2"  # the last layer with a map
    assert (app.text_input(key="see_row").value, app.text_input(key="see_col").value) == ("2", "2")
    [figure] = figures(app, "pool2 unit (2, 2)")
    # pool2: rf 16, jump 4, start 5.5 (by hand): unit (2, 2) sees rows and columns 6..21.
    assert box_of(figure) == (5.5, 5.5, 21.5, 21.5)
    heat = heat_of(figure)
    assert heat.shape == (28, 28) and abs(heat.sum() - 1) < 1e-9
    assert (heat[:6] == 0).all() and (heat[22:] == 0).all() and (heat[6:22, 6:22] > 0).all()
    assert metric(app, "Theoretical field") == ["16 px"]
    app.text_input(key="see_row").input("0").run()
    app.text_input(key="see_col").input("4").run()
    [figure] = figures(app, "pool2 unit (0, 4)")
    assert box_of(figure) == (-2.5, 13.5, 13.5, 29.5)  # beyond the image: drawn over the padding
    padding = next(s for s in figure["layout"]["shapes"] if s.get("name") == "padding")
    assert (padding["y0"], padding["x1"]) == (-2.5, 29.5)


@pytest.mark.slow  # page runs of seconds of CPU each
def test_a_new_layer_starts_at_its_centre_and_a_unit_outside_a_smaller_map_is_brought_back(app):
    open_see(app, "vgg:1x8,1x8")
    app.selectbox(key="see_layer").set_value("block1").run()
    assert (app.text_input(key="see_row").value, app.text_input(key="see_col").value) == ("56", "56")
    app.text_input(key="see_row").input("111").run()
    assert figures(app, "block1 unit (111, 56)")
    app.session_state["model_config"] = model_config("vgg:1x8,1x8", "1x64x64")  # changed on Build
    app.run()
    assert not app.exception and not app.error
    assert (app.text_input(key="see_row").value, app.text_input(key="see_col").value) == ("31", "31")
    assert figures(app, "block1 unit (31, 31)")


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_feature_maps_kernels_and_top_images_views(app):
    open_see(app, "lenet")
    app.radio(key="see_view").set_value("Feature maps").run()
    assert not app.exception
    titles = [f["layout"]["title"]["text"] for f in figures(app, "")]
    assert "conv1: 6×28×28 (first 6 channels)" in titles and "pool2: 16×5×5 (first 8 channels)" in titles
    app.radio(key="see_view").set_value("Filters").run()
    assert [f["layout"]["title"]["text"] for f in figures(app, "conv1")] == [
        "conv1: 6 kernels averaged over input channels, 5×5"]
    app.radio(key="see_view").set_value("Top images").run()
    app.text_input(key="see_top_k").input("4").run()
    assert not app.exception
    [top] = figures(app, "Top 4 images for pool2, channel 0")
    assert len(top["layout"]["shapes"]) == 4


def tiny_run(save_weights: bool = True) -> int:
    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1, batch_size=64,
                       limit_train=256, limit_test=64, device="cpu", optimizer="adam", lr=0.01,
                       save_weights=save_weights)
    run_id = service.create_run(config, name="seen")
    assert service.execute(run_id).status == "done"
    return run_id


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_run_shows_its_field_before_and_after_training_side_by_side(app):
    run_id = tiny_run()
    tiny_run(save_weights=False)  # not offered
    open_see(app, "lenet")
    app.radio(key="see_source").set_value("A trained run").run()
    assert not app.exception and not app.error
    assert app.selectbox(key="see_run").options == [f"#{run_id} seen [done]"]
    before = figures(app, f"pool2 unit (2, 2) — run {run_id}, before training")
    after = figures(app, f"pool2 unit (2, 2) — run {run_id}, trained")
    assert len(before) == len(after) == 1
    heat = [heat_of(f[0]) for f in (before, after)]
    assert box_of(before[0]) == box_of(after[0])
    assert np.abs(heat[0] - heat[1]).max() > 1e-4  # training moved the effective field
    assert len(metric(app, "95% within")) == 2 and len(metric(app, "50% within")) == 2


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_run_whose_weights_file_is_gone_is_an_error_and_the_page_keeps_working(app):
    run_id = tiny_run()
    Path(RunStore().get(run_id).weights_path).unlink()
    open_see(app, "lenet")
    app.radio(key="see_source").set_value("A trained run").run()
    assert not app.exception
    message = shown(app.error[0])
    assert message.startswith(f"run {run_id}'s weights file") and message.endswith("is missing")
    app.radio(key="see_source").set_value("The Build page's model").run()
    assert not app.exception and not app.error and figures(app, "pool2 unit")


@pytest.mark.slow  # page runs of seconds of CPU each
def test_a_run_whose_dataset_is_missing_says_so_and_shows_built_in_images(app):
    store = RunStore()
    trained = store.get(tiny_run())
    config = {**trained.config, "dataset": "mnist"}  # as if trained where MNIST was present
    run_id = store.create_run(config, name="mnist run", model="lenet", dataset="mnist")
    store.finish(run_id, "done", weights_path=trained.weights_path)
    open_see(app, "lenet")
    app.radio(key="see_source").set_value("A trained run").run()
    app.selectbox(key="see_run").set_value(run_id).run()
    assert not app.exception and not app.error
    assert app.warning[0].value.startswith("The run's dataset mnist is not on this machine")
    assert app.selectbox(key="see_dataset").value == "shapes"
    assert figures(app, f"pool2 unit (2, 2) — run {run_id}, trained")


@pytest.mark.slow  # page runs of seconds of CPU each
def test_the_images_follow_the_chosen_runs_dataset(app):
    run_id = tiny_run()  # trained on shapes
    open_see(app, "lenet")
    app.selectbox(key="see_dataset").set_value("shapes-rgb").run()  # the user's pick for the untrained model
    app.radio(key="see_source").set_value("A trained run").run()
    assert not app.exception and not app.error
    assert app.selectbox(key="see_dataset").value == "shapes"
    assert figures(app, f"pool2 unit (2, 2) — run {run_id}, trained")
    app.selectbox(key="see_dataset").set_value("shapes-rgb").run()  # a pick on the same run is kept
    assert app.selectbox(key="see_dataset").value == "shapes-rgb"


def test_no_run_with_weights_says_how_to_get_one(app):
    open_see(app, "lenet")
    app.radio(key="see_source").set_value("A trained run").run()
    assert not app.exception
    assert "No run has saved weights yet" in app.info[0].value


def test_a_link_from_the_diagram_opens_its_layer(app):
    app.query_params["layer"] = "conv1"
    open_see(app, "lenet")
    assert app.selectbox(key="see_layer").value == "conv1"
    [figure] = figures(app, "conv1 unit (14, 14)")
    assert box_of(figure) == (11.5, 11.5, 16.5, 16.5)  # a 5×5 field centred on pixel 14 (pad 2)
    app.selectbox(key="see_layer").select("pool1").run()  # the link picks the layer once, not again
    assert app.selectbox(key="see_layer").value == "pool1"


@pytest.mark.parametrize("key, typed, message", [
    ("see_image", "1000", "Image must be a whole number from 0 to 999, got 1000."),
    ("see_row", "5", "Row must be a whole number from 0 to 4, got 5."),  # pool2's map is 5×5
    ("see_col", "-1", "Column must be a whole number from 0 to 4, got -1."),
    ("see_images", "0", f"Images must be a whole number from 1 to {MAX_INSPECT_IMAGES:,}, got 0."),
    ("see_seed", "1e9", "Initialisation seed must be a whole number from 0 to 2,147,483,647, got 1e9."),
])
def test_a_number_out_of_range_is_named_and_no_field_stays_under_it(app, key, typed, message):
    open_see(app, "lenet")
    assert figures(app, "pool2 unit (2, 2)")
    app.text_input(key=key).input(typed).run()
    assert not app.exception
    assert [shown(e) for e in app.error] == [message]
    assert not figures(app, "pool2 unit") and not metric(app, "Theoretical field")  # nothing stale
    app.text_input(key=key).input("1").run()
    assert not app.exception and not app.error and metric(app, "Theoretical field") == ["16 px"]


def test_a_channel_out_of_range_shows_no_top_images(app):
    open_see(app, "lenet")
    app.radio(key="see_view").set_value("Top images").run()
    app.text_input(key="see_channel").input("16").run()  # pool2 has channels 0 to 15
    assert not app.exception
    assert [shown(e) for e in app.error] == ["Channel must be a whole number from 0 to 15, got 16."]
    assert not figures(app, "Top")


def test_a_links_layer_that_the_model_lacks_is_named(app):
    app.query_params["layer"] = "block9"
    app.query_params["model"] = "lenet"
    app.switch_page("views/see.py").run()
    assert not app.exception
    assert [shown(e) for e in app.error] == [
        "The link's layer block9 is not a layer of this model with a map; its layers are conv1 to pool2 "
        "(the box lists them)."]
    assert app.selectbox(key="see_layer").value == "pool2" and figures(app, "pool2 unit (2, 2)")


def test_the_layer_box_describes_the_model_on_screen_after_a_change_of_input(app):
    """The same layer names at another input size: the box's label is sent again (a browser keeps the
    label it was last sent, so 'block5.4 — 128×7×7' stayed over a 2×2 map)."""
    open_see(app, "lenet")
    assert app.selectbox(key="see_layer").proto.options[-1] == "pool2 — 16×5×5, field 16"
    app.session_state["model_config"] = model_config("lenet", "1x32x32")  # changed on Build
    app.run()
    assert not app.exception and not app.error
    box = app.selectbox(key="see_layer").proto
    # sides: at 28, conv1 (pad 2) 28, pool1 14, conv2 10, pool2 5; at 32, 32, 16, 12, 6
    assert box.options[-1] == "pool2 — 16×6×6, field 16"
    assert box.set_value and box.raw_value == "pool2 — 16×6×6, field 16"

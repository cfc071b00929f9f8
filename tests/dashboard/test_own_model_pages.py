"""A trained model of the user's own, exported with torch.export.save and uploaded on the Build page: its
table on Build, its feature maps and fields on See; bad files are one error and the page keeps working."""

import io

import numpy as np
import pytest
import torch

from cnnlab.inspect import dataset_images, feature_maps, spatial_layers
from cnnlab.runs import service
from cnnlab.spec import InputSpec
from tests.dashboard.conftest import shown, unescape
from tests.dashboard.test_see_page import array, figures, tiny_run


def exported(model: torch.nn.Module, shape: tuple) -> bytes:
    buffer = io.BytesIO()
    torch.export.save(torch.export.export(model.eval(), (torch.zeros(1, *shape),)), buffer)
    return buffer.getvalue()


def upload(app, content: bytes, name: str):
    app.file_uploader(key="upload_model").set_value((name, content, "application/octet-stream")).run()
    assert not app.exception
    return app


@pytest.mark.slow  # trains a model, then page runs of seconds of CPU each
def test_an_uploaded_trained_model_shows_its_own_feature_maps(app):
    trained = service.load_weights(tiny_run())  # LeNet after a short training run
    app.run()
    upload(app, exported(trained, (1, 28, 28)), "mine.pt2")
    assert not app.error, [shown(e) for e in app.error]
    assert [unescape(e.label) for e in app.expander][:1] == ["Your model: mine.pt2"]
    table = app.expander[0].dataframe[0].value
    leaves = [name for name, m in trained.named_modules() if name and not list(m.children())]
    assert list(table["name"]) == leaves
    assert table["params"].sum() == sum(p.numel() for p in trained.parameters())
    # formatted as the Build table: a dash where a row has no window or field, bytes in units
    assert list(table.columns) == ["name", "type", "output_shape", "kernel", "stride", "padding", "rf",
                                   "jump", "params", "macs", "output_bytes"]
    assert table.set_index("name").loc["fc3", ["kernel", "rf"]].tolist() == ["—", "—"]
    assert table.set_index("name").loc["conv1", "output_bytes"] == "18.4 KiB"  # 6·28·28 float32 = 18,816 B
    assert not table.isna().any().any()
    # its own headline, the exact count shown: LeNet's 61,706 (tests/dashboard/test_build_page.py)
    inside = app.expander[0]
    assert [m.value for m in inside.metric if m.label == "Parameters"] == ["61.71K"]
    assert "61,706 exactly" in [c.value for c in inside.caption]
    assert "The Build page's model: vgg11 · input 1x224x224 · 10 classes" in [shown(c) for c in app.caption]

    app.switch_page("views/see.py").run()
    app.radio(key="see_source").set_value("Your uploaded model").run()
    assert not app.exception and not app.error, [shown(e) for e in app.error]
    app.radio(key="see_view").set_value("Feature maps").run()
    assert not app.exception and not app.error
    (conv1,) = figures(app, "conv1: 6×28×28")
    # the same maps as the trained module's own forward on the same image (channel 0, scaled to [0, 1])
    image = dataset_images("shapes", 1, InputSpec.parse("1x28x28"))[0]
    layers = [layer for layer in spatial_layers(trained, (1, 28, 28)) if layer.name == "conv1"]
    (expected,) = feature_maps(trained, image, layers, channels=8)
    first = expected.maps[0]
    scaled = (first - first.min()) / (first.max() - first.min())
    shown_maps = array(conv1["data"][0]["z"])
    np.testing.assert_allclose(shown_maps[:28, :28], scaled, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_file_that_is_not_a_model_is_one_error_and_the_page_keeps_working(app):
    app.run()
    upload(app, b"this is no model", "junk.pt2")
    assert [shown(e) for e in app.error] == [
        "Could not load junk.pt2: junk.pt2 is not a model saved with torch.export.save: it is not a .pt2 "
        "(zip) archive"]
    assert not any("Your model" in e.label for e in app.expander)
    app.switch_page("views/see.py").run()
    app.radio(key="see_source").set_value("Your uploaded model").run()
    assert [i.value for i in app.info][-1].startswith("No model uploaded in this session")

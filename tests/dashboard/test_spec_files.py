"""Build page: a downloaded spec loads back; bad, oversized and foreign files are refused clearly."""

import json

import pytest

from cnnlab import model_config
from cnnlab.analysis import analyze
from cnnlab.units import format_count
from tests.dashboard.conftest import shown


def parameters(at) -> str:
    return next(m.value for m in at.metric if m.label == "Parameters")


def upload(at, content: bytes, name: str = "spec.json"):
    at.file_uploader(key="upload_spec").set_value((name, content, "application/json")).run()
    assert not at.exception
    return at


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_spec_loads_back_and_rebuilds_its_model(app):
    app.run()
    config = model_config("vgg:2x16,2x32,2x64", "3x64x64", width_divisor=2, batch_norm=True)
    upload(app, json.dumps(config.to_dict()).encode())
    assert not app.error
    assert parameters(app) == format_count(analyze(config).totals.params)
    assert app.query_params["model"] == "vgg:2x16,2x32,2x64" and app.query_params["input"] == "3x64x64"
    assert app.checkbox(key="batch_norm").value is True and app.text_input(key="in_size").value == "64"


@pytest.mark.parametrize("content, message", [
    (b"{not json", "is not valid JSON"),
    (b"\xff\xfe\x00garbage", "is not valid JSON"),
    (json.dumps({"arch": {"family": "vgg", "blocks": [[1, 64]], "evil": 1}, "input": [1, 28, 28]}).encode(),
     "unknown vgg field(s): evil"),
    (json.dumps({"arch": {"family": "lenet"}, "input": [1, 900, 900]}).encode(),
     "inputs of 28 to 256 pixels, not 1x900x900"),
    (json.dumps([1, 2, 3]).encode(), "with the keys 'arch' and 'input'"),
    (b" " * (65 * 1024), "a spec is at most 64.0 KiB"),
    (json.dumps({"arch": {"family": ["vgg"]}, "input": [1, 28, 28]}).encode(), "unknown architecture family"),
    (b'{"arch": {"family": "lenet", "classes": ' + b"9" * 5000 + b'}, "input": [1, 28, 28]}',
     "is not valid JSON"),
    (b"[" * 30000 + b"]" * 30000, "is not valid JSON"),
])
def test_a_bad_file_is_refused_and_the_model_kept(app, content, message):
    app.query_params["model"] = "alexnet"
    app.run()
    upload(app, content, "bad.json")
    assert any(message in shown(e) for e in app.error), [shown(e) for e in app.error]
    assert parameters(app) == format_count(analyze("alexnet").totals.params)
    assert app.query_params["model"] == "alexnet"


def test_a_spec_of_another_family_switches_the_controls(app):
    app.run()  # VGG
    upload(app, json.dumps(model_config("lenet").to_dict()).encode())
    assert not app.error and app.selectbox(key="family").value == "LeNet"
    assert parameters(app) == format_count(analyze("lenet").totals.params)
    upload(app, json.dumps(model_config("resnet34").to_dict()).encode(), "resnet.json")
    assert not app.error and app.selectbox(key="family").value == "ResNet"
    assert parameters(app) == format_count(analyze("resnet34").totals.params)

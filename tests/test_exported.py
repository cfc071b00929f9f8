"""Models saved with torch.export.save: loaded without running anything from the file, analysed like the
live module they were exported from, and every bad file refused in one line."""

import io
import json
import zipfile
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

import cnnlab
from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.exported import load
from cnnlab.limits import MAX_MODEL_FILE_MIB


def d2l_lenet() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def save(model: nn.Module, shape: tuple, path: Path) -> Path:
    torch.export.save(torch.export.export(model.eval(), (torch.zeros(1, *shape),)), path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pt2")
    torch.manual_seed(0)
    lenet, resnet = d2l_lenet(), torchvision.models.resnet18(num_classes=10)
    return {"lenet": (lenet, (1, 28, 28), save(lenet, (1, 28, 28), folder / "lenet.pt2")),
            "resnet18": (resnet, (3, 64, 64), save(resnet, (3, 64, 64), folder / "resnet18.pt2"))}


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@pytest.mark.parametrize("name", ["lenet", "resnet18"])
def test_the_file_has_the_live_modules_summary_and_outputs(files, name):
    live, shape, path = files[name]
    loaded = load(path)
    assert loaded.input_shape == shape
    expected, got = cnnlab.analyze(live, shape), cnnlab.analyze(loaded, shape)
    assert got.totals == expected.totals
    assert got.totals.params == sum(p.numel() for p in live.parameters())
    assert got.layers == expected.layers  # every row: name, type, shape, params, MACs, window, RF, jump
    x = torch.rand(2, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), live(x), rtol=0, atol=0)  # the saved weights, bit for bit


def test_lenet_rows_are_the_textbooks(files):
    rows = cnnlab.analyze(load(files["lenet"][2]), (1, 28, 28)).layers
    assert [r.output_shape for r in rows if r.type in ("Conv2d", "AvgPool2d")] == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5)]
    assert rows[3].rf == (14, 14)  # conv2: 6 + (5 − 1)·2


def test_cli_summary_and_field_of_a_file(files, capsys):
    live, shape, path = files["resnet18"]
    assert main(["summary", str(path), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = cnnlab.analyze(live, shape).to_dict()
    assert out["model"] == "resnet18.pt2" and out["seq"] is None
    assert (out["layers"], out["totals"]) == (expected["layers"], expected["totals"])
    assert main(["field", str(files["lenet"][2]), "--layer", "3", "--images", "2"]) == 0
    field = json.loads(capsys.readouterr().out)
    assert field["theoretical"]["rf"] == [14, 14] and field["weights"] == "lenet.pt2"


class Payload:
    """Unpickling this creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def rewritten(source: Path, target: Path, change) -> Path:  # noqa: ANN001
    """A copy of the archive at `source` with `change(name, data) -> data` applied to every entry."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, change(info.filename, old.read(info.filename)))
    return target


def saved(obj) -> bytes:  # noqa: ANN001
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_a_planted_payload_in_the_sample_inputs_is_never_run(files, tmp_path):
    marker = tmp_path / "marker"
    planted = rewritten(files["lenet"][2], tmp_path / "planted.pt2",
                        lambda n, d: saved(Payload(marker)) if n.endswith("sample_inputs/model.pt") else d)
    model = load(planted)
    assert not marker.exists()
    assert cnnlab.analyze(model, (1, 28, 28)).totals.params == 61706
    # The payload is live: PyTorch's own loader runs it (weights_only=True fails, then it retries without).
    with pytest.raises(Exception):  # noqa: B017 (whatever torch raises after running it)
        torch.export.load(planted)
    assert marker.exists()


def test_a_pickled_weight_is_refused_without_being_unpickled(files, tmp_path):
    marker = tmp_path / "marker"

    def change(name: str, data: bytes) -> bytes:
        if name.endswith("model_weights_config.json"):
            config = json.loads(data)
            config["config"]["0.weight"]["use_pickle"] = True
            return json.dumps(config).encode()
        return saved(Payload(marker)) if name.endswith("weights/weight_0") else data

    planted = rewritten(files["lenet"][2], tmp_path / "pickled.pt2", change)
    with pytest.raises(ConfigError, match="stores 0.weight pickled; cnnlab loads only plain tensors"):
        load(planted)
    assert not marker.exists()


def test_a_module_name_that_is_not_a_name_is_refused(files, tmp_path):
    def change(name: str, data: bytes) -> bytes:
        return data.replace(b"L__self__3,3,", b"L__self__3,3\\\");open('x','w');(\\\",") \
            if name.endswith("models/model.json") else data

    bad = rewritten(files["lenet"][2], tmp_path / "names.pt2", change)
    with pytest.raises(ConfigError, match="is not a model saved with torch.export.save"):
        load(bad)


def test_bad_files_get_one_line_each(files, tmp_path, capsys):
    (tmp_path / "text.pt2").write_text("not a model")
    with zipfile.ZipFile(tmp_path / "other.pt2", "w") as other:
        other.writestr("readme.txt", "hello")
    big = tmp_path / "big.pt2"
    with open(big, "wb") as out:
        out.truncate(MAX_MODEL_FILE_MIB * 2**20 + 1)
    cases = {
        "text.pt2": "text.pt2 is not a model saved with torch.export.save: it is not a .pt2 (zip) archive",
        "other.pt2": "other.pt2 is not a model saved with torch.export.save: it has no models/model.json",
        "big.pt2": f"big.pt2 is 128.0 MiB; a model file is at most {MAX_MODEL_FILE_MIB} MiB",
        "missing.pt2": f"no model file {tmp_path / 'missing.pt2'}",
    }
    for name, message in cases.items():
        assert main(["summary", str(tmp_path / name)]) == 2
        assert capsys.readouterr().err == f"cnnlab: error: {message}\n"
    assert main(["summary", str(files["lenet"][2]), "--input", "3x28x28"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnnlab: error: Sequential cannot run on a 3x28x28 input: ")
    assert err.count("\n") == 1
    assert main(["summary", str(files["lenet"][2]), "--depth", "18"]) == 2
    assert capsys.readouterr().err == ("cnnlab: error: --depth apply to presets and model strings, not to a "
                                       "model file\n")


def test_an_operation_cnnlab_does_not_run_is_named(tmp_path):
    class Sorts(nn.Module):
        def forward(self, x):
            return torch.sort(x, dim=-1).values

    path = save(Sorts(), (1, 4, 4), tmp_path / "sorts.pt2")
    with pytest.raises(ConfigError, match=r"sorts.pt2 uses torch.ops.aten.sort.default, which cnnlab does "
                                          r"not run"):
        load(path)


def test_the_dashboards_upload_cap_is_the_model_file_limit():
    import tomllib

    settings = Path(__file__).parents[1] / "dashboard" / ".streamlit" / "config.toml"
    config = tomllib.loads(settings.read_text())
    assert config["server"]["maxUploadSize"] == MAX_MODEL_FILE_MIB  # Streamlit counts MB as MiB


def test_the_documented_nginx_site_takes_an_upload_of_the_model_file_limit():
    text = (Path(__file__).parents[1] / "docs" / "DEPLOY.md").read_text()
    assert f"client_max_body_size {MAX_MODEL_FILE_MIB}m;" in text  # nginx's m is MiB

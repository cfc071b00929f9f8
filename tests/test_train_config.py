"""RunConfig: defaults, validation naming the field, JSON round trip; fit_input."""

import json

import pytest

from cnnlab.errors import ConfigError
from cnnlab.spec import InputSpec, model_config
from cnnlab.train.config import DEFAULT_LR, RunConfig, fit_input


def lenet(**changes) -> RunConfig:
    return RunConfig(model=fit_input(model_config("lenet"), "shapes"), **changes)


def test_defaults_and_json_round_trip():
    config = lenet(optimizer="adam", schedule="cosine", limit_train=100)
    assert config.lr == DEFAULT_LR["adam"] and config.epochs == 10 and config.batch_size == 128
    assert config.reports_per_epoch == 5 and config.init == "xavier" and config.device == "auto"
    data = json.loads(json.dumps(config.to_dict()))
    assert data["model"] == {"schema_version": 1, "arch": {"family": "lenet", "classes": 10},
                             "input": [1, 28, 28]}
    assert RunConfig.from_dict(data) == config


def test_fit_input_takes_channels_size_and_classes_from_the_dataset():
    fitted = fit_input(model_config("resnet18", classes=1000), "shapes-rgb", resize=64)
    assert fitted.input == InputSpec(3, 64, 64) and fitted.arch.classes == 10 and fitted.arch.depth == 18
    assert fit_input(model_config("vgg11"), "shapes").input == InputSpec(1, 28, 28)


@pytest.mark.parametrize(("changes", "message"), [
    ({"epochs": 0}, "epochs must be at least 1"),
    ({"batch_size": 2.5}, "batch_size must be a whole number"),
    ({"lr": -1.0}, "lr must be positive"),
    ({"lr": float("nan")}, "lr must be a finite number"),
    ({"optimizer": "rmsprop"}, "optimizer must be one of sgd, adam, adamw"),
    ({"momentum": 1.0}, "momentum must be below 1"),
    ({"optimizer": "adam", "momentum": 0.9}, "momentum applies to sgd only"),
    ({"schedule": "step"}, "schedule must be one of constant, cosine, onecycle"),
    ({"device": "tpu"}, "device must be one of auto, cpu, cuda, mps"),
    ({"amp": "yes"}, "amp must be true or false"),
    ({"init": "he"}, "init must be one of xavier, default"),
    ({"limit_train": 0}, "limit_train must be at least 1"),
    ({"reports_per_epoch": 0}, "reports_per_epoch must be at least 1"),
    ({"dataset": "imagenet"}, "dataset must be one of shapes"),
    ({"resize": 4}, "resize must be at least 8"),
    ({"resize": 64}, "model input 1x28x28 does not match shapes resized to 64 .1x64x64."),
    ({"dataset": "shapes-rgb"}, "does not match shapes-rgb at its native size"),
])
def test_bad_values_name_the_field(changes, message):
    with pytest.raises(ConfigError, match=message):
        lenet(**changes)


def test_classes_must_match_the_dataset():
    with pytest.raises(ConfigError, match="model has 5 classes but shapes has 10"):
        RunConfig(model=model_config("lenet", classes=5))


def test_from_dict_rejects_unknown_fields_and_needs_a_model():
    with pytest.raises(ConfigError, match="unknown run config field.*: learning_rate"):
        RunConfig.from_dict({**lenet().to_dict(), "learning_rate": 1})
    with pytest.raises(ConfigError, match="needs a 'model'"):
        RunConfig.from_dict({"epochs": 1})


def test_data_dir_is_stored_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert lenet(data_dir="data").data_dir == str(tmp_path / "data")


def test_the_run_configs_fields_are_the_option_tables_rows_in_order():
    import dataclasses

    from cnnlab.train.options import OPTIONS

    fields = dataclasses.fields(RunConfig)
    assert [f.name for f in fields] == ["model", *OPTIONS]
    assert {f.name: f.default for f in fields[1:]} == {name: row.default for name, row in OPTIONS.items()}

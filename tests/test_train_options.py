"""The training option table: RunConfig, the CLI flags and the sweep parameters are all drawn from it,
and one more row in it shows up in each of them."""

import argparse

import pytest

from cnnlab.cli import build_parser
from cnnlab.cli.train import run_config_from_args
from cnnlab.errors import ConfigError
from cnnlab.spec import model_config
from cnnlab.sweep import parse_space
from cnnlab.sweep.space import expand, sweep_params
from cnnlab.train import options as table
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.options import OPTIONS
from cnnlab.train.recipes import RECIPE_OPTIONS

# Flags of `cnnlab train` that are not training options: the model's, and the run's own (where it trains too).
NOT_OPTIONS = {"help", "model", "input", "classes", "fc_width", "width_divisor", "batch_norm", "depth",
               "stem", "name", "repeats", "home", "cluster", "background", "run_id"}


def train_actions() -> dict[str, argparse.Action]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices["train"]._actions}


def lenet(**values) -> RunConfig:
    from cnnlab.train import config  # the module's class: a test's extra option adds a field to it

    return config.RunConfig(model=fit_input(model_config("lenet"), "shapes"), **values)


def test_the_train_flags_are_the_tables_rows():
    actions = train_actions()
    assert set(actions) - NOT_OPTIONS == set(OPTIONS)
    for name, option in OPTIONS.items():
        action = actions[name]
        assert action.option_strings[0] == "--" + name.replace("_", "-")
        # What the family's recipe sets (cnnlab.train.recipes) is filled in once the model is known.
        assert action.default == (None if name in RECIPE_OPTIONS else option.default)
        assert action.help.startswith(option.help)
        sample = option.choices[-1] if option.choices else option.default
        if option.kind is not bool and sample is not None:  # the flag reads text as the option does
            assert action.type(option.format(sample)) == sample
        if option.kind in (int, float) or option.choices:
            assert option.bounds() in action.help
    # as written in the table, once
    assert actions["epochs"].help == ("passes over the training set (a whole number from 1 to 1,000; "
                                      "default 10)")
    assert actions["lr"].help == ("learning rate (a number above 0 and at most 1,000,000; default: the model "
                                  "family's recipe (docs/TRAINING.md))")
    assert actions["amp"].option_strings == ["--amp", "--no-amp"]
    with pytest.raises(argparse.ArgumentTypeError, match="^'abc' is not a number$"):
        actions["lr"].type("abc")
    with pytest.raises(argparse.ArgumentTypeError, match="^'rmsprop' is not one of sgd, adam, adamw$"):
        actions["optimizer"].type("rmsprop")


def test_the_sweep_varies_the_rows_marked_sweepable_and_the_model():
    params = sweep_params()
    run_params = [name for name, param in params.items() if not param.model]
    assert run_params == ["epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "schedule",
                          "seed", "init"]
    assert [name for name in run_params if params[name].option.log] == ["lr", "weight_decay"]
    assert params["optimizer"].option.choices == ("sgd", "adam", "adamw")
    assert {"model", "width_divisor", "depth"} <= {name for name, param in params.items() if param.model}


@pytest.mark.parametrize(("name", "inside", "outside", "message"), [
    ("epochs", (1, 1000), (0, 1001), "epochs is 1001; cnnlab caps it at 1000"),
    ("batch_size", (1, 65536), (0, 65537), "batch_size is 65537; cnnlab caps it at 65536"),
    ("lr", (1e-9, 1e6), (0.0, 2e6), "lr is 2,000,000; cnnlab caps it at 1,000,000"),
    ("momentum", (0.0, 0.99), (-0.1, 1.0), "momentum must be below 1, got 1.0"),
    ("weight_decay", (0.0, 1.0), (-1e-4, 1.5), "weight_decay is 1.5; cnnlab caps it at 1"),
    ("seed", (0, 2**31 - 1), (-1, 2**31), "seed is 2147483648; cnnlab caps it at 2147483647"),
    ("reports_per_epoch", (1, 1000), (0, 1001), "reports_per_epoch is 1001; cnnlab caps it at 1000"),
    ("resize", (8, 512), (7, 513), "resize is 513; cnnlab caps it at 512"),
])
def test_run_config_takes_the_bounds_of_the_table_and_no_more(name, inside, outside, message):
    option = OPTIONS[name]
    extra = {"optimizer": "sgd"} if name == "momentum" else {}
    for value in inside:
        model = fit_input(model_config("lenet"), "shapes", value) if name == "resize" else None
        config = RunConfig(model=model, dataset="shapes", **{name: value}) if model else \
            lenet(**{name: value}, **extra)
        assert getattr(config, name) == value
    for value in outside:
        with pytest.raises(ConfigError, match=f"^{name} "):
            option.validate(value)
    with pytest.raises(ConfigError) as raised:
        option.validate(outside[1])
    assert str(raised.value) == message


def test_a_run_config_is_immutable_comparable_and_copied_with_replace():
    config = lenet(epochs=3)
    with pytest.raises(AttributeError):
        config.epochs = 4
    assert config.replace(seed=5) == lenet(epochs=3, seed=5) and config.replace(seed=5) != config
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):  # a field an editor sees
        lenet(colour="red")
    with pytest.raises(ConfigError, match="unknown run config field.s.: colour"):
        config.replace(colour="red")
    with pytest.raises(ConfigError, match="unknown run config field.s.: colour"):
        RunConfig.from_dict({**config.to_dict(), "colour": "red"})
    import pickle
    assert pickle.loads(pickle.dumps(config)) == config


def test_one_more_row_is_a_flag_a_run_config_field_and_a_sweep_parameter(extra_option):
    actions = train_actions()
    assert actions["ema_decay"].option_strings == ["--ema-decay"] and actions["ema_decay"].default == 0.0
    assert actions["ema_decay"].help == ("decay of an exponential moving average of the weights (a number "
                                         "from 0 to below 1; default 0.0)")
    args = build_parser().parse_args(["train", "lenet", "--ema-decay", "0.99"])
    config = run_config_from_args(args)
    assert config.ema_decay == 0.99 and config.to_dict()["ema_decay"] == 0.99
    assert RunConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="ema_decay must be below 1, got 1.0"):
        lenet(ema_decay=1.0)
    assert sweep_params()["ema_decay"].option is extra_option
    trials = expand(lenet().to_dict(), parse_space(["ema_decay=0.9,0.999"]))
    assert [t.config.ema_decay for t in trials] == [0.9, 0.999]


def test_without_the_extra_row_nothing_knows_it():
    assert "ema_decay" not in OPTIONS and "ema_decay" not in sweep_params()
    assert "ema_decay" not in train_actions() and table.options("advanced")[-1].name != "ema_decay"

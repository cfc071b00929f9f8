"""Sweep spaces, `cnnlab sweep`'s bad input (refused without starting Ray) and `train --repeats`."""

import json
import math
import statistics

import pytest

from cnnlab import limits
from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.runs.store import DB_FILE, RunStore
from cnnlab.spec import model_config
from cnnlab.sweep import param_value, parse_space, plan, repeat_configs
from cnnlab.sweep.records import create_group
from cnnlab.train.config import DEFAULT_LR, RunConfig, fit_input


def base(model: str = "vgg:1x16,1x32", **changes) -> dict:
    return RunConfig(fit_input(model_config(model), "shapes"), **changes).to_dict()


def test_grid_times_samples_times_repeats_in_order_with_groups_and_seeds():
    space = parse_space(["lr=0.001,0.01", "width-divisor=2,4"], ["momentum=0..0.9"], samples=2, repeats=3)
    trials = plan(base(seed=7), space)
    assert space.size == len(trials) == 2 * 2 * 2 * 3
    assert [t.params["lr"] for t in trials[:12]] == [0.001] * 12 and trials[12].params["lr"] == 0.01
    assert [t.params["width_divisor"] for t in trials[:12]] == [2] * 6 + [4] * 6
    assert [t.group for t in trials] == [i // 3 for i in range(24)]
    assert [t.config.seed for t in trials[:6]] == [7, 8, 9, 7, 8, 9]
    # One draw per sample, shared by its repeats; the architecture option reaches the model.
    assert trials[0].params["momentum"] == trials[2].params["momentum"] != trials[3].params["momentum"]
    assert all(0 <= t.params["momentum"] <= 0.9 for t in trials)
    assert trials[6].config.model.arch.width_divisor == 4 and trials[6].config.momentum == trials[6].params[
        "momentum"]
    assert space.varied() == ["lr", "width_divisor", "momentum", "seed"]
    assert plan(base(seed=7), space) == trials, "draws are reproducible from the base seed"


def test_random_rates_are_log_uniform():
    trials = plan(base(), parse_space([], ["lr=1e-4..1e-1"], samples=400), confirmed=True)
    logs = sorted(math.log10(t.params["lr"]) for t in trials)
    assert logs[0] >= -4 and logs[-1] <= -1
    # Log-uniform: a third of the draws in each decade (a uniform draw puts under 1% below 1e-3).
    below = sum(1 for x in logs if x < -3) / len(logs)
    assert 0.25 < below < 0.42


def test_models_as_values_random_choices_and_default_rates_per_optimiser():
    trials = plan({**base(), "lr": None},
                  parse_space(["model=vgg:1x8,1x16;vgg:1x8,1x16,1x32", "optimizer=sgd,adam",
                               "batch-norm=true,false"], []))
    assert [t.config.model.arch.blocks for t in trials[::4]] == [((1, 8), (1, 16)),
                                                                 ((1, 8), (1, 16), (1, 32))]
    assert [t.config.model.arch.batch_norm for t in trials[:2]] == [True, False]
    assert trials[0].config.model.input.as_tuple() == (1, 28, 28), "fitted to the dataset"
    assert [t.config.lr for t in trials[:4:2]] == [DEFAULT_LR["sgd"], DEFAULT_LR["adam"]]
    assert param_value(trials[4].config.to_dict(), "model") == "vgg:1x8,1x16,1x32"
    assert param_value(trials[2].config.to_dict(), "optimizer") == "adam"
    depth = plan(base("resnet18"), parse_space(["depth=18,34"], []))
    assert [t.config.model.arch.depth for t in depth] == [18, 34]


def test_repeats_of_one_run_take_consecutive_seeds():
    config = RunConfig(fit_input(model_config("lenet"), "shapes"), seed=5)
    assert [c.seed for c in repeat_configs(config, 3)] == [5, 6, 7]
    with pytest.raises(ConfigError, match="repeats must be"):
        repeat_configs(config, 0)


@pytest.mark.parametrize(("grid", "random", "message"), [
    (["lr=abc"], [], "--grid lr: 'abc' is not a number"),
    (["lr="], [], "--grid lr: empty value"),
    (["lr=0.1,,0.2"], [], "--grid lr: empty value"),
    (["lr"], [], "is not of the form NAME=VALUES"),
    (["colour=red"], [], "unknown option 'colour'; a sweep can vary epochs, batch_size, lr, "),
    (["epochs=1.5"], [], "--grid epochs: '1.5' is not a whole number"),
    (["optimizer=sgd,rmsprop"], [], "'rmsprop' is not one of sgd, adam, adamw"),
    (["depth=20"], [], "--grid depth: '20' is not one of 18, 34, 50"),
    (["model=vgg:1x8;nonet"], [], "--grid model: unknown model 'nonet'"),
    (["classes=5"], [], "unknown option 'classes'"),
    (["lr=0.1,0.1"], [], "a value is repeated"),
    (["lr=0.1"], ["lr=1e-3..1e-1"], "lr is already varied"),
    ([], ["lr=0..0.1"], "drawn log-uniformly; its range must be above 0"),
    ([], ["lr=0.1..0.01"], "must go from low to high"),
    ([], ["optimizer=sgd..adam"], "a range needs a numeric option"),
    ([], [], "a sweep needs at least one --grid or --random parameter"),
])
def test_malformed_spaces_name_the_culprit(grid, random, message):
    with pytest.raises(ConfigError) as caught:
        parse_space(grid, random)
    assert message in str(caught.value)


def test_a_trial_that_cannot_be_built_names_the_trial():
    with pytest.raises(ConfigError, match=r"trial width_divisor=2: option 'width-divisor' does not apply to "
                                          r"lenet"):
        plan(base("lenet"), parse_space(["width_divisor=2"], []))


def test_cli_refuses_bad_sweeps_with_one_line_and_records_nothing(tmp_path, capsys):
    too_many = [f"seed={','.join(map(str, range(17)))}",
                f"lr={','.join(str(i / 100 + 0.01) for i in range(16))}"]
    cases = [
        (["--grid", "lr=abc"], "--grid lr: 'abc' is not a number"),
        (["--grid", "depth=18"], "option 'depth' does not apply to lenet"),
        (["--grid", "lr=0.1", "--early-stop", "hyperband"], "invalid choice: 'hyperband'"),
        (["--random", "lr=1e-3..1e-1", "--samples", "0"], "samples must be"),
        (["--grid", "lr=0.1", "--samples", "3"], "--samples needs at least one --random parameter"),
        ([arg for item in too_many for arg in ("--grid", item)],
         f"the sweep has 272 trials (more than {limits.SWEEP_CONFIRM_TRIALS}); pass --yes"),
        (["--grid", "lr=0.1", "--cluster", "nowhere"], "cluster address 'nowhere' is not HOST:PORT"),
    ]
    for args, message in cases:
        status = main(["sweep", "lenet", *args, "--home", str(tmp_path)])
        err = capsys.readouterr().err
        assert status == 2 and err.count("\n") == 1 and message in err, (args, err)
    assert not (tmp_path / DB_FILE).exists() or RunStore(tmp_path).list_runs() == []


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_train_repeats_trains_one_group_and_prints_mean_and_std(tmp_path, capsys):
    assert main(["train", "lenet", "--limit-train", "64", "--limit-test", "32", "--epochs", "1",
                 "--device", "cpu", "--seed", "4", "--repeats", "2", "--home", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    runs = sorted(RunStore(tmp_path).list_runs(), key=lambda r: r.id)
    assert [(r.status, r.config["seed"], r.group_id) for r in runs] == [("done", 4, runs[0].id),
                                                                       ("done", 5, runs[0].id)]
    accs = [r.final_test_acc for r in runs]
    assert out[-1] == (f"group {runs[0].id}: test acc {statistics.mean(accs):.3f} ± "
                       f"{statistics.stdev(accs):.3f} (mean ± std over 2 seeds)")


def test_a_sweep_whose_driver_died_is_interrupted_by_reconcile_and_reading_never_writes(tmp_path):
    import subprocess

    store = RunStore(tmp_path)
    sweep_id = store.create_sweep("orphan", {"varied": []}, None)
    driver = subprocess.Popen(["true"])
    driver.wait()  # exited and reaped: its pid names no process
    assert store.start_sweep(sweep_id, driver.pid)
    assert [s.status for s in store.list_sweeps()] == ["running"]
    assert store.get_sweep(sweep_id).status == "running"  # a read leaves the row as it is
    store.reconcile()
    ended = store.get_sweep(sweep_id)
    assert ended.status == "interrupted" and ended.error == "the sweep's driver process stopped"


def test_cnnlab_runs_ends_a_sweep_whose_driver_died_and_its_trials(tmp_path, capsys):
    import subprocess

    store = RunStore(tmp_path)
    sweep_id = store.create_sweep("orphan", {"varied": []}, None)
    lenet = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1, device="cpu")
    trials = create_group(store, [lenet, lenet], sweep_id=sweep_id)
    driver = subprocess.Popen(["true"])
    driver.wait()  # exited and reaped: its pid names no process
    assert store.start_sweep(sweep_id, driver.pid)
    for run_id in trials:
        store.update(run_id, pid=driver.pid)  # the driver owned its waiting trials
    assert main(["runs", "--format", "json", "--home", str(tmp_path)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted((run["id"], run["status"]) for run in listed) == [(t, "interrupted") for t in trials]
    ended = store.get_sweep(sweep_id)
    assert ended.status == "interrupted" and ended.error == "the sweep's driver process stopped"

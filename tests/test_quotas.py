"""Class quotas (cnnlab.quotas): each refuses a launch with its name and by how much, and nothing is
recorded. LeNet on 28×28 has 416,520 MACs per example (hand count: 28·28·6·25 + 10·10·16·150 +
400·120 + 120·84 + 84·10); the built-in shapes set has 6,000 training images."""

import pytest

from cnnlab.access import Actor
from cnnlab.errors import ConfigError
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.sweep import create_sweep, parse_space
from cnnlab.train import runner
from cnnlab.train.config import RunConfig, fit_input

LENET_MACS = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10


def lenet(**changes) -> RunConfig:
    return RunConfig(model=fit_input(model_config("lenet"), "shapes"),
                     **{"epochs": 1, "limit_train": 100, "device": "cpu", **changes})


@pytest.fixture
def quotas(tmp_path, monkeypatch):
    """Write a class config with these [quotas] and make it the active one."""

    def write(**values: int) -> None:
        path = tmp_path / "class.toml"
        path.write_text("[quotas]\n" + "".join(f"{key} = {value}\n" for key, value in values.items()))
        monkeypatch.setenv("CNNLAB_CLASS_CONFIG", str(path))

    return write


def refused(tmp_path, config: RunConfig, owner: str = "alice") -> str:
    before = [run.id for run in RunStore(tmp_path).list_runs()]
    with pytest.raises(ConfigError) as info:
        runner.create_run(config, home=tmp_path, owner=owner)
    assert [run.id for run in RunStore(tmp_path).list_runs()] == before  # nothing recorded
    return str(info.value)


def test_lenet_macs_are_the_hand_count():
    from cnnlab.analysis import analyze

    assert analyze(lenet().model).totals.macs == LENET_MACS == 416_520


def test_epochs_and_dataset_size_per_run(tmp_path, quotas):
    quotas(epochs=5, train_examples=1000)
    assert refused(tmp_path, lenet(epochs=7)) == (
        "quota epochs refused the launch: 7 epochs in one run, the limit is 5 (2 over); nothing was recorded")
    assert refused(tmp_path, lenet(limit_train=None)) == (
        "quota train_examples refused the launch: 6,000 training examples in one run, the limit is 1,000 "
        "(5,000 over); nothing was recorded")
    assert runner.create_run(lenet(epochs=5, limit_train=1000), home=tmp_path, owner="alice") == 1


def test_compute_per_run_is_macs_times_examples_times_epochs(tmp_path, quotas):
    quotas(run_compute=LENET_MACS * 100 * 2 - 1)
    assert refused(tmp_path, lenet(epochs=2)) == (
        "quota run_compute refused the launch: 83,304,000 MACs × examples × epochs in one run, the limit "
        "is 83,303,999 (1 over); nothing was recorded")
    runner.create_run(lenet(epochs=1), home=tmp_path, owner="alice")


def test_compute_per_user_per_hour_counts_their_earlier_runs_only(tmp_path, quotas):
    quotas(hourly_compute=100_000_000)  # two runs of 41,652,000 fit, a third does not
    for _ in range(2):
        runner.create_run(lenet(), home=tmp_path, owner="alice")
    assert refused(tmp_path, lenet()) == (
        "quota hourly_compute refused the launch: 124,956,000 MACs × examples × epochs of alice's runs in "
        "the last hour, the limit is 100,000,000 (24,956,000 over); nothing was recorded")
    runner.create_run(lenet(), home=tmp_path, owner="bob")
    RunStore(tmp_path).request_cancel(1, Actor("alice"))  # ended before it started: it spent nothing
    runner.create_run(lenet(), home=tmp_path, owner="alice")


def test_concurrent_and_queued_runs_per_user(tmp_path, quotas):
    quotas(concurrent_runs=3, queued_runs=2)
    store = RunStore(tmp_path)
    first = runner.create_run(lenet(), home=tmp_path, owner="alice")
    store.claim(first, 1, "cpu")  # one running
    runner.create_run(lenet(), home=tmp_path, owner="alice")
    runner.create_run(lenet(), home=tmp_path, owner="alice")  # two queued
    assert refused(tmp_path, lenet()) == (
        "quota concurrent_runs refused the launch: 4 runs of alice queued or running at once, the limit "
        "is 3 (1 over); nothing was recorded")
    store.finish(first, "done")
    assert refused(tmp_path, lenet()) == (
        "quota queued_runs refused the launch: 3 runs of alice queued, the limit is 2 (1 over); nothing "
        "was recorded")
    runner.create_run(lenet(), home=tmp_path, owner="bob")


def test_sweep_size_is_refused_before_the_sweep_is_recorded(tmp_path, quotas):
    quotas(sweep_trials=3)
    space = parse_space(["lr=0.001,0.01,0.1,1"], [])
    with pytest.raises(ConfigError) as info:
        create_sweep(lenet().to_dict(), space, home=tmp_path, owner="alice")
    assert str(info.value) == ("quota sweep_trials refused the launch: 4 trials in one sweep, the limit is 3 "
                               "(1 over); nothing was recorded")
    store = RunStore(tmp_path)
    assert store.list_sweeps() == [] and store.list_runs() == []
    sweep_id = create_sweep(lenet().to_dict(), parse_space(["lr=0.01,0.1,1"], []), home=tmp_path,
                            owner="alice")
    assert [run.owner for run in store.sweep_runs(sweep_id)] == ["alice"] * 3
    assert store.get_sweep(sweep_id).owner == "alice"

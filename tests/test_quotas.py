"""Class quotas (cnnlab.quotas): each refuses a launch with its name and by how much, and nothing is
recorded. LeNet on 28×28 has 416,520 MACs per example (hand count: 28·28·6·25 + 10·10·16·150 +
400·120 + 120·84 + 84·10); the built-in shapes set has 6,000 training images."""

import os
import subprocess
import sys

import pytest

from cnnlab.access import Actor
from cnnlab.errors import ConfigError
from cnnlab.runs import service
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.sweep import create_sweep, parse_space
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
        service.create_run(config, home=tmp_path, owner=owner)
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
    assert service.create_run(lenet(epochs=5, limit_train=1000), home=tmp_path, owner="alice") == 1


def test_compute_per_run_is_macs_times_examples_times_epochs(tmp_path, quotas):
    quotas(run_compute=LENET_MACS * 100 * 2 - 1)
    assert refused(tmp_path, lenet(epochs=2)) == (
        "quota run_compute refused the launch: 83,304,000 MACs × examples × epochs in one run, the limit "
        "is 83,303,999 (1 over); nothing was recorded")
    service.create_run(lenet(epochs=1), home=tmp_path, owner="alice")


def test_compute_per_user_per_hour_counts_their_earlier_runs_only(tmp_path, quotas):
    quotas(hourly_compute=100_000_000)  # two runs of 41,652,000 fit, a third does not
    for _ in range(2):
        service.create_run(lenet(), home=tmp_path, owner="alice")
    assert refused(tmp_path, lenet()) == (
        "quota hourly_compute refused the launch: 124,956,000 MACs × examples × epochs of alice's runs in "
        "the last hour, the limit is 100,000,000 (24,956,000 over); nothing was recorded")
    service.create_run(lenet(), home=tmp_path, owner="bob")
    RunStore(tmp_path).request_cancel(1, Actor("alice"))  # ended before it started: it spent nothing
    service.create_run(lenet(), home=tmp_path, owner="alice")


def test_concurrent_and_queued_runs_per_user(tmp_path, quotas):
    quotas(concurrent_runs=3, queued_runs=2)
    store = RunStore(tmp_path)
    first = service.create_run(lenet(), home=tmp_path, owner="alice")
    store.claim(first, 1, "cpu")  # one running
    service.create_run(lenet(), home=tmp_path, owner="alice")
    service.create_run(lenet(), home=tmp_path, owner="alice")  # two queued
    assert refused(tmp_path, lenet()) == (
        "quota concurrent_runs refused the launch: 4 runs of alice queued or running at once, the limit "
        "is 3 (1 over); nothing was recorded")
    store.finish(first, "done")
    assert refused(tmp_path, lenet()) == (
        "quota queued_runs refused the launch: 3 runs of alice queued, the limit is 2 (1 over); nothing "
        "was recorded")
    service.create_run(lenet(), home=tmp_path, owner="bob")


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


def sweep_of(tmp_path, *lrs: str, owner: str = "alice") -> int:
    space = parse_space([f"lr={','.join(lrs)}"], [])
    return create_sweep(lenet().to_dict(), space, home=tmp_path, owner=owner)


def refused_sweep(tmp_path, *lrs: str, owner: str = "alice") -> str:
    store = RunStore(tmp_path)
    before = ([run.id for run in store.list_runs()], [sweep.id for sweep in store.list_sweeps()])
    with pytest.raises(ConfigError) as info:
        sweep_of(tmp_path, *lrs, owner=owner)
    assert ([run.id for run in store.list_runs()], [sweep.id for sweep in store.list_sweeps()]) == before
    return str(info.value)


def test_a_sweeps_trials_are_runs_of_its_owner_for_the_concurrent_and_queued_limits(tmp_path, quotas):
    """The probe's case: with concurrent_runs = 2, alice's two runs leave no room for a one-trial sweep,
    and a sweep's two trials leave none for a run."""
    quotas(concurrent_runs=2, queued_runs=2)
    for _ in range(2):
        service.create_run(lenet(), home=tmp_path, owner="alice")
    assert refused_sweep(tmp_path, "0.1") == (
        "quota concurrent_runs refused the launch: 3 runs of alice queued or running at once, the limit "
        "is 2 (1 over); nothing was recorded")
    sweep_of(tmp_path, "0.1", "0.01", owner="bob")
    assert refused(tmp_path, lenet(), owner="bob") == (
        "quota concurrent_runs refused the launch: 3 runs of bob queued or running at once, the limit "
        "is 2 (1 over); nothing was recorded")
    store = RunStore(tmp_path)
    store.claim(1, 1, "cpu")  # one of alice's runs trains: two of hers are still going, one queued
    assert refused_sweep(tmp_path, "0.1") == (
        "quota concurrent_runs refused the launch: 3 runs of alice queued or running at once, the limit "
        "is 2 (1 over); nothing was recorded")
    store.finish(1, "done")
    quotas(concurrent_runs=3, queued_runs=2)
    assert refused_sweep(tmp_path, "0.1", "0.01") == (
        "quota queued_runs refused the launch: 3 runs of alice queued, the limit is 2 (1 over); nothing "
        "was recorded")


def test_the_sweeps_a_user_has_going_at_once_are_limited(tmp_path, quotas):
    quotas(sweeps=1)
    first = sweep_of(tmp_path, "0.1")
    assert refused_sweep(tmp_path, "0.01") == (
        "quota sweeps refused the launch: 2 sweeps of alice queued or running at once, the limit is 1 "
        "(1 over); nothing was recorded")
    sweep_of(tmp_path, "0.01", owner="bob")  # a limit per user
    RunStore(tmp_path).request_cancel_sweep(first, Actor("alice"))
    assert RunStore(tmp_path).get_sweep(sweep_of(tmp_path, "0.01")).owner == "alice"  # an ended one frees it


RACER = """
import sys, time
from pathlib import Path
from cnnlab.errors import ConfigError
from cnnlab.spec import model_config
from cnnlab.sweep import create_sweep, parse_space
from cnnlab.train.config import RunConfig, fit_input

home, go = sys.argv[1], Path(sys.argv[2])
base = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1, limit_train=100, device="cpu")
space = parse_space(["lr=0.1"], [])
print("ready", flush=True)
while not go.exists():  # both processes are ready: they launch at the same moment
    time.sleep(0.001)
try:
    print("accepted", create_sweep(base.to_dict(), space, home=home, owner="alice"))
except ConfigError as exc:
    print("refused", exc)
"""


@pytest.mark.slow  # two real processes launching at once
def test_two_simultaneous_sweeps_cannot_both_pass_hourly_compute(tmp_path, quotas):
    """Each one-trial sweep costs 41,652,000; the hour allows one. They race in two processes, started
    together three times: each time exactly one is recorded, and the other names the limit."""
    quotas(hourly_compute=LENET_MACS * 100 + LENET_MACS * 50)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for attempt in range(3):
        home, go = tmp_path / f"home{attempt}", tmp_path / f"go{attempt}"
        racers = [subprocess.Popen([sys.executable, "-c", RACER, str(home), str(go)], env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
        assert [racer.stdout.readline() for racer in racers] == ["ready\n"] * 2  # both imported
        go.touch()
        outcomes = sorted(racer.communicate(timeout=300)[0].split(" ", 1)[0] for racer in racers)
        assert outcomes == ["accepted", "refused"], attempt
        store = RunStore(home)
        assert len(store.list_sweeps()) == 1 and len(store.list_runs()) == 1

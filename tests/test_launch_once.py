"""A launch computes each thing once: the analysis, the memory simulation, the dataset check and the
quota check, counted by spies that call the real functions. The device's one slot is held by this
process, so the launch's dispatch queues the run and starts no worker."""

import os

import pytest

from cnnlab import quotas
from cnnlab.analysis import analyze
from cnnlab.analysis import memory as memory_sim
from cnnlab.runs import service
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input

MNIST = os.environ.get("CNNLAB_TEST_DATA")


def spy(monkeypatch, module, name: str) -> list:
    """Replace `module.name` with a function that records its arguments and calls the real one."""
    calls, real = [], getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.fixture
def counts(monkeypatch):
    """Spies on the analysis, the training-memory simulation (with an empty cache), the dataset load and
    the quota check, as the launch reaches them."""
    monkeypatch.setattr(memory_sim, "_cache", {})
    return {"analysis": spy(monkeypatch, service, "analyze"),
            "memory": spy(monkeypatch, memory_sim, "memory_model"),
            "dataset": spy(monkeypatch, service, "load_split"),
            "quota": spy(monkeypatch, quotas, "check_launch")}


def held_slot(store: RunStore, config: RunConfig) -> None:
    """The cpu's one slot taken by this process's run, so a launch's dispatch starts nothing."""
    holder = store.create_run(config.to_dict(), name="holder", model=config.model.name,
                              dataset=config.dataset, params=0, macs=0)
    assert store.claim(holder, os.getpid(), "cpu")


def launch_counts(tmp_path, monkeypatch, counts, config: RunConfig) -> dict[str, int]:
    monkeypatch.setenv(service.MAX_RUNS_ENV, "1")
    store = RunStore(tmp_path)
    held_slot(store, config)
    run_id = service.launch(config, home=tmp_path)
    run = store.get(run_id)
    expected = analyze(config.model).totals  # after the launch: not counted
    assert (run.status, run.pid, run.params, run.macs) == ("queued", None, expected.params, expected.macs)
    return {what: len(calls) for what, calls in counts.items()}


def test_a_launch_analyses_simulates_and_checks_the_quota_once(tmp_path, monkeypatch, counts):
    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), dataset="shapes", device="cpu")
    # shapes is generated in code: there is no dataset to load.
    assert launch_counts(tmp_path, monkeypatch, counts, config) == {"analysis": 1, "memory": 1, "dataset": 0,
                                                                    "quota": 1}


@pytest.mark.mnist
@pytest.mark.skipif(not MNIST, reason="MNIST subset absent: set CNNLAB_TEST_DATA to a folder with MNIST/raw")
def test_a_launch_on_a_dataset_on_disk_loads_it_once(tmp_path, monkeypatch, counts):
    config = RunConfig(model=fit_input(model_config("lenet"), "mnist"), dataset="mnist", data_dir=MNIST,
                       device="cpu")
    assert launch_counts(tmp_path, monkeypatch, counts, config) == {"analysis": 1, "memory": 1, "dataset": 1,
                                                                    "quota": 1}


def test_a_sweeps_group_analyses_its_model_once_for_all_its_runs(tmp_path, monkeypatch, counts):
    from cnnlab.sweep import records

    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), device="cpu")
    analysed = spy(monkeypatch, records, "analyze")
    ids = records.create_group(RunStore(tmp_path), [config.replace(seed=seed) for seed in range(3)])
    assert (len(ids), len(analysed), len(counts["analysis"])) == (3, 1, 0)

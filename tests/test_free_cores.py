"""Intra-op threads for the free cores: a CPU run with speed auto takes one thread per core that no
other process is busy on (real busy processes on this machine, a real training run)."""

import os
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import torch

from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.cores import busy_elsewhere, threads_for_now
from cnnlab.train.fit import fit
from cnnlab.train.loop import Callback
from cnnlab.train.status import Status

CORES = len(os.sched_getaffinity(0))
SMALL = {"limit_train": 48, "limit_test": 40, "batch_size": 16, "device": "cpu", "epochs": 2}


@pytest.fixture
def every_core_busy() -> Iterator[None]:
    """One busy process per core, running (seen by busy_elsewhere) before the test goes on."""
    before = busy_elsewhere()
    loops = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(CORES)]
    try:
        deadline = time.monotonic() + 10
        seen = busy_elsewhere()
        while seen < before + CORES and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = busy_elsewhere()
        assert seen >= CORES  # the loops were seen running (a later reading can dip under other load)
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


@pytest.fixture
def all_threads() -> Iterator[None]:
    """torch at one thread per core (the share a single run has), put back afterwards."""
    share = torch.get_num_threads()
    torch.set_num_threads(CORES)
    yield
    torch.set_num_threads(share)


def config(**changes) -> RunConfig:
    return RunConfig(model=fit_input(model_config("lenet"), "shapes"), **{**SMALL, **changes})


@pytest.mark.slow  # a busy loop of its own, read against the machine's load: the slow tier's quiet machine
def test_this_process_own_busy_threads_are_not_counted_as_other_load() -> None:
    before = busy_elsewhere()
    assert before is not None  # Linux: /proc tells
    stop = threading.Event()
    square = torch.ones(768, 768)

    def multiply() -> None:  # torch's kernels run without the GIL: this thread stays runnable
        while not stop.is_set():
            square @ square

    spinner = threading.Thread(target=multiply)
    spinner.start()
    try:
        during = busy_elsewhere()
    finally:
        stop.set()
        spinner.join()
    assert during <= before  # the multiplying thread (and the reading one) are this process's


@pytest.mark.usefixtures("every_core_busy")
def test_with_every_core_busy_one_thread_is_taken() -> None:
    assert threads_for_now(CORES) == 1


@pytest.mark.usefixtures("every_core_busy", "all_threads")
def test_a_run_with_speed_auto_trains_each_epoch_on_the_free_cores_and_restores_its_share() -> None:
    result = fit(config(speed="auto"))
    assert result.status == Status.DONE
    assert result.speed["threads"] == [1, 1]  # one per epoch, every core was busy
    assert torch.get_num_threads() == CORES  # the run's share, put back


@pytest.mark.usefixtures("every_core_busy", "all_threads")
def test_a_run_with_speed_fixed_keeps_its_threads() -> None:
    result = fit(config(speed="fixed"))
    assert result.status == Status.DONE
    assert "threads" not in result.speed
    assert torch.get_num_threads() == CORES


class FailsInTheSecondEpoch(Callback):
    def on_epoch_start(self, loop) -> None:
        if loop.epochs_done == 1:
            assert torch.get_num_threads() == 1  # FreeCores (order 5) ran first
            raise RuntimeError("a bug in a user's callback")


@pytest.mark.usefixtures("every_core_busy", "all_threads")
def test_a_run_ended_by_an_unexpected_error_still_puts_the_thread_count_back() -> None:
    with pytest.raises(RuntimeError, match="a bug in a user's callback"):
        fit(config(speed="auto"), [FailsInTheSecondEpoch()])
    assert torch.get_num_threads() == CORES

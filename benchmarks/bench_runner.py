"""How fast the runner reacts (the timings the unit tests no longer assert): a cancel reaching a running
worker, a killed worker being seen as interrupted, SIGTERM ending a run, and the longest gap between
two `should_stop` polls inside the training loop (POLL_SECONDS = 0.5 is the design bound).

    python benchmarks/bench_runner.py [--repeats 3]

Prints the median and the best (smallest) of the repeats, and the machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
import time

from machine import describe

from cnnlab.runs import service
from cnnlab.runs.processes import process_alive
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.callbacks import StopPoller
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.fit import fit
from cnnlab.train.status import TERMINAL


def config(**changes) -> RunConfig:
    base = {"limit_train": 320, "limit_test": 128, "batch_size": 64, "device": "cpu", "epochs": 1000,
            "speed": "fixed"}
    return RunConfig(model=fit_input(model_config("lenet"), "shapes"), **{**base, **changes})


def wait(predicate, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.01)
    raise SystemExit("timed out")


def running_worker(home: str) -> tuple[RunStore, int]:
    run_id = service.launch(config(), home=home)
    store = RunStore(home)
    wait(lambda: any(m["name"] == "train_loss" for m in store.metrics(run_id)))
    return store, run_id


def cancel_latency(home: str) -> float:
    store, run_id = running_worker(home)
    start = time.monotonic()
    service.cancel(run_id, home=home)
    wait(lambda: store.get(run_id).status in TERMINAL)
    return time.monotonic() - start


def sigterm_latency(home: str) -> float:
    store, run_id = running_worker(home)
    start = time.monotonic()
    os.kill(store.get(run_id).pid, signal.SIGTERM)
    wait(lambda: store.get(run_id).status in TERMINAL)
    return time.monotonic() - start


def kill_to_interrupted(home: str) -> float:
    store, run_id = running_worker(home)
    pid = store.get(run_id).pid
    start = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    wait(lambda: not process_alive(pid) and store.reconcile() == [run_id])
    return time.monotonic() - start


def longest_poll_gap(_: str) -> float:
    """One report per epoch and slow steps (LeNet at 96×96): the time-based poll must still come."""
    calls: list[float] = []

    def should_stop() -> bool:
        calls.append(time.perf_counter())
        return calls[-1] - calls[0] > 2.5

    cfg = RunConfig(model=fit_input(model_config("lenet"), "shapes", resize=96), resize=96, batch_size=64,
                    device="cpu", limit_train=4096, limit_test=256, epochs=5, reports_per_epoch=1)
    fit(cfg, [StopPoller(should_stop)])
    return max(b - a for a, b in zip(calls, calls[1:], strict=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(describe())
    for name, measure in (("cancel -> cancelled", cancel_latency), ("SIGTERM -> cancelled", sigterm_latency),
                          ("SIGKILL -> interrupted (reconcile)", kill_to_interrupted),
                          ("longest gap between should_stop polls", longest_poll_gap)):
        seconds = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as home:
                seconds.append(measure(home))
        print(f"{name:40} median {statistics.median(seconds):6.3f} s  best {min(seconds):6.3f} s  "
              f"worst {max(seconds):6.3f} s", flush=True)


if __name__ == "__main__":
    main()

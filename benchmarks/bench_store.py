"""The run store over a semester's runs: what a live tick of the Train page, `list_runs` and `cnnlab runs`
cost with a store of 10,000 finished runs with metrics.

    python benchmarks/bench_store.py [--runs 10000] [--metrics 20] [--repeats 5]

A live tick is the store work of the Train page's one-second fragment: `open_store()`, the runs list and
the watched run's metrics. `cnnlab runs` is timed in this process (`main`) and as a process of its own.
Prints the median and the best (smallest) of the repeats, in wall time and in CPU time, and the machine.
Run it with another checkout first on PYTHONPATH to time that code on the same store shape (the store
is built through the code under test, then filled with SQL).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from machine import describe

from cnnlab.cli import main
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input

METRIC_NAMES = ("train_loss", "train_acc", "lr", "test_acc")


def build(home: str, runs: int, metrics: int) -> int:
    """A store of `runs` finished runs of 30 owners, `metrics` rows each; returns the newest run's id."""
    RunStore(home).close()
    config = json.dumps(RunConfig(model=fit_input(model_config("lenet"), "mnist"), dataset="mnist").to_dict())
    rng = random.Random(0)
    now = time.time()
    db = sqlite3.connect(os.path.join(home, "runs.sqlite"), isolation_level=None)
    db.execute("BEGIN")
    start = now - 86400 * 60  # a semester's runs, one a second from two months ago
    rows = [(i, f"lenet on mnist · lr={rng.choice((0.01, 0.1))}", start + i, start + i + 1, start + i + 60,
             rng.choice(("done", "done", "failed", "cancelled")), config, "lenet",
             "mnist", "cpu", 61706, 416520, 1.0, rng.random(), rng.random(), rng.random(), 1234.5,
             f"student{i % 30}") for i in range(1, runs + 1)]
    db.executemany("INSERT INTO runs (id, name, created_at, started_at, finished_at, status, config, model, "
                   "dataset, device, params, macs, epochs_done, final_train_loss, final_train_acc, "
                   "final_test_acc, examples_per_sec, owner) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)",
                   ((run, step, step / metrics, METRIC_NAMES[step % 4], rng.random())
                    for run in range(1, runs + 1) for step in range(metrics)))
    db.execute("COMMIT")
    db.close()
    return runs


def timed(what: Callable[[], object], repeats: int) -> tuple[float, float, float, float]:
    """Median and best wall time of `what`, then median and best CPU time of this process and its
    children (a busy machine stretches the wall time, much less the CPU time), in seconds."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), _cpu()
        what()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), min(walls), statistics.median(cpus), min(cpus)


def _cpu() -> float:
    """CPU seconds (user and system) of this process (to the nanosecond) and its waited-for children
    (to the clock tick)."""
    times = os.times()
    return time.process_time() + times.children_user + times.children_system


def live_tick(run_id: int) -> None:
    from dashboard.run_store import open_store

    store = open_store()
    store.list_runs()
    store.metrics_frame([run_id])


def cli_in_process(home: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["runs", "--home", home]) == 0


def cli_process(home: str) -> None:
    subprocess.run([sys.executable, "-m", "cnnlab", "runs", "--home", home], check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(describe())
    with tempfile.TemporaryDirectory() as home:
        os.environ["CNNLAB_HOME"] = home
        newest = build(home, args.runs, args.metrics)
        store = RunStore(home)
        live_tick(newest)  # the first tick opens what later ticks reuse
        for label, what, repeats in (
                ("live tick (open_store, list_runs, metrics)", lambda: live_tick(newest), args.repeats * 4),
                ("list_runs()", store.list_runs, args.repeats),
                ("cnnlab runs, in-process", lambda: cli_in_process(home), args.repeats),
                ("cnnlab runs, a process", lambda: cli_process(home), max(args.repeats // 2, 1))):
            wall, wall_best, cpu, cpu_best = timed(what, repeats)
            print(f"{args.runs} runs  {label:44} wall median {wall * 1000:8.1f} ms best "
                  f"{wall_best * 1000:8.1f} ms  CPU median {cpu * 1000:8.1f} ms "
                  f"best {cpu_best * 1000:8.1f} ms")


if __name__ == "__main__":
    main_()

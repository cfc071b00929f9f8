"""A run's timings: the wait in the queue, the time to its first live point and to done."""

import dataclasses
import re
import subprocess
import sys

from cnnlab.cli import main
from cnnlab.runs.store import RunStore
from cnnlab.train.timings import Timings, timings
from cnnlab.units import format_seconds

TINY = ("--dataset", "shapes", "--limit-train", "128", "--limit-test", "64", "--epochs", "1",
        "--speed", "fixed", "--device", "cpu")


def test_timings_are_the_differences_of_the_recorded_times(tmp_path):
    store = RunStore(tmp_path)
    run = store.get(store.create_run({}, name="r", model="lenet", dataset="shapes"))
    run = dataclasses.replace(run, created_at=100.0, started_at=102.0, first_point_at=105.5,
                              finished_at=172.0)
    assert timings(run) == Timings(queued=2.0, first_point=3.5, done=70.0)
    assert timings(run).describe() == "waited 2.0 s · first point after 3.5 s · done after 1 min 10 s"
    running = dataclasses.replace(run, finished_at=None)
    assert timings(running).describe() == "waited 2.0 s · first point after 3.5 s"
    imported = dataclasses.replace(run, source={"kind": "tensorboard"})
    assert timings(imported) == Timings(None, None, None) and timings(imported).describe() == ""


def test_format_seconds():
    assert [format_seconds(s) for s in (0.04, 59.94, 60, 83.4, 3600)] == [
        "0.0 s", "59.9 s", "1 min 0 s", "1 min 23 s", "60 min 0 s"]


def test_a_trained_run_records_its_first_point_between_its_start_and_its_end(tmp_path, capsys):
    result = subprocess.run([sys.executable, "-m", "cnnlab", "train", "lenet", *TINY,
                             "--home", str(tmp_path)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    [run] = RunStore(tmp_path).list_runs()
    assert run.created_at <= run.started_at <= run.first_point_at <= run.finished_at
    assert main(["runs", "show", str(run.id), "--home", str(tmp_path)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("  timings"))
    took = timings(run)
    assert line == f"  timings            {took.describe()}"
    assert re.fullmatch(r"  timings +waited \S+ s · first point after \S+ s · done after .+ s", line)

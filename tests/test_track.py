"""cnnlab.track: your own loop's runs in the real run store, logged from real processes."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import cnnlab
from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.runs.store import RunStore

STEPS = 40  # points per run: half before the reader has seen every run live, half after

# A logging process: runs NAME:GROUP:OFFSET ..., each logging STEPS points (value OFFSET + step,
# epoch (step + 1) / 10) interleaved, pausing half-way until the file GO exists.
WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import cnnlab
    home, go, specs = sys.argv[1], Path(sys.argv[2]), [s.split(":") for s in sys.argv[3:]]
    runs = [(cnnlab.track.start(name, config={"lr": float(group)}, group=group, home=home), float(offset))
            for name, group, offset in specs]
    for step in range(%(steps)d):
        if step == %(steps)d // 2:
            while not go.exists():
                time.sleep(0.01)
        for run, offset in runs:
            run.log(step, epoch=(step + 1) / 10, train_loss=offset + step, test_acc=(offset + step) / 1000)
    for run, _ in runs:
        run.finish()
""") % {"steps": STEPS}


def expected_points(offset: float, count: int) -> list[tuple[int, float, str, float]]:
    return [(step, (step + 1) / 10, name, value) for step in range(count)
            for name, value in (("train_loss", offset + step), ("test_acc", (offset + step) / 1000))]


def points(store: RunStore, run_id: int) -> list[tuple[int, float, str, float]]:
    return [(m["step"], m["epoch"], m["name"], m["value"]) for m in store.metrics(run_id)]


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow  # a cnnlab process of its own
def test_two_processes_log_three_runs_in_two_groups_while_a_reader_polls_and_no_point_is_lost(tmp_path):
    home, go = tmp_path / "home", tmp_path / "go"
    specs = {"a-0.1": ("0.1", 0.0), "a-0.01": ("0.01", 100.0), "b-0.1": ("0.1", 200.0)}
    env = {**os.environ, "PYTHONPATH": str(Path(cnnlab.__file__).parents[1])}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(go),
                                 *(f"{n}:{specs[n][0]}:{specs[n][1]}" for n in names)], env=env)
               for names in (("a-0.1", "a-0.01"), ("b-0.1",))]
    try:
        reader = RunStore(home)
        seen_live = False
        while True:
            runs = {run.name: run for run in reader.list_runs()}
            for name, run in runs.items():
                got = points(reader, run.id)
                # Whatever the reader catches, a run's points are the first k of what was logged, in order.
                assert got == expected_points(specs[name][1], len(got) // 2)
            halfway = len(runs) == 3 and all(
                len(points(reader, run.id)) == STEPS and run.status == "running" for run in runs.values())
            if halfway and not seen_live:
                seen_live = True
                go.touch()
            if len(runs) == 3 and all(run.status == "done" for run in runs.values()):
                break
            assert all(w.poll() in (None, 0) for w in writers)
            time.sleep(0.02)
        assert seen_live and [w.wait(60) for w in writers] == [0, 0]
    finally:
        for w in writers:
            w.kill()
    for name, (_, offset) in specs.items():
        assert points(reader, runs[name].id) == expected_points(offset, STEPS)
        assert runs[name].source == {"kind": "track", "group": specs[name][0]}
        assert runs[name].final_train_loss == offset + STEPS - 1
        assert runs[name].final_test_acc == (offset + STEPS - 1) / 1000
        assert runs[name].epochs_done == STEPS / 10
    first_of_0_1 = min(runs["a-0.1"].id, runs["b-0.1"].id)
    assert [runs[n].group_id for n in ("a-0.1", "b-0.1", "a-0.01")] == [first_of_0_1, first_of_0_1,
                                                                       runs["a-0.01"].id]


KILLED = textwrap.dedent("""
    import sys
    import cnnlab
    run = cnnlab.track.start("doomed", config={"lr": 0.5}, home=sys.argv[1])
    for step in range(7):
        run.log(step, epoch=step / 2, train_loss=10.0 - step)
    print(run.id, flush=True)
    sys.stdin.read()  # until killed
""")


@pytest.mark.slow  # a cnnlab process of its own
def test_a_killed_logging_process_leaves_its_run_interrupted_with_every_point_it_logged(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(cnnlab.__file__).parents[1])}
    child = subprocess.Popen([sys.executable, "-c", KILLED, str(tmp_path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env)
    run_id = int(child.stdout.readline())
    store = RunStore(tmp_path)
    assert store.reconcile() == [] and store.get(run_id).status == "running"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    assert store.reconcile() == [run_id]
    run = store.get(run_id)
    assert run.status == "interrupted"
    assert run.error == f"the training process (pid {child.pid}) stopped without finishing"
    assert points(store, run_id) == [(s, s / 2, "train_loss", 10.0 - s) for s in range(7)]


def test_the_context_manager_ends_a_run_done_or_failed_with_the_exception_message(tmp_path):
    with cnnlab.track.start("fine", config={"lr": 0.1}, home=tmp_path) as run:
        run.log(0, train_loss=2.0)
        run.log(5, train_loss=1.5, train_acc=0.25)
    broken = cnnlab.track.start("broken", home=tmp_path)
    with pytest.raises(RuntimeError, match="loss exploded"), broken:
        broken.log(0, train_loss=3.0)
        raise RuntimeError("loss exploded")
    store = RunStore(tmp_path)
    done, failed = store.get(run.id), store.get(broken.id)
    assert (done.status, done.error, done.final_train_loss, done.final_train_acc) == ("done", None, 1.5, 0.25)
    # Without epoch=, the step is the x value.
    assert points(store, run.id) == [(0, 0.0, "train_loss", 2.0), (5, 5.0, "train_loss", 1.5),
                                     (5, 5.0, "train_acc", 0.25)]
    assert done.epochs_done == 0.0 and done.group_id is None and done.pid == os.getpid()
    assert (failed.status, failed.error) == ("failed", "RuntimeError: loss exploded")
    assert points(store, broken.id) == [(0, 0.0, "train_loss", 3.0)]


def test_a_tensor_metric_is_its_number_and_finish_is_once(tmp_path):
    torch = pytest.importorskip("torch")
    run = cnnlab.track.start("tensors", home=tmp_path)
    run.log(1, epoch=torch.tensor(0.5), train_loss=torch.tensor(0.75))
    run.finish("cancelled", error="enough")
    run.finish()  # already ended: left as it is
    store = RunStore(tmp_path)
    assert (store.get(run.id).status, store.get(run.id).error) == ("cancelled", "enough")
    assert points(store, run.id) == [(1, 0.5, "train_loss", 0.75)]
    with pytest.raises(ConfigError, match=f"run {run.id} has ended: start a new run to log more"):
        run.log(2, train_loss=0.5)


def test_a_cancelled_run_ends_at_its_next_log_which_stops_the_loop(tmp_path):
    run = cnnlab.track.start("long", home=tmp_path)
    run.log(0, train_loss=1.0)
    assert main(["runs", "cancel", str(run.id), "--home", str(tmp_path)]) == 0
    with pytest.raises(ConfigError, match=f"^run {run.id}: cancelled on request"), run:
        run.log(1, train_loss=0.5)
    store = RunStore(tmp_path)
    assert store.get(run.id).status == "cancelled"
    assert store.get(run.id).error == ("cancelled on request (cnnlab runs cancel); the points logged before "
                                       "are kept")
    assert points(store, run.id) == [(0, 0.0, "train_loss", 1.0)]


@pytest.mark.parametrize(("call", "message"), [
    (lambda run: run.log(1, train_loss="low"), "metric train_loss must be a number, got 'low'"),
    (lambda run: run.log(1, train_loss=[1.0, 2.0]), r"metric train_loss must be a number, got \[1.0, 2.0\]"),
    (lambda run: run.log(1, ok=1.0, flag=True), "metric flag must be a number, got True"),
    (lambda run: run.log(-1, train_loss=1.0), "step must be a whole number of at least 0, got -1"),
    (lambda run: run.log(1.5, train_loss=1.0), "step must be a whole number of at least 0, got 1.5"),
    (lambda run: run.log(1, epoch=float("inf"), train_loss=1.0), "epoch must be a finite number, got inf"),
    (lambda run: run.log(1), r"log\(step, name=value, ...\) needs at least one metric"),
    (lambda run: run.finish("interrupted"), "finish status must be one of cancelled, diverged, done, failed"),
])
def test_bad_calls_are_one_clear_error_and_log_nothing(tmp_path, call, message):
    run = cnnlab.track.start("careful", home=tmp_path)
    run.log(0, train_loss=1.0)
    with pytest.raises(ConfigError, match=f"^run {run.id}: {message}"):
        call(run)
    store = RunStore(tmp_path)
    assert points(store, run.id) == [(0, 0.0, "train_loss", 1.0)] and store.get(run.id).status == "running"
    run.finish()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": ""}, "a tracked run needs a name"),
    ({"name": "x", "config": [1, 2]}, "config must be a dict, got list"),
    ({"name": "x", "config": {"device": object()}}, "config must hold only JSON values"),
    ({"name": "x", "config": {"lr": float("nan")}}, "config must hold only JSON values"),
    ({"name": "x", "group": ""}, "group must be a non-empty text"),
])
def test_a_bad_start_records_nothing(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        cnnlab.track.start(**kwargs, home=tmp_path)
    assert RunStore(tmp_path).list_runs() == []

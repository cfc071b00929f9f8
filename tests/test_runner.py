"""Background runs as real detached processes writing to a real SQLite run store (CPU, built-in dataset)."""

import json
import math
import os
import platform
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

import pytest
import torch
import torchvision

from cnnlab.cli import main
from cnnlab.data import DeviceLoader, load_split
from cnnlab.errors import ConfigError
from cnnlab.runs import service
from cnnlab.runs.executors.local import cpu_threads
from cnnlab.runs.processes import process_alive
from cnnlab.runs.queue import TERMINATED
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train import speed
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.provenance import cpu_name
from cnnlab.train.status import TERMINAL

SMALL = {"limit_train": 320, "limit_test": 128, "batch_size": 64, "device": "cpu"}
TINY = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1, limit_train=64, limit_test=32,
                 batch_size=32, device="cpu", speed="fixed")


pytestmark = pytest.mark.usefixtures("no_stray_workers")


def config(**changes) -> RunConfig:
    return RunConfig(model=fit_input(model_config("lenet"), "shapes"), **{**SMALL, "epochs": 2, **changes})


def wait_for(predicate, timeout: float = 300.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def wait_until_ended(store: RunStore, run_id: int, timeout: float = 300.0):
    return wait_for(lambda: (run := store.get(run_id)).status in TERMINAL and run, timeout,
                    f"run {run_id} to end (log: {store.run_dir(run_id)})")


def worker_pids(home: Path) -> set[int]:
    """The live processes that are a detached worker (`python -m cnnlab train --run-id N --home HOME`)
    of the store at `home`, read from /proc. A worker's own fork about to run another program (the git
    call of its provenance) has the same command line and the worker as its parent: not a worker."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
            worker = args[1:5] == [b"-m", b"cnnlab", b"train", b"--run-id"]
            if worker and args[6:8] == [b"--home", bytes(home)]:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                found[int(entry.name)] = (parent, args)
        except (OSError, IndexError, ValueError):  # ended meanwhile
            continue
    forks = {pid for pid, (parent, args) in found.items() if parent in found and found[parent][1] == args}
    return {pid for pid in set(found) - forks if process_alive(pid)}


class Peaks(threading.Thread):
    """Until `stop`: every 20 ms, the most worker processes of the store at `home` and the most runs
    recorded as running seen at once."""

    def __init__(self, home: Path) -> None:
        super().__init__(daemon=True)
        self.home, self.workers, self.running, self.stopped = home, 0, 0, threading.Event()

    def run(self) -> None:
        store = RunStore(self.home)
        while not self.stopped.is_set():
            self.workers = max(self.workers, len(worker_pids(self.home)))
            self.running = max(self.running, store.running_count())
            time.sleep(0.02)

    def stop(self) -> "Peaks":
        self.stopped.set()
        self.join()
        return self


def metric_names(store: RunStore, run_id: int) -> list[str]:
    return [row["name"] for row in store.metrics(run_id)]


def last(store: RunStore, run_id: int, name: str) -> float:
    """The last recorded value of metric `name`."""
    return [row["value"] for row in store.metrics(run_id) if row["name"] == name][-1]


def test_launched_run_completes_with_metrics_weights_and_final_fields(tmp_path):
    cfg = config(save_weights=True)
    run_id = service.launch(cfg, name="short", home=tmp_path)
    store = RunStore(tmp_path)
    run = wait_until_ended(store, run_id)
    assert run.status == "done", run.error
    assert run.name == "short" and run.model == "lenet" and run.dataset == "shapes"
    assert run.config == cfg.to_dict() and run.epochs_done == 2 and run.device == "cpu"
    # LeNet on 1×28×28: conv1 28·28·6·25 + conv2 10·10·16·150 + fc 400·120 + 120·84 + 84·10 MACs
    assert run.params == 61706 and run.macs == 117600 + 240000 + 48000 + 10080 + 840
    names = metric_names(store, run_id)
    assert names.count("train_loss") == 10 and names.count("test_acc") == 2
    for column, metric in (("final_train_loss", "train_loss"), ("final_train_acc", "train_acc"),
                           ("examples_per_sec", "examples_per_sec")):
        assert getattr(run, column) == last(store, run_id, metric), column
    model = service.load_weights(run_id, home=tmp_path)  # the trained weights: same test accuracy
    test = DeviceLoader(load_split("shapes", False, limit=cfg.limit_test), 64, "cpu", shuffle=False)
    with torch.no_grad():
        correct = sum(int((model(x).argmax(1) == y).sum()) for x, y in test)
    assert not model.training and correct / test.num_examples == pytest.approx(run.final_test_acc)


def test_cancel_ends_a_running_run_within_seconds(tmp_path):
    run_id = service.launch(config(epochs=1000, speed="fixed"), home=tmp_path)
    store = RunStore(tmp_path)
    wait_for(lambda: "train_loss" in metric_names(store, run_id), what="first metrics")
    assert store.get(run_id).status == "running"
    pid = store.get(run_id).pid
    service.cancel(run_id, home=tmp_path)
    run = wait_until_ended(store, run_id)  # how soon: benchmarks/bench_runner.py
    rows = len(store.metrics(run_id))
    assert run.status == "cancelled" and run.error is None and run.finished_at is not None
    assert run.epochs_done == metric_names(store, run_id).count("test_acc")
    assert run.final_train_loss == last(store, run_id, "train_loss")
    wait_for(lambda: not process_alive(pid), what="the worker to exit")
    assert len(store.metrics(run_id)) == rows  # it stopped training
    with pytest.raises(ConfigError, match="already ended"):
        service.cancel(run_id, home=tmp_path)


def test_killed_worker_is_interrupted_as_soon_as_its_process_is_gone_and_keeps_its_metrics(tmp_path):
    run_id = service.launch(config(epochs=1000, speed="fixed"), home=tmp_path)
    store = RunStore(tmp_path, heartbeat_timeout=3600)  # the heartbeat alone would wait an hour
    wait_for(lambda: metric_names(store, run_id).count("test_acc") >= 1, what="a finished epoch")
    pid = store.get(run_id).pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not process_alive(pid), what="the process to die")
    before = store.metrics(run_id)
    assert store.reconcile() == [run_id]
    run = store.get(run_id)
    assert run.status == "interrupted" and run.error == f"the training process (pid {pid}) stopped " \
        "without finishing"
    assert store.metrics(run_id) == before  # every metric it recorded is kept
    assert run.epochs_done == metric_names(store, run_id).count("test_acc")


def test_sigterm_ends_a_run_cancelled_with_its_metrics_and_results(tmp_path):
    run_id = service.launch(config(epochs=1000, speed="fixed"), home=tmp_path)
    store = RunStore(tmp_path)
    wait_for(lambda: metric_names(store, run_id).count("test_acc") >= 1, what="a finished epoch")
    os.kill(store.get(run_id).pid, signal.SIGTERM)
    run = wait_until_ended(store, run_id)
    assert run.status == "cancelled" and run.error == TERMINATED
    assert run.epochs_done == metric_names(store, run_id).count("test_acc")
    assert (run.final_train_loss, run.final_test_acc) == (last(store, run_id, "train_loss"),
                                                          last(store, run_id, "test_acc"))


def test_two_runs_with_a_limit_of_one_run_one_after_the_other_in_order(tmp_path, monkeypatch):
    monkeypatch.setenv(service.MAX_RUNS_ENV, "1")
    ids = [service.launch(config(epochs=3), home=tmp_path) for _ in range(2)]
    store = RunStore(tmp_path)
    first, second = (wait_until_ended(store, i) for i in ids)
    assert first.status == second.status == "done", (first.error, second.error)
    assert second.started_at >= first.finished_at


def test_store_serves_concurrent_readers_while_a_run_writes(tmp_path):
    run_id = service.launch(config(epochs=3), home=tmp_path)
    errors: list[BaseException] = []
    reads: list[list[int]] = [[] for _ in range(4)]

    def read(counts: list[int]) -> None:
        store, seen = RunStore(tmp_path), 0
        try:
            while store.get(run_id).status not in TERMINAL:
                count = len(store.metrics(run_id))
                assert count >= seen, "metrics never disappear"
                seen = count
                counts.append(count)
                store.list_runs()
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read, args=(counts,)) for counts in reads]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join(timeout=300)
    assert not errors, errors
    # 3 epochs × (5 reports of train loss, accuracy and lr + test accuracy and examples/s at the end), and
    # the time left in every report after the warm-up: 3 × 5 during the epochs and 3 at their ends, less
    # the reports at steps 1 and 2
    total = 3 * (5 * 3 + 2) + (3 * 5 + 3 - 2)
    store = RunStore(tmp_path)
    assert store.get(run_id).status == "done" and len(store.metrics(run_id)) == total
    assert all(counts and max(counts) <= total for counts in reads)  # every reader read while it ran


def test_worker_failure_is_recorded_not_left_running(tmp_path):
    run_id = service.create_run(config(), home=tmp_path)
    store = RunStore(tmp_path)
    bad = {**store.get(run_id).config, "epochs": 0}  # changed behind cnnlab's back: the worker refuses it
    sqlite3.connect(store.path, isolation_level=None).execute("UPDATE runs SET config=? WHERE id=?",
                                                              (json.dumps(bad), run_id))
    worker = subprocess.run([sys.executable, "-m", "cnnlab", "train", "--run-id", str(run_id), "--home",
                             str(tmp_path)], capture_output=True, text=True, timeout=120)
    run = store.get(run_id)
    assert worker.returncode == 0
    assert (run.status, run.error) == ("failed", "epochs must be at least 1, got 0")


@pytest.mark.parametrize("value", ["none", "0", "-1", "1.5", "²"])
def test_a_malformed_run_limit_is_refused_before_anything_is_recorded(tmp_path, monkeypatch, value):
    monkeypatch.setenv(service.MAX_RUNS_ENV, value)
    with pytest.raises(ConfigError, match=f"{service.MAX_RUNS_ENV} must be a whole number of at least 1, "
                                          f"got '{re.escape(value)}'"):
        service.launch(config(), home=tmp_path)
    assert RunStore(tmp_path).list_runs() == []


@pytest.mark.parametrize(("runs", "cpus", "threads"), [(1, 8, None), (2, 8, 4), (3, 8, 2), (3, 2, 1),
                                                        (16, 4, 1)])
def test_concurrent_cpu_runs_share_the_cores(runs, cpus, threads):
    assert cpu_threads(runs, cpus) == threads


def test_a_run_records_its_provenance_and_its_share_of_the_cores(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(service.MAX_RUNS_ENV, "2")
    run_id = service.launch(config(epochs=1), home=tmp_path)
    run = wait_until_ended(RunStore(tmp_path), run_id)
    cpus = len(os.sched_getaffinity(0))
    assert run.status == "done", run.error
    assert run.provenance.pop("speed")["path"] in speed.PATHS  # speed auto: see tests/test_speed.py
    assert run.provenance == {
        "cnnlab": metadata.version("cnnlab"), "git_commit": run.provenance["git_commit"],
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "python": platform.python_version(), "device": "cpu", "device_name": cpu_name(),
        "threads": max(1, cpus // 2), "cpus": cpus}
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert run.provenance["git_commit"].startswith(head)
    assert main(["runs", "show", str(run_id), "--home", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert f"provenance:\n  cnnlab             {run.provenance['cnnlab']}\n" in shown
    assert f"  device_name        {cpu_name()}\n" in shown
    assert main(["runs", "export", str(run_id), "--format", "json", "--home", str(tmp_path)]) == 0
    exported = json.loads(capsys.readouterr().out)["run"]["provenance"]
    assert exported == RunStore(tmp_path).get(run_id).provenance


def test_missing_dataset_is_refused_before_anything_is_recorded(tmp_path):
    cfg = RunConfig(model=fit_input(model_config("lenet"), "mnist"), dataset="mnist",
                    data_dir=str(tmp_path / "no-data"), **SMALL)
    with pytest.raises(ConfigError, match="mnist"):
        service.launch(cfg, home=tmp_path)
    assert RunStore(tmp_path).list_runs() == []


def test_load_weights_needs_saved_weights(tmp_path):
    run_id = service.create_run(config(), home=tmp_path)
    with pytest.raises(ConfigError, match="no saved weights"):
        service.load_weights(run_id, home=tmp_path)


def test_a_run_created_here_waits_here_and_no_dispatcher_starts_it_elsewhere(tmp_path, monkeypatch):
    """create_run records this process as the one that trains the run: a launch's dispatcher leaves it
    to this process (and holds the later launched run back, as it goes first); when it ends, its end
    starts the launched one."""
    monkeypatch.setenv(service.MAX_RUNS_ENV, "1")
    store = RunStore(tmp_path)
    holder = service.create_run(config(), home=tmp_path)
    assert store.claim(holder, os.getpid(), "cpu")  # the slot is taken
    waiting = service.create_run(config(epochs=1000, speed="fixed"), home=tmp_path)
    assert (store.get(waiting).status, store.get(waiting).pid) == ("queued", os.getpid())
    thread = threading.Thread(target=service.execute, args=(waiting,), kwargs={"home": tmp_path})
    thread.start()
    wait_for(lambda: store.get(waiting).heartbeat_at is not None, what="the waiting run to beat")
    store.finish(holder, "done")
    launched = service.launch(TINY, home=tmp_path)  # its dispatch: the free slot is the waiting run's
    assert (store.get(launched).status, store.get(launched).pid) == ("queued", None)
    run = wait_for(lambda: (r := store.get(waiting)).status == "running" and r, what="the claim")
    assert run.pid == os.getpid() and worker_pids(tmp_path) == set()
    assert service.waiting_for(store.get(launched), store.list_runs(), 1) == [waiting]
    service.cancel(waiting, tmp_path)
    thread.join(timeout=60)
    assert not thread.is_alive() and store.get(waiting).status == "cancelled"
    assert wait_until_ended(store, launched).status == "done"


def test_a_queued_run_says_which_runs_it_waits_for_by_the_dispatchers_rule(tmp_path):
    """Waiting for: the older queued runs on its device, with a live process waiting or none (a
    dispatcher starts them), and the runs training there while they fill the device's slots; not a
    queued run whose process is gone, nor a later one. A run training waits for nothing (not itself)."""
    store = RunStore(tmp_path)
    training, older, undispatched, orphan, queued, later = (service.create_run(config(), home=tmp_path)
                                                            for _ in range(6))
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # stands for workers
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert store.claim(training, worker.pid, "cpu")
    for run_id, pid in ((older, worker.pid), (undispatched, None), (orphan, gone.pid), (later, worker.pid)):
        store.update(run_id, pid=pid)
    runs = store.list_runs()
    waiting = next(run for run in runs if run.id == queued)
    assert service.waiting_for(waiting, runs, limit=1) == [training, older, undispatched]
    assert service.waiting_for(waiting, runs, limit=2) == [older, undispatched]  # a free slot: the queue
    assert service.waiting_for(next(run for run in runs if run.id == older), runs, limit=2) == []
    started = next(run for run in runs if run.id == training)
    assert service.waiting_for(started, runs, limit=1) == []  # started
    worker.kill()
    worker.wait()


def stop_and_age_heartbeat(store: RunStore, run_id: int, pid: int, seconds: float) -> float:
    """Stop `pid` with SIGSTOP and set run `run_id`'s last heartbeat `seconds` into the past: as if it
    had been stopped that long (it cannot beat meanwhile), without waiting for it; return the heartbeat
    time set. It is stopped at a moment it holds no write lock (else resumed and stopped again), or the
    test could not write."""
    db = sqlite3.connect(store.path, isolation_level=None, timeout=0.2)
    for _ in range(200):
        os.kill(pid, signal.SIGSTOP)
        beat = time.time() - seconds
        try:
            db.execute("UPDATE runs SET heartbeat_at = ? WHERE id=?", (beat, run_id))
            return beat
        except sqlite3.OperationalError:  # it was stopped inside a write
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.05)
    raise AssertionError(f"pid {pid} held the write lock every time it was stopped")


def heartbeat_ages(beat: float, before: float, after: float) -> range:
    """The whole seconds a message may give as the age of a heartbeat at `beat` when the store looked at
    it between the clock readings `before` and `after`."""
    return range(math.floor(before - beat), math.ceil(after - beat) + 1)


def test_a_stopped_worker_is_killed_and_interrupted_and_the_queue_moves_on(tmp_path, monkeypatch):
    monkeypatch.setenv(service.MAX_RUNS_ENV, "1")
    store = RunStore(tmp_path)
    first = service.launch(config(epochs=1000, speed="fixed"), home=tmp_path)
    wait_for(lambda: "train_loss" in metric_names(store, first), what="the first run's metrics")
    second = service.launch(config(epochs=1), home=tmp_path)
    assert (store.get(second).status, store.get(second).pid) == ("queued", None)  # a row, no process
    pid = store.get(first).pid
    beat = stop_and_age_heartbeat(store, first, pid, 120)
    rows = store.metrics(first)
    before = time.time()
    assert main(["runs", "--home", str(tmp_path)]) == 0  # the next look (a page's is the same)
    ages = heartbeat_ages(beat, before, time.time())
    run = store.get(first)
    assert run.status == "interrupted"
    assert run.error in {f"the training process (pid {pid}) stopped answering (last heartbeat {age}s ago) "
                         "and was killed" for age in ages}
    wait_for(lambda: not process_alive(pid), what="the stopped worker to be killed")
    assert store.metrics(first) == rows  # kept, and nothing written after
    assert store.get(second).status in ("running", "done")  # that look started it
    assert wait_until_ended(store, second).status == "done"


def test_cancelling_a_stopped_worker_kills_it_and_cancels_at_once(tmp_path):
    store = RunStore(tmp_path)
    run_id = service.launch(config(epochs=1000, speed="fixed"), home=tmp_path)
    wait_for(lambda: "train_loss" in metric_names(store, run_id), what="metrics")
    pid = store.get(run_id).pid
    beat = stop_and_age_heartbeat(store, run_id, pid, 120)
    before = time.time()
    service.cancel(run_id, home=tmp_path)
    ages = heartbeat_ages(beat, before, time.time())
    run = store.get(run_id)
    assert run.status == "cancelled"
    assert run.error in {f"cancelled; its process (pid {pid}) had stopped answering (last heartbeat {age}s "
                         "ago) and was killed" for age in ages}
    wait_for(lambda: not process_alive(pid), what="the stopped worker to be killed")


def test_queued_runs_are_rows_only_and_one_process_trains_them_in_round_robin(tmp_path, monkeypatch):
    """Six launches, one slot: one worker process at any moment, the five waiting runs only rows (no
    process), trained one after another by the same process (each run's end hands it the next run:
    it replaces itself with a fresh worker), in round robin by owner."""
    monkeypatch.setenv(service.MAX_RUNS_ENV, "1")
    store = RunStore(tmp_path)
    owners = ["alice", "alice", "alice", "bob", "bob", "carol"]
    peaks = Peaks(tmp_path)
    peaks.start()
    ids = [service.launch(config(epochs=3) if i == 0 else TINY, name=f"{owner} {i}", home=tmp_path,
                         owner=owner) for i, owner in enumerate(owners)]
    queued = store.list_runs({"queued"})
    assert sorted(r.id for r in queued) == ids[1:] and [r.pid for r in queued] == [None] * 5
    assert worker_pids(tmp_path) == {store.get(ids[0]).pid}
    runs = [wait_until_ended(store, i) for i in ids]
    peaks.stop()
    assert [r.status for r in runs] == ["done"] * 6, [r.error for r in runs]
    assert (peaks.workers, peaks.running) == (1, 1)
    assert {r.pid for r in runs} == {runs[0].pid}  # one process, handed each next run
    assert runs[0].finished_at > max(r.created_at for r in runs)  # all were queued when the first ended
    # alice's first run had the free device and is her turn while the others wait: then bob, carol,
    # alice, bob, alice
    order = [r.id for r in sorted(runs, key=lambda r: r.started_at)]
    assert order == [ids[0], ids[3], ids[5], ids[1], ids[4], ids[2]]
    ordered = sorted(runs, key=lambda r: r.started_at)
    assert all(b.started_at >= a.finished_at for a, b in zip(ordered, ordered[1:], strict=False))


def test_ten_users_launching_at_once_are_all_trained_one_at_a_time(tmp_path, monkeypatch):
    """Ten threads launch at once, each as another user. Every run ends done, never two train at once,
    and at most 2 worker processes exist at once: the one training and, should a run end as the last
    launches come in, its worker exiting (it found nothing queued) while a launch starts the next."""
    monkeypatch.setenv(service.MAX_RUNS_ENV, "1")
    store = RunStore(tmp_path)
    peaks = Peaks(tmp_path)
    peaks.start()
    ids: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(10)

    def launch(user: str) -> None:
        barrier.wait()
        try:
            ids.append(service.launch(TINY, home=tmp_path, owner=user))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=launch, args=(f"student{i}",)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and len(ids) == 10, errors
    runs = sorted((wait_until_ended(store, i) for i in ids), key=lambda r: r.started_at)
    peaks.stop()
    assert [r.status for r in runs] == ["done"] * 10, [r.error for r in runs]
    assert sorted(r.owner for r in runs) == sorted(f"student{i}" for i in range(10))
    assert peaks.running == 1 and 1 <= peaks.workers <= 2
    assert all(b.started_at >= a.finished_at for a, b in zip(runs, runs[1:], strict=False))


def test_a_queued_run_is_cancelled_at_once_and_no_process_ever_starts_for_it(tmp_path, monkeypatch):
    monkeypatch.setenv(service.MAX_RUNS_ENV, "1")
    store = RunStore(tmp_path)
    holder = service.launch(config(epochs=1000, speed="fixed"), home=tmp_path)
    queued = service.launch(TINY, home=tmp_path)
    service.cancel(queued, home=tmp_path)
    run = store.get(queued)
    assert (run.status, run.error, run.pid, run.started_at) == ("cancelled", "cancelled before it started",
                                                                None, None)
    holder_pid = store.get(holder).pid
    assert worker_pids(tmp_path) == {holder_pid}
    service.cancel(holder, home=tmp_path)
    assert wait_until_ended(store, holder).status == "cancelled"
    wait_for(lambda: not process_alive(holder_pid), what="the holder's worker to exit")
    run = store.get(queued)
    assert (run.status, run.pid, run.started_at) == ("cancelled", None, None)
    assert worker_pids(tmp_path) == set() and not (store.run_dir(queued) / service.LOG_FILE).exists()


def test_a_run_left_queued_by_a_killed_worker_is_started_by_the_next_launch(tmp_path, monkeypatch):
    """The worker whose end would have started the queued run is killed: the next launch's dispatch
    ends it (interrupted) and starts the older queued run first; that run's end starts the new one."""
    monkeypatch.setenv(service.MAX_RUNS_ENV, "1")
    store = RunStore(tmp_path)
    holder = service.launch(config(epochs=1000, speed="fixed"), home=tmp_path)
    left = service.launch(TINY, home=tmp_path)
    wait_for(lambda: "train_loss" in metric_names(store, holder), what="the holder's metrics")
    pid = store.get(holder).pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not process_alive(pid), what="the holder's worker to die")
    assert store.get(left).status == "queued"  # nobody is left to start it
    later = service.launch(TINY, home=tmp_path)
    assert store.get(holder).status == "interrupted"
    assert store.get(left).status == "running" and store.get(later).status == "queued"
    first, second = wait_until_ended(store, left), wait_until_ended(store, later)
    assert first.status == second.status == "done" and second.started_at >= first.finished_at


def test_a_run_whose_launcher_died_before_dispatching_is_started_by_the_next_look(tmp_path, monkeypatch,
                                                                                   capsys):
    """A launch killed between recording its run and dispatching leaves a queued row no process waits
    for; the CLI's next look at the store (as a page's) starts it."""
    monkeypatch.setenv(service.MAX_RUNS_ENV, "1")
    store = RunStore(tmp_path)
    left = store.create_run(TINY.to_dict(), name="left", model="lenet", dataset="shapes")  # as a launch
    assert store.reconcile() == [] and store.get(left).status == "queued"  # not taken for a dead run
    assert main(["runs", "--home", str(tmp_path)]) == 0
    assert store.get(left).status == "running" and store.get(left).pid in worker_pids(tmp_path)
    assert wait_until_ended(store, left).status == "done"


# LeNet's recipe is Adam at 0.003 in batches of 16 (docs/TRAINING.md); the option table's defaults are
# SGD at 0.05, batches of 128, 10 epochs. A name says what differs from the recipe, as the pages do.
RECIPE = {"optimizer": "adam", "lr": 0.003, "batch_size": 16}


@pytest.mark.parametrize("options, expected", [
    ({}, "lenet on mnist · batch_size=128 lr=0.05 optimizer=sgd"),
    ({"optimizer": "adam"}, "lenet on mnist · batch_size=128 lr=0.001"),  # Adam's own rate, not the recipe's
    ({**RECIPE, "epochs": 3}, "lenet on mnist · epochs=3"),
    ({**RECIPE, "epochs": 3, "lr": 0.001}, "lenet on mnist · epochs=3 lr=0.001"),  # Adam's default is named
    ({"optimizer": "adam", "lr": 0.01, "epochs": 3, "batch_size": 64, "seed": 2},
     "lenet on mnist · epochs=3 batch_size=64 lr=0.01 seed=2"),
    ({**RECIPE, "device": "cpu", "limit_train": 500}, "lenet on mnist"),  # not training options
])
def test_a_run_is_named_by_the_training_options_set_away_from_its_recipe(options, expected):
    config = RunConfig.from_dict({"model": model_config("lenet").to_dict(), "dataset": "mnist", **options})
    assert service.run_name(config) == expected
    assert service.run_name(config, "my run") == "my run"

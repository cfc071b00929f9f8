"""Runs recorded in the run store: create, launch detached, execute (queue, claim, train), cancel, weights.

A launched run is a separate process (`python -m cnnlab train --run-id N --home H`) in its own session,
so it outlives the browser tab or the CLI that started it. The store is all that it shares with them.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

import cnnlab
from cnnlab import quotas
from cnnlab.access import USER_ENV, Actor, check_may_act, current_actor, current_user
from cnnlab.analysis import Totals, analyze
from cnnlab.data import dataset_info, load_split
from cnnlab.errors import ConfigError
from cnnlab.train.config import RunConfig
from cnnlab.train.loop import FitResult, Report, fit, resolve_device
from cnnlab.train.provenance import provenance
from cnnlab.train.status import Status
from cnnlab.train.store import Run, RunStore, process_alive
from cnnlab.zoo import build

MAX_RUNS_ENV = "CNNLAB_MAX_RUNS_PER_DEVICE"
HEARTBEAT_SECONDS = 2.0
QUEUE_POLL_SECONDS = 0.5
WEIGHTS_FILE = "weights.pt"
LOG_FILE = "worker.log"
TERMINATED = "stopped by SIGTERM"
LAUNCH_LOCK = "launch.lock"
SPEED_CACHE = "speed-cache.json"  # speed="auto"'s measurements, per machine and model


def create_run(config: RunConfig, *, name: str | None = None, home: str | Path | None = None,
               owner: str | None = None) -> int:
    """Record `config` as a queued run of `owner` (default: `access.current_user()`), with its parameter
    and MAC counts, and return its id.

    A device this machine lacks, a dataset that cannot be loaded or a class quota the run would pass
    (cnnlab.quotas) is a ConfigError, and nothing is recorded.
    """
    totals = check_runnable(config)
    store = RunStore(home)
    owner = owner or current_user()
    with _locked(store.home / LAUNCH_LOCK):  # two launches of one user never both pass a quota
        quotas.check_launch(store, owner, [(config, totals.macs)])
        return store.create_run(config.to_dict(), name=run_name(config, name), model=config.model.name,
                                dataset=config.dataset, params=totals.params, macs=totals.macs, owner=owner)


def check_runnable(config: RunConfig) -> Totals:
    """The model's totals; ConfigError if the model cannot run on its input, `config.device` is missing
    here, its (non built-in) dataset cannot be loaded or CNNLAB_MAX_RUNS_PER_DEVICE is malformed. The
    launch and the Train page's check share it."""
    max_runs_per_device()
    totals = analyze(config.model).totals
    resolve_device(config.device)
    if not dataset_info(config.dataset)["offline"]:
        load_split(config.dataset, False, config.data_dir, limit=1)
    return totals


def run_name(config: RunConfig, name: str | None = None) -> str:
    """`name`, or by default 'MODEL on DATASET'."""
    return name or f"{config.model.name} on {config.dataset}"


def launch(config: RunConfig, *, name: str | None = None, home: str | Path | None = None,
           owner: str | None = None) -> int:
    """Create a queued run of `owner` and start a detached worker process for it; return the run id at
    once.

    The worker's stderr goes to `worker.log` in the run's folder.
    """
    store = RunStore(home)
    run_id = create_run(config, name=name, home=store.home, owner=owner)
    package_root = str(Path(cnnlab.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root,
                                                                     os.environ.get("PYTHONPATH")])),
           USER_ENV: store.get(run_id).owner}  # the worker acts as the run's owner
    log_path = Path(store.run_dir(run_id)) / LOG_FILE
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log_path, "ab") as log:
            worker = subprocess.Popen([sys.executable, "-m", "cnnlab", "train", "--run-id", str(run_id),
                                       "--home", str(store.home)], start_new_session=True,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                      env=env, close_fds=True)
    except OSError as exc:
        store.finish(run_id, Status.FAILED, error=f"the training process could not be started: {exc}")
        raise ConfigError(f"run {run_id}: the training process could not be started: {exc}") from exc
    store.update(run_id, pid=worker.pid)
    # Reap the worker when it ends, so a long-lived launcher (the dashboard) collects no zombies.
    threading.Thread(target=worker.wait, name=f"reap-run-{run_id}", daemon=True).start()
    return run_id


def cancel(run_id: int, home: str | Path | None = None, actor: Actor | None = None) -> None:
    """Stop run `run_id`: a queued run is cancelled at once, a running one by its worker within a second
    or two. An unknown or already ended run, or one `actor` (default: `access.current_actor()`) may not
    cancel, is a ConfigError."""
    RunStore(home).request_cancel(run_id, actor)


def execute(run_id: int, *, home: str | Path | None = None, progress: Report | None = None) -> Run:
    """Wait for a free slot on the run's device, claim the run, train it and record everything.

    Used by the detached worker and by the foreground CLI (which passes `progress`). Whatever happens,
    the run does not stay `running`: an exception ends it `failed` (Ctrl-C: `cancelled`) and is re-raised;
    SIGTERM stops it at the next poll, `cancelled`, with the metrics and results so far. Concurrent CPU
    runs share the cores (`cpu_threads`). The run's provenance is recorded when it is claimed.
    """
    store = RunStore(home)
    with _terminated() as terminated:
        try:
            config = RunConfig.from_dict(store.get(run_id).config)
            device = resolve_device(config.device)
            limit = max_runs_per_device()
            store.update(run_id, pid=os.getpid())  # older than later runs in the queue, and alive
            if not _claim_when_free(store, run_id, str(device), limit, terminated):
                return store.get(run_id)
            threads = cpu_threads(limit) if device.type == "cpu" else None
            if threads is not None:
                torch.set_num_threads(threads)
            origin = provenance(device)
            store.update(run_id, provenance=origin)
            with _heartbeat(store.home, run_id):
                result = fit(config, report=recorder(store, run_id, progress),
                             should_stop=lambda: terminated.is_set() or store.cancel_requested(run_id),
                             speed_cache=store.home / SPEED_CACHE)
            fields = {**_final_fields(result), "provenance": {**origin, "speed": result.speed}}
            if config.save_weights and result.model is not None:
                fields["weights_path"] = str(_save_weights(store, run_id, result.model))
            error = result.error or (TERMINATED if terminated.is_set() else None)
            store.finish(run_id, result.status, error=error, **fields)
        except KeyboardInterrupt:
            store.finish(run_id, Status.CANCELLED, error="interrupted from the keyboard")
            raise
        except BaseException as exc:
            store.finish(run_id, Status.FAILED, error=str(exc) if isinstance(exc, ConfigError)
                         else f"{type(exc).__name__}: {exc}")
            raise
    return store.get(run_id)


def cpu_threads(runs: int, cpus: int | None = None) -> int | None:
    """Torch threads for each of `runs` concurrent CPU runs on `cpus` cores (default: those this process
    may use): an equal share, at least 1; None (torch's own default) when one run has the machine."""
    if runs <= 1:
        return None
    cpus = cpus or len(os.sched_getaffinity(0))
    return max(1, cpus // runs)


@contextmanager
def _terminated() -> Iterator[threading.Event]:
    """An event set by SIGTERM while the block runs (in the main thread only; elsewhere it never is)."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: event.set())
    try:
        yield event
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_worker(run_id: int, home: str | Path) -> int:
    """The detached worker's body: exit status 0 whatever the run's outcome, 1 on an unexpected error.

    An unknown run id, or another user's run (cnnlab.access), is a ConfigError (exit status 2 from the
    CLI)."""
    check_may_act(current_actor(), RunStore(home).get(run_id).owner, "train", f"run {run_id}")
    try:
        execute(run_id, home=home)
    except ConfigError:
        return 0  # recorded as the run's error
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def load_weights(run_id: int, home: str | Path | None = None, device: str = "cpu") -> nn.Module:
    """The trained model of a run saved with `save_weights`, in eval mode (loaded with weights_only=True)."""
    run = RunStore(home).get(run_id)
    if not run.weights_path:
        raise ConfigError(f"run {run_id} has no saved weights (train it with save_weights)")
    model = build(RunConfig.from_dict(run.config).model, device=device)
    model.load_state_dict(torch.load(run.weights_path, map_location=device, weights_only=True))
    return model.eval()


def max_runs_per_device() -> int:
    """CNNLAB_MAX_RUNS_PER_DEVICE (default 1); a malformed value is a ConfigError."""
    value = os.environ.get(MAX_RUNS_ENV, "1").strip()
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{MAX_RUNS_ENV} must be a whole number of at least 1, got {value!r}")
    return int(value)


def _claim_when_free(store: RunStore, run_id: int, device: str, limit: int,
                     terminated: threading.Event) -> bool:
    """Poll until fewer than `limit` run on `device` and no queued run goes first (`_ahead`), then claim;
    False if cancelled (or terminated) meanwhile.

    A lock file makes "check, then claim" atomic among workers, so two runs never take one slot.
    Runs whose process died are ended first (`reconcile`), so they free their slot at once.
    """
    lock_path = store.home / f"claim-{device.replace(':', '-')}.lock"
    while True:
        if store.cancel_requested(run_id) or terminated.is_set():
            store.finish(run_id, Status.CANCELLED, error=TERMINATED if terminated.is_set()
                         else "cancelled before it started")
            return False
        with _locked(lock_path):
            store.reconcile()
            runs = store.list_runs()
            run = next(r for r in runs if r.id == run_id)
            if store.running_count(device) < limit and not _ahead(run, runs, device):
                return store.claim(run_id, os.getpid(), device)
        time.sleep(QUEUE_POLL_SECONDS)


def _ahead(run: Run, runs: list[Run], device: str) -> list[int]:
    """The queued runs (with a live worker) that go before `run` on `device`: round robin by owner.

    A queued run's turn is the number of its owner's runs served on the device while the queue has
    waited (training now, or started since its oldest queued run was created) plus the owner's runs
    queued before it; the lower turn goes first, then the older run. So one user's ten queued runs hold
    another user's one back by at most one run."""
    queued = [r for r in runs if (r.id == run.id or (r.status == Status.QUEUED and process_alive(r.pid)))
              and _device_of(r) == device]
    since = min(r.created_at for r in queued)
    served = Counter(r.owner for r in runs if r.id != run.id and r.device == device and r.started_at
                     is not None and (r.status == Status.RUNNING or r.started_at >= since))
    earlier: Counter[str | None] = Counter()
    turns = {}
    for r in sorted(queued, key=lambda r: r.id):
        turns[r.id] = (served[r.owner] + earlier[r.owner], r.id)
        earlier[r.owner] += 1
    return sorted(i for i, turn in turns.items() if turn < turns[run.id])


def _device_of(run: Run) -> str | None:
    """The device `run` trains on: recorded once it runs, else where its config resolves on this
    machine; None where it resolves nowhere (that run's worker fails on its own)."""
    if run.device:
        return run.device
    try:
        return str(resolve_device(run.config.get("device", "auto")))
    except ConfigError:
        return None


def waiting_for(run: Run, runs: list[Run], limit: int) -> list[int]:
    """The ids of the runs queued `run` waits for, by the rule its worker follows: the queued runs that
    go first on its device (`_ahead`), and the runs training there while they fill its `limit` slots."""
    device = _device_of(run)
    if device is None:
        return []
    running = [r.id for r in runs if r.status == Status.RUNNING and r.device == device]
    return sorted(_ahead(run, runs, device) + (running if len(running) >= limit else []))


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _heartbeat(home: Path, run_id: int) -> Iterator[None]:
    """Beat every HEARTBEAT_SECONDS from a thread with its own store connection."""
    stop = threading.Event()

    def beat() -> None:
        store = RunStore(home)
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                store.heartbeat(run_id)
            except Exception:  # a busy database must not end the beat; the next one retries
                traceback.print_exc()

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def recorder(store: RunStore, run_id: int, progress: Report | None) -> Report:
    """Log every report as metrics; at epoch ends also keep the run's latest results current."""

    def record(step: int, epoch: float, metrics: dict[str, float]) -> None:
        store.log_metrics(run_id, step, epoch, metrics)
        if "test_acc" in metrics:
            latest = {"epochs_done": int(epoch), "final_test_acc": metrics["test_acc"],
                      "examples_per_sec": metrics["examples_per_sec"]}
            if "tflops" in metrics:
                latest["tflops"] = metrics["tflops"]
            store.update(run_id, **latest)
        if progress is not None:
            progress(step, epoch, metrics)

    return record


def _final_fields(result: FitResult) -> dict:
    return {"epochs_done": result.epochs_done, "final_train_loss": result.train_loss,
            "final_train_acc": result.train_acc, "final_test_acc": result.test_acc,
            "examples_per_sec": result.examples_per_sec, "tflops": result.tflops, "device": result.device}


def _save_weights(store: RunStore, run_id: int, model: nn.Module) -> Path:
    path = Path(store.run_dir(run_id)) / WEIGHTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({name: t.detach().cpu() for name, t in model.state_dict().items()}, path)
    return path

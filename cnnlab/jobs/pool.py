"""A bounded pool of worker processes for work too heavy for a server's request thread.

Each job runs in a process of its own, forked from a fork server that has imported cnnlab and torch
once (so a job starts in milliseconds, and all its memory goes back when it ends). Lanes bound how many
run at once: quick work (analyses, memory estimates) never waits behind heavy work (effective fields
over hundreds of images). A job reports its progress; cancelling kills its process at once; a job nobody
has looked at for `abandon_after` seconds is cancelled (its page was closed); a process that dies
mid-job (killed, out of memory) fails its job with one line and frees its slot. Results are cached by
the job's key in a `ByteCache`, measured by their pickled size; a job asked for while it runs is the same
job (one computation however many sessions ask).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from cnnlab.errors import ConfigError
from cnnlab.jobs.cache import ByteCache

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ENDED = (DONE, FAILED, CANCELLED)
POLL_S = 0.05  # how often a job's thread looks at its process and its cancel flag
# multiprocessing runs the parent's __main__ file in each new process unless __main__ is a package's
# module; under Streamlit __main__ is the app's script: a bare __main__ stands in while a worker starts.
_MAIN_SWAP = threading.Lock()
ENV_PREFIX = "CNNLAB_"  # environment a job takes from the moment it is submitted (the store, the data)


@dataclass(eq=False)
class Job:
    """One request: its state, progress (0 to 1), and its result or one-line error once ended."""

    key: Hashable
    label: str
    state: str = QUEUED
    progress: float = 0.0
    result: Any = None
    error: str | None = None
    pid: int | None = None
    looked_at: float = field(default_factory=time.monotonic)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _ended: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the job ended within `timeout` seconds."""
        return self._ended.wait(timeout)

    def touch(self) -> None:
        """Someone is still waiting for the job (else it is cancelled after the pool's `abandon_after`)."""
        self.looked_at = time.monotonic()

    def cancel(self) -> None:
        """Stop the job: its process is killed within `POLL_S`, its slot freed."""
        self._cancel.set()

    def value(self) -> Any:
        """The result; a ConfigError with the job's one-line error if it failed or was cancelled."""
        if self.state == DONE:
            return self.result
        if self.state in (FAILED, CANCELLED):
            raise ConfigError(self.error or f"{self.label}: cancelled")
        raise RuntimeError(f"{self.label} has not ended")

    def _end(self, state: str, result: Any = None, error: str | None = None) -> None:
        self.state, self.result, self.error = state, result, error
        if state == DONE:
            self.progress = 1.0
        self._ended.set()


def _work(conn: Any, fn: Callable[..., Any], args: tuple, env: dict[str, str], threads: int) -> None:
    """The worker process: run `fn(*args, progress=...)` and send back ('progress', f), ('done', result)
    or ('error', line)."""
    import torch

    for name in [n for n in os.environ if n.startswith(ENV_PREFIX)]:
        del os.environ[name]
    os.environ.update(env)
    torch.set_num_threads(threads)

    def progress(fraction: float) -> None:
        conn.send_bytes(pickle.dumps(("progress", float(fraction))))

    try:
        message = ("done", fn(*args, progress=progress))
    except ConfigError as exc:
        message = ("error", str(exc))
    except MemoryError:
        message = ("error", "the computation ran out of memory")
    except Exception as exc:  # noqa: BLE001 (any failure is the job's one line, never the server's)
        message = ("error", f"{type(exc).__name__}: {exc}")
    conn.send_bytes(pickle.dumps(message))
    conn.close()


@dataclass(frozen=True)
class Lane:
    """Jobs of one kind: at most `workers` run at once, each with `threads` torch threads."""

    workers: int
    threads: int = 1


class Pool:
    """Worker processes in lanes, with one result cache of at most `cache_bytes`."""

    def __init__(self, lanes: dict[str, Lane], cache_bytes: int, abandon_after: float = 30.0,
                 preload: tuple[str, ...] = ("cnnlab.jobs.tasks",)) -> None:
        self.lanes = lanes
        self.cache = ByteCache(cache_bytes)
        self.abandon_after = abandon_after
        self._slots = {name: threading.BoundedSemaphore(lane.workers) for name, lane in lanes.items()}
        self._jobs: dict[Hashable, Job] = {}
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(list(preload))
        # start the fork server (it imports torch: seconds) now, not when the first job is asked for
        threading.Thread(target=multiprocessing.forkserver.ensure_running, daemon=True).start()

    def submit(self, lane: str, key: Hashable, label: str, fn: Callable[..., Any], *args: Any) -> Job:
        """The job computing `fn(*args)` (a module-level function taking a `progress` keyword) in `lane`:
        an ended one from the cache, the one already running for `key`, or a new one."""
        env = {n: v for n, v in os.environ.items() if n.startswith(ENV_PREFIX)}
        full_key = (key, tuple(sorted(env.items())))
        with self._lock:
            cached = self.cache.get(full_key, _MISSING)
            if cached is not _MISSING:
                job = Job(full_key, label)
                job._end(DONE, cached)
                return job
            job = self._jobs.get(full_key)
            if job is None:
                job = self._jobs[full_key] = Job(full_key, label)
                threading.Thread(target=self._run, args=(job, lane, fn, args, env), daemon=True,
                                 name=f"cnnlab-job {label}").start()
            job.touch()
            return job

    def running(self) -> list[Job]:
        """The jobs queued or running now."""
        with self._lock:
            return [job for job in self._jobs.values() if job.state not in ENDED]

    def _abandoned(self, job: Job) -> bool:
        return time.monotonic() - job.looked_at > self.abandon_after

    def _run(self, job: Job, lane: str, fn: Callable[..., Any], args: tuple, env: dict[str, str]) -> None:
        slots = self._slots[lane]
        try:
            while not slots.acquire(timeout=POLL_S):
                if job._cancel.is_set() or self._abandoned(job):
                    job._end(CANCELLED, error=f"{job.label}: cancelled")
                    return
            try:
                self._in_process(job, fn, args, env, self.lanes[lane].threads)
            except Exception as exc:  # noqa: BLE001 (the worker could not start: the job's one line)
                job._end(FAILED, error=f"{job.label}: no worker process could start ({type(exc).__name__}: "
                                       f"{str(exc).strip().splitlines()[0][:120]})")
            finally:
                slots.release()
        finally:
            with self._lock:
                if self._jobs.get(job.key) is job:
                    del self._jobs[job.key]

    def _in_process(self, job: Job, fn: Callable[..., Any], args: tuple, env: dict[str, str],
                    threads: int) -> None:
        """Run the job in a process of its own; end it once that process is gone."""
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_work, args=(send, fn, args, env, threads), daemon=True)
        with _MAIN_SWAP:  # a worker does not re-run the server's main script (Streamlit's app page)
            main, sys.modules["__main__"] = sys.modules["__main__"], types.ModuleType("__main__")
            try:
                process.start()
            finally:
                sys.modules["__main__"] = main
        send.close()
        job.pid, job.state = process.pid, RUNNING
        try:
            outcome = self._follow(job, process, receive)
        finally:
            if process.is_alive():
                process.kill()
            process.join()
            receive.close()
        if outcome[0] is None:  # the process ended without an answer
            code = process.exitcode
            how = f"was killed ({signal.Signals(-code).name})" if code is not None and code < 0 else \
                f"exited with status {code}"
            outcome = (FAILED, None, f"{job.label}: the worker process {how} before it finished; try again")
        job._end(*outcome)

    def _follow(self, job: Job, process: Any, receive: Any) -> tuple[str | None, Any, str | None]:
        """Relay the process's progress until it answers, dies (None) or the job is cancelled."""
        while True:
            if job._cancel.is_set() or self._abandoned(job):
                return CANCELLED, None, f"{job.label}: cancelled"
            if receive.poll(POLL_S):
                try:
                    raw = receive.recv_bytes()
                except EOFError:
                    return None, None, None
                kind, payload = pickle.loads(raw)
                if kind == "progress":
                    job.progress = payload
                elif kind == "done":
                    self.cache.put(job.key, payload, len(raw))
                    return DONE, payload, None
                else:
                    return FAILED, None, payload
            elif not process.is_alive() and not receive.poll(0):
                return None, None, None

    def close(self) -> None:
        """Cancel every job (their processes are killed)."""
        for job in self.running():
            job.cancel()


_MISSING = object()

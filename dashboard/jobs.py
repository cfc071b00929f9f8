"""The server's worker pool (`cnnlab.jobs`), shared by every session, and how a page waits for it.

`result` is for quick work (an analysis, a memory estimate): the script thread waits for the worker
without holding the interpreter, so other sessions go on meanwhile. `watched` is for heavy work (an
effective field, top images): the answer if it comes within `INLINE_WAIT_S`, else a progress bar with a
Cancel button that redraws itself until the job ends, then reruns the page; None meanwhile.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable
from typing import Any

import streamlit as st

from cnnlab.classroom import check_request
from cnnlab.jobs import CANCELLED, Job, Lane, Pool
from cnnlab.limits import JOB_CACHE_MIB
from dashboard import identity
from dashboard.text import literal

INLINE_WAIT_S = 1.5  # a heavy job that ends sooner is shown at once, without a progress bar
WATCH_EVERY_S = 0.5  # the progress bar's refresh; a job unwatched for ABANDON_S (its tab closed) is cancelled
ABANDON_S = 15.0
CANCELLED_KEY = "jobs_cancelled"  # session state: the keys of the heavy jobs this session cancelled


def lanes(cores: int | None = None) -> dict[str, Lane]:
    """Quick work: a worker per core; heavy work: half the cores, at least one, a torch thread each."""
    cores = cores or os.cpu_count() or 1
    return {"quick": Lane(cores), "heavy": Lane(max(1, cores // 2))}


@st.cache_resource(show_spinner=False)
def pool() -> Pool:
    """The server's one pool."""
    return Pool(lanes(), JOB_CACHE_MIB * 2**20, abandon_after=ABANDON_S)


def check_allowed(limit: str, asked: int) -> None:
    """A ConfigError naming the class's `limit` (cnnlab.classroom.Limits) if this session's user may not
    ask for `asked` (students and visitors in class mode; teachers and the single user are not capped)."""
    user = identity.actor()
    check_request(limit, asked, teacher=user is not None and user.role == "teacher")


def result(key: Hashable, label: str, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` computed by a quick worker (cached by `key`); its one-line error as a ConfigError."""
    job = pool().submit("quick", key, label, fn, *args)
    _waited(job, float("inf"))
    return job.value()


def watched(key: Hashable, label: str, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` from a heavy worker: its result, or None while it runs (a progress bar and Cancel are
    drawn where the result would be) or once this session cancelled it (with a button to start again).
    A failed job's one-line error is a ConfigError."""
    cancelled = st.session_state.setdefault(CANCELLED_KEY, set())
    if key in cancelled:
        st.info(literal(f"{label}: cancelled."))
        if st.button("Compute it again", key=f"job_again_{hash(key)}"):
            cancelled.discard(key)
            st.rerun()
        return None
    job = pool().submit("heavy", key, label, fn, *args)
    if _waited(job, INLINE_WAIT_S):
        return job.value()
    _progress(job, key)
    return None


def _waited(job: Job, seconds: float) -> bool:
    """Whether `job` ended within `seconds`, kept from being taken for abandoned meanwhile."""
    deadline = time.monotonic() + seconds
    while not job.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
        if time.monotonic() >= deadline:
            return False
        job.touch()
    return True


@st.fragment(run_every=WATCH_EVERY_S)
def _progress(job: Job, key: Hashable) -> None:
    """The running job's progress bar and Cancel; the page reruns once the job has ended."""
    job.touch()
    if job.wait(0):
        if job.state == CANCELLED:
            st.session_state[CANCELLED_KEY].add(key)
        st.rerun(scope="app")
    left, right = st.columns([5, 1], vertical_alignment="center")
    left.progress(job.progress, text=literal(f"{job.label}… {job.progress:.0%}"))
    if right.button("Cancel", key=f"job_cancel_{hash(key)}"):
        job.cancel()
        job.wait(2)
        st.session_state[CANCELLED_KEY].add(key)
        st.rerun(scope="app")


"""The run store as the pages open it: only read, problems shown in the page.

Every page and panel opens the store here, and nowhere else (tests/dashboard/test_store_opening.py). A
page render or a live tick only reads: one connection per store folder and kind is kept for the server
process, so the runs it decoded are not decoded again each second (`RunStore.list_runs`). Ending the
runs whose process is gone and starting the queued runs whose turn has come (reconcile, dispatch) happen
at a launch, at a run's end, and in one reaper thread per server process and store folder
(`start_reaper`), never per render.
"""

from __future__ import annotations

import sys
import threading
import traceback
import warnings
from pathlib import Path

import streamlit as st

from cnnlab import ConfigError
from cnnlab.errors import StoreWarning
from cnnlab.runs.store import DB_FILE, RunStore, resolve_home
from dashboard.text import literal

REAP_SECONDS = 2.0  # how often the reaper looks: the heartbeat's period (cnnlab.runs.executors.local)

_opened: dict[tuple[Path, str], RunStore] = {}
_reapers: dict[Path, threading.Thread] = {}
_guard = threading.Lock()


def open_store() -> RunStore | None:
    """The run store (runs and sweeps), or None after an `st.error` saying why it cannot be used. A
    StoreWarning (an emptied store file) is shown with `st.warning`. Nothing is written: the store's
    reaper (`start_reaper`) ends and starts runs."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StoreWarning)
        try:
            home = resolve_home()
            store = _kept(home)
            store.check_readable()
            start_reaper(home)
        except ConfigError as exc:
            st.error(literal(f"The run store cannot be read: {exc}"))
            return None
    for warning in caught:
        if issubclass(warning.category, StoreWarning):
            st.warning(literal(warning.message))
    return store


def _kept(home: Path, user: str = "pages") -> RunStore:
    """This process's connection to the store in `home` for `user` (the pages share one, the reaper has
    its own, so a page never reads inside the reaper's transaction), opened on first use (again if its
    file was replaced)."""
    with _guard:
        store = _opened.get((home, user))
        if store is None or not store.same_file():
            store = _opened[(home, user)] = RunStore(home)
        return store


def start_reaper(home: Path) -> None:
    """Start the one reaper thread of this process for the store in `home`, if it is not running."""
    with _guard:
        if home in _reapers and _reapers[home].is_alive():
            return
        _reapers[home] = threading.Thread(target=_reap, args=(home,), name=f"reaper-{home}", daemon=True)
        _reapers[home].start()


def _reap(home: Path) -> None:
    """Every REAP_SECONDS: end the runs and sweeps whose process is gone (`reconcile`) and start the
    queued runs whose turn has come (`dispatch_all`), until the store's file is gone (a removed folder
    is not made again). An error is printed to the server's log and the next look tries again."""
    from cnnlab.runs.queue import dispatch_all

    said = None
    while (home / DB_FILE).is_file():
        try:
            store = _kept(home, "reaper")
            store.reconcile()
            dispatch_all(store)
        except ConfigError as exc:  # a damaged store, a malformed run limit: the pages say so
            if str(exc) != said:
                print(f"cnnlab: the reaper of {home}: {exc}", file=sys.stderr)
            said = str(exc)
        except Exception:  # a busy store: the next look tries again
            traceback.print_exc()
        threading.Event().wait(REAP_SECONDS)

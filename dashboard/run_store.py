"""The run store as the pages open it: runs whose process is gone ended first, problems shown in the page.

Every page and panel opens the store here, and nowhere else (tests/dashboard/test_store_opening.py)."""

from __future__ import annotations

import warnings
from typing import TypeVar

import streamlit as st

from cnnlab import ConfigError
from cnnlab.errors import StoreWarning
from cnnlab.train import runner
from cnnlab.train.store import RunStore
from dashboard.text import literal

Store = TypeVar("Store", bound=RunStore)


def open_store(kind: type[Store] = RunStore) -> Store | None:
    """The run store (reconciled, and the queued runs whose turn has come started: `dispatch_all`) as a
    `kind` (RunStore, or SweepStore for sweeps and groups), or None after an `st.error` saying why it
    cannot be used. A StoreWarning (an emptied store file) is shown with `st.warning`, a malformed run
    limit with `st.error` (the store stays usable)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StoreWarning)
        try:
            store = kind()
            store.reconcile()
        except ConfigError as exc:
            st.error(literal(f"The run store cannot be read: {exc}"))
            return None
    for warning in caught:
        if issubclass(warning.category, StoreWarning):
            st.warning(literal(warning.message))
    try:
        runner.dispatch_all(store)
    except ConfigError as exc:
        st.error(literal(f"Queued runs cannot be started: {exc}"))
    return store

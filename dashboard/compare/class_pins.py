"""Runs a teacher pins for the class (RunStore.pin_for_class): listed first and marked for every user on
Compare; a teacher pins and unpins them here. Not the Build page's "pin A, compare B" (pin_compare.py)."""

from __future__ import annotations

import streamlit as st

from cnnlab import ConfigError
from cnnlab.access import Actor
from cnnlab.runs.store import Run, RunStore
from dashboard.text import literal

MARK = "📌"


def pinned_first(runs: list[Run]) -> list[Run]:
    """`runs` with those pinned for the class first, each part in its own order."""
    return sorted(runs, key=lambda run: not run.class_pinned)


def panel(store: RunStore, runs: list[Run], user: Actor | None) -> None:
    """A teacher's pin / unpin of one run for the class; nothing for a student or a visitor."""
    if user is None or not user.teacher or not runs:
        return
    labels = {run.id: f"{MARK if run.class_pinned else ''} #{run.id} {run.name} ({run.owner})".strip()
              for run in runs}
    left, _ = st.columns(2)
    with left:
        chosen = st.selectbox("Pin for the class", list(labels), format_func=labels.get, key="class_pin_run")
        pinned = next(run.class_pinned for run in runs if run.id == chosen)
        if st.button("Unpin for the class" if pinned else "Pin for the class", key="class_pin_button"):
            try:
                store.pin_for_class(chosen, not pinned, user)
            except ConfigError as exc:
                st.error(literal(exc))
            else:
                st.rerun()

"""A model of the user's own, uploaded as a `.pt2` file (saved with `torch.export.save`): checked by
loading it from memory (nothing from the file runs, `cnnlab.exported`); only once accepted is it written,
under the run store's folder in its owner's own folder by its content hash (visitors share one), where each
owner keeps their newest UPLOADS_KEPT; and it is remembered for the session so the See page can look
inside it. A refused file is never written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError
from cnnlab.analysis import Summary, analyze
from cnnlab.exported import MAX_BYTES, SUFFIX
from cnnlab.inspect import Subject, from_file
from cnnlab.limits import MAX_MODEL_FILE_MIB, UPLOADS_KEPT
from cnnlab.runs.store import resolve_home
from dashboard import identity
from dashboard.text import literal

KEY = "uploaded_model"  # session state: {"path": ..., "name": ...} of the model last uploaded
VISITORS = "_visitors"  # the folder of uploads by visitors (a user name cannot start with "_")


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def subject_of(path: str, name: str) -> Subject:
    """The uploaded model with its weights (cached per file: its content never changes)."""
    return from_file(path, name=name)


@st.cache_data(max_entries=8, show_spinner=False)
def summary_of(path: str, name: str) -> Summary:
    subject = subject_of(path, name)
    return analyze(subject.model, subject.input)


def current() -> dict | None:
    """The session's uploaded model ({"path", "name"}), if its file is still there."""
    model = st.session_state.get(KEY)
    return model if model and Path(model["path"]).is_file() else None


def uploader(side: DeltaGenerator) -> None:
    """The Build page's upload of a `.pt2` model; a bad file is one error and changes nothing."""
    upload = side.file_uploader(
        "Load your own model (.pt2)", type=[SUFFIX.lstrip(".")], key="upload_model",
        help=f"A model saved with torch.export.save ({MAX_MODEL_FILE_MIB} MiB at most). Nothing from the "
             "file is run: its graph is read as data and rebuilt from PyTorch's own layers.")
    if upload is None or st.session_state.get("loaded_model_upload") == upload.file_id:
        return
    st.session_state["loaded_model_upload"] = upload.file_id
    try:
        if upload.size > MAX_BYTES:
            raise ConfigError(f"{upload.name} is {upload.size / 2**20:.1f} MiB; a model file is at most "
                              f"{MAX_MODEL_FILE_MIB} MiB")
        data = upload.getvalue()
        subject = from_file(data, name=upload.name)
        analyze(subject.model, subject.input)
    except ConfigError as exc:
        side.error(literal(f"Could not load {upload.name}: {exc}"))
        return
    user = identity.actor()
    path = keep(data, VISITORS if user is None else user.name)
    st.session_state[KEY] = {"path": str(path), "name": upload.name}


def keep(data: bytes, owner: str) -> Path:
    """Write an accepted upload to `owner`'s folder by its content hash (atomically) and remove their
    oldest beyond UPLOADS_KEPT; the path."""
    folder = resolve_home() / "models" / owner
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()}{SUFFIX}"
    if not path.exists():
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
    path.touch()  # the newest upload, even when the same file came before
    kept = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in kept[UPLOADS_KEPT:]:
        old.unlink(missing_ok=True)
    return path


def panel() -> None:
    """The uploaded model's headline and layer table, above the Build page's own model."""
    model = current()
    if model is None:
        return
    try:
        summary = summary_of(model["path"], model["name"])
    except ConfigError as exc:
        st.error(literal(f"{model['name']}: {exc}"))
        return
    t, final = summary.totals, summary.final_field
    with st.expander(literal(f"Your model: {model['name']}"), expanded=True):
        st.caption(literal(f"{summary.model} on a {'×'.join(map(str, summary.input))} input; "
                           f"{t.params:,} parameters, {t.macs:,} MACs per image, receptive field "
                           f"{'-' if final is None else final.rf[0]} px. Look inside it on the See page."))
        st.dataframe(summary.to_frame(), hide_index=True)

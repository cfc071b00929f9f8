"""A model of the user's own, uploaded as a `.pt2` file (saved with `torch.export.save`): checked by
loading it in a worker process, from a file of its own removed right after (nothing from the file runs,
`cnnlab.exported`). Only once accepted is it kept, under the run store's folder in its owner's folder by
its content hash (visitors share one), each owner keeping their newest UPLOADS_KEPT; the session
remembers it so the See page can look inside it. A refused file leaves nothing behind."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cnnlab import ConfigError
from cnnlab.analysis import Summary
from cnnlab.exported import MAX_BYTES, SUFFIX
from cnnlab.inspect import Subject, from_file
from cnnlab.jobs import tasks
from cnnlab.limits import MAX_MODEL_FILE_MIB, MODEL_CACHE_MIB, UPLOADS_KEPT
from cnnlab.runs.store import resolve_home
from dashboard import caches, identity, jobs, summary_view
from dashboard.text import literal

KEY = "uploaded_model"  # session state: {"path": ..., "name": ...} of the model last uploaded
VISITORS = "_visitors"  # the folder of uploads by visitors (a user name cannot start with "_")
INCOMING = "_incoming"  # uploads being checked (by a worker process, which reads them from a file)


@caches.bounded(MODEL_CACHE_MIB)
def subject_of(path: str, name: str) -> Subject:
    """The uploaded model with its weights (cached per file: its content never changes)."""
    return from_file(path, name=name)


def summary_of(path: str, name: str) -> Summary:
    """The analysis of the model file at `path` (named by its content hash), by a worker process."""
    return analysed(path, Path(path).stem, name)


def analysed(path: str, digest: str, name: str) -> Summary:
    """Load (and so check) and analyse a model file in a worker process, cached by its content."""
    return jobs.result(("model file", digest, name), f"Loading {name}", tasks.file_analysis, path, name)[0]


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
        incoming = resolve_home() / "models" / INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=incoming, suffix=SUFFIX, delete=False) as file:
            file.write(data)
        try:
            analysed(file.name, hashlib.sha256(data).hexdigest(), upload.name)
        finally:
            Path(file.name).unlink(missing_ok=True)
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
    with st.expander(literal(f"Your model: {model['name']}"), expanded=True):
        st.caption(literal(f"{summary.model} on a {'×'.join(map(str, summary.input))} input, with the "
                           "weights saved in it; look inside it on the See page."))
        summary_view.headline(summary, "upload_headline")
        summary_view.layer_table(summary, "upload_table")

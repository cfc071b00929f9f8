"""A TensorBoard log folder's scalars, read with TensorBoard's own reader (the `tensorboard` package).

Each event file is checked whole before it is read: TensorBoard's loader stops quietly at a truncated
or corrupt record (a file may still be being written), so a file whose records do not add up to its
size is reported as damaged and left out, never half read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.errors import ConfigError

RECORD_FRAMING = 16  # a TFRecord: 8-byte length, 4-byte length CRC, the data, 4-byte data CRC
HASH_CHUNK = 1 << 20  # event files may hold images: hashed a MiB at a time
INSTALL_HINT = "reading TensorBoard logs needs the tensorboard package: pip install tensorboard"


@dataclass
class FolderLog:
    """One run folder: its scalars as (step, tag, value) in file order, a key of its readable files'
    contents, and the event files left out with why."""

    folder: Path
    scalars: list[tuple[int, str, float]] = field(default_factory=list)
    key: str = ""
    files: list[str] = field(default_factory=list)
    damaged: list[tuple[Path, str]] = field(default_factory=list)


def _tensorboard():  # noqa: ANN202 (the modules of an optional package)
    try:
        from tensorboard.backend.event_processing import event_accumulator, event_file_loader, io_wrapper
        from tensorboard.util import tensor_util
    except ImportError as exc:
        raise ConfigError(INSTALL_HINT) from exc
    return event_accumulator, event_file_loader, io_wrapper, tensor_util


def run_folders(logdir: Path) -> list[Path]:
    """The folders under `logdir` (itself included) that hold event files, sorted."""
    io_wrapper = _tensorboard()[2]
    return sorted(Path(folder) for folder in io_wrapper.GetLogdirSubdirectories(str(logdir)))


def read_folder(folder: Path) -> FolderLog:
    """Every scalar of the folder's event files (in name order, as TensorBoard reads them)."""
    event_accumulator, _, io_wrapper, _ = _tensorboard()
    log = FolderLog(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if io_wrapper.IsTensorFlowEventsFile(str(p))):
        problem = damage(path)
        if problem is None:
            try:
                scalars = _scalars(path)
            except Exception as exc:  # noqa: BLE001 (a record TensorBoard cannot decode: the file is damaged)
                problem = f"TensorBoard cannot decode it ({type(exc).__name__}: {exc})"
        if problem is not None:
            log.damaged.append((path, problem))
            continue
        log.scalars += scalars
        log.files.append(path.name)
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
                digest.update(chunk)
    log.key = digest.hexdigest()
    return log


def damage(path: Path) -> str | None:
    """Why the event file at `path` cannot be read whole, or None: its records, read by TensorBoard's
    record reader, must cover the file to its last byte."""
    event_file_loader = _tensorboard()[1]
    size = path.stat().st_size
    covered = sum(RECORD_FRAMING + len(record) for record in event_file_loader.RawEventFileLoader(
        str(path)).Load())
    if covered != size:
        return f"truncated or corrupt: its records end at byte {covered:,} of {size:,}"
    return None


def _scalars(path: Path) -> list[tuple[int, str, float]]:
    """The file's scalars through TensorBoard's EventAccumulator, every point kept (no sampling): the
    classic ones (`add_scalar`) and those written as tensors of the scalars plugin."""
    event_accumulator, _, _, tensor_util = _tensorboard()
    accumulator = event_accumulator.EventAccumulator(
        str(path), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    points = [(e.wall_time, e.step, tag, float(e.value))
              for tag in tags[event_accumulator.SCALARS] for e in accumulator.Scalars(tag)]
    for tag in tags[event_accumulator.TENSORS]:
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name == "scalars":
            points += [(e.wall_time, e.step, tag, float(tensor_util.make_ndarray(e.tensor_proto).item()))
                       for e in accumulator.Tensors(tag)]
    return [(step, tag, value) for _, step, tag, value in sorted(points, key=lambda p: (p[0], p[1]))]

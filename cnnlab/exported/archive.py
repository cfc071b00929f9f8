"""Reading a `torch.export.save` archive without running anything from it.

`torch.export.load` unpickles parts of the file (sample inputs, pickled tensors, custom objects) and
generates Python code from the graph's names. Here the archive is read as a zip: the program is parsed
as JSON, the weights are raw little-endian bytes laid out by their JSON metadata, and anything pickled
(sample inputs, legacy or subclass tensors, constants, custom objects) is never opened — a file that
needs one is refused.
"""

from __future__ import annotations

import io
import json
import math
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch._export.serde.schema import ScalarType

from cnnlab.errors import ConfigError
from cnnlab.limits import MAX_MODEL_FILE_MIB, MAX_MODEL_JSON_CONTAINERS, MAX_MODEL_JSON_MIB, MAX_MODULE_DEPTH

MAX_BYTES = MAX_MODEL_FILE_MIB * 2**20
# A module path or weight name: dotted parts of letters, digits and underscores, none a dunder name
_PART = r"(?!__)[A-Za-z0-9_]{1,200}"
PATH = re.compile(rf"{_PART}(?:\.{_PART}){{0,{MAX_MODULE_DEPTH - 1}}}")
_MODEL = re.compile(r"(?:([^/]+)/)?models/model\.json")
_FILE = re.compile(r"[A-Za-z0-9_]{1,200}")
# The export schema's dtype codes of the dtypes a CNN's weights use
_DTYPES = {ScalarType[code].value: dtype for code, dtype in (
    ("HALF", torch.float16), ("FLOAT", torch.float32), ("DOUBLE", torch.float64),
    ("BFLOAT16", torch.bfloat16), ("INT", torch.int32), ("LONG", torch.int64), ("BOOL", torch.bool))}


@dataclass(frozen=True)
class Archive:
    """The exported program (the `graph_module` JSON) and its weights by qualified name."""

    program: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    parameters: frozenset[str]


def not_a_model(name: str, why: str) -> ConfigError:
    return ConfigError(f"{name} is not a model saved with torch.export.save: {why}")


def read_archive(source: str | Path | bytes, name: str | None = None) -> Archive:
    """The program and weights of the `.pt2` file at `source` (a path or the file's bytes)."""
    if isinstance(source, bytes):
        name, size, opened = name or "the file", len(source), io.BytesIO(source)
    else:
        path = Path(source)
        name = name or path.name
        if not path.is_file():
            raise ConfigError(f"no model file {path}")
        size, opened = path.stat().st_size, path
    if size > MAX_BYTES:
        raise ConfigError(f"{name} is {size / 2**20:.1f} MiB; a model file is at most "
                          f"{MAX_MODEL_FILE_MIB} MiB")
    try:
        with zipfile.ZipFile(opened) as archive:
            return _read(archive, name)
    except zipfile.BadZipFile as exc:
        raise not_a_model(name, "it is not a .pt2 (zip) archive") from exc


def _read(archive: zipfile.ZipFile, name: str) -> Archive:
    entries = {info.filename: info for info in archive.infolist()}
    if sum(info.file_size for info in entries.values()) > 2 * MAX_BYTES:
        raise ConfigError(f"{name} unpacks to more than {2 * MAX_MODEL_FILE_MIB} MiB")
    models = [m for m in map(_MODEL.fullmatch, entries) if m]
    if len(models) != 1:
        raise not_a_model(name, "it has no models/model.json" if not models else "it holds several models")
    root = f"{models[0].group(1)}/" if models[0].group(1) else ""

    def read(part: str, limit: int = MAX_BYTES) -> bytes:
        """The entry's bytes, refused unread when it unpacks to more than `limit` (zip reading stops at
        the declared size, so a lying header cannot make it inflate more)."""
        info = entries.get(root + part)
        if info is None:
            raise not_a_model(name, f"{part} is missing")
        if info.file_size > limit:
            raise ConfigError(f"{name}: {part} unpacks to {info.file_size / 2**20:.1f} MiB; at most "
                              f"{limit / 2**20:g} MiB")
        with archive.open(info) as opened:
            return opened.read(limit)

    def parsed(part: str) -> Any:
        data = read(part, MAX_MODEL_JSON_MIB * 2**20)
        containers = data.count(b"{") + data.count(b"[")
        if containers > MAX_MODEL_JSON_CONTAINERS:
            raise ConfigError(f"{name}: {part} holds {containers:,} objects and arrays; at most "
                              f"{MAX_MODEL_JSON_CONTAINERS:,}")
        try:
            return json.loads(data)
        except RecursionError:
            raise not_a_model(name, f"{part} is nested too deeply") from None

    if root + "byteorder" in entries and read("byteorder", 16).decode(errors="replace") != sys.byteorder:
        raise ConfigError(f"{name} was saved on a machine of the other byte order")
    try:
        program = parsed("models/model.json")["graph_module"]
        weights = parsed("data/weights/model_weights_config.json")["config"]
        constants = parsed("data/constants/model_constants_config.json")["config"]
        if not isinstance(weights, dict):
            raise TypeError("the weight list is not a mapping")
    except ConfigError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise not_a_model(name, f"its program or weight list cannot be read ({str(exc)[:80]})") from exc
    if constants:
        raise ConfigError(f"{name} holds constants or custom objects ({', '.join(list(constants)[:3])}); "
                          "cnnlab loads models whose state is parameters and buffers only")
    views, parameters, files = {}, set(), {}
    for fqn, meta in weights.items():
        if not isinstance(fqn, str) or not PATH.fullmatch(fqn):
            raise not_a_model(name, f"a weight is named {str(fqn)[:80]!r}")
        views[fqn] = _tensor(fqn, meta, files, lambda f: read(f"data/weights/{f}"), name)
        if meta.get("is_param"):
            parameters.add(fqn)
    total = sum(t.numel() * t.element_size() for t in views.values())
    if total > 2 * MAX_BYTES:
        raise ConfigError(f"{name}'s weights hold {total / 2**20:,.0f} MiB; at most "
                          f"{2 * MAX_MODEL_FILE_MIB} MiB")
    tensors = {fqn: view.clone() for fqn, view in views.items()}
    return Archive(program, tensors, frozenset(parameters))


def _tensor(fqn: str, meta: dict, files: dict[str, torch.Tensor], read, name: str) -> torch.Tensor:  # noqa: ANN001
    """One weight: a view of its file's raw bytes with its sizes, strides and offset, checked against
    the file (nothing is copied: a weight of more values than its file holds is refused)."""
    try:
        if meta["use_pickle"]:
            raise ConfigError(f"{name} stores {fqn} pickled; cnnlab loads only plain tensors, and never "
                              "unpickles a file")
        info, file = meta["tensor_meta"], meta["path_name"]
        dtype = _DTYPES[info["dtype"]]
        sizes = [s["as_int"] for s in info["sizes"]]
        strides = [s["as_int"] for s in info["strides"]]
        offset = info["storage_offset"]["as_int"]
    except (KeyError, TypeError) as exc:
        raise not_a_model(name, f"weight {fqn} has an unreadable description ({exc!r})") from exc
    if not isinstance(file, str) or not _FILE.fullmatch(file):
        raise not_a_model(name, f"weight {fqn} names a file {file!r}")
    if file not in files:
        raw = bytearray(read(file))
        if len(raw) % dtype.itemsize:
            raise not_a_model(name, f"weight file {file} is not a whole number of {dtype} values")
        files[file] = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
    flat = files[file]
    if flat.dtype != dtype:
        raise not_a_model(name, f"weight file {file} is read as two types")
    values = [*sizes, *strides, offset]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values) or \
            len(sizes) != len(strides):
        raise not_a_model(name, f"weight {fqn} has an impossible shape")
    if len(sizes) > MAX_MODULE_DEPTH:
        raise not_a_model(name, f"weight {fqn} has {len(sizes)} dimensions")
    numel = math.prod(sizes)
    if numel > flat.numel():
        raise not_a_model(name, f"weight {fqn} has {numel:,} values but its file holds {flat.numel():,}")
    last = offset + sum((s - 1) * st for s, st in zip(sizes, strides, strict=True)) if numel else -1
    if last >= flat.numel():
        raise not_a_model(name, f"weight {fqn} reaches past its file")
    return torch.as_strided(flat, sizes, strides, offset) if numel else torch.empty(sizes, dtype=dtype)

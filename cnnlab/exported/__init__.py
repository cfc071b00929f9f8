"""Models saved with `torch.export.save` (`.pt2`), loaded without running anything from the file.

`load` reads the archive as data (`archive.py`: JSON and raw tensors, nothing unpickled), parses its
graph into module calls (`rebuild.py`) and rebuilds the modules (`modules.py`); the result is an
ordinary `nn.Module` with the file's trained weights, analysed by `cnnlab.analyze` and inspected by
`cnnlab.inspect` like any other. docs/DESIGN.md says why, the README what is supported.
"""

from __future__ import annotations

from pathlib import Path

from cnnlab.exported.archive import MAX_BYTES, read_archive
from cnnlab.exported.modules import ExportedModel, assemble
from cnnlab.exported.rebuild import parse

SUFFIX = ".pt2"

__all__ = ["MAX_BYTES", "SUFFIX", "ExportedModel", "is_model_file", "load"]


def is_model_file(text: str) -> bool:
    """Whether a MODEL argument names a model file rather than a preset or model string."""
    return text.lower().endswith(SUFFIX)


def load(source: str | Path | bytes, name: str | None = None) -> ExportedModel:
    """The model in the `.pt2` file at `source` (a path, or the file's bytes named `name`), in eval mode
    on the CPU with its saved weights."""
    name = name or (Path(source).name if not isinstance(source, bytes) else "the file")
    archive = read_archive(source, name)
    root, input_name, output_name, sizes = parse(archive, name)
    shape = tuple(sizes[1:]) if sizes is not None and len(sizes) == 4 else None
    return assemble(root, archive, input_name, output_name, shape)

"""The result of an analysis: per-layer rows, totals, and their table and JSON views."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnlab.analysis.memory import training_memory
from cnnlab.analysis.windows import Window
from cnnlab.devices import device_memory
from cnnlab.errors import ConfigError, quoted
from cnnlab.tables import aligned, markdown
from cnnlab.units import format_bytes, format_count, format_pair

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from cnnlab.spec import ModelConfig

# One multiply-accumulate is two floating-point operations: a multiply and an add.
FLOPS_PER_MAC = 2
# Layer type -> the kind its parameters count as in `Summary.params_by_kind`.
KINDS = {"Conv2d": "convolution", "Linear": "fully connected"}
# The figures of a summary (`Summary.figure`), as the Build page's tabs draw them.
FIGURES = ("rf", "shapes", "params", "memory")
HTML_COLUMNS = ("Layer", "Type", "Output shape", "Kernel", "Stride", "Pad", "Params", "MACs", "RF", "Jump")


@dataclass(frozen=True)
class LayerRow:
    """One module call. `name` is unique in a summary: a module called again (ResNet's `relu`)
    gets ' (2)', ' (3)', ... after its name. Convolution and pooling rows carry their `window`."""

    name: str
    type: str
    depth: int
    output_shape: tuple[int, ...]
    params: int
    trainable_params: int
    macs: int
    output_bytes: int
    rf: tuple[int, int] | None
    jump: tuple[int, int] | None
    start: tuple[float, float] | None
    input_shape: tuple[int, ...] = ()
    window: Window | None = None

    def to_dict(self) -> dict[str, Any]:
        w = self.window
        return {
            "name": self.name, "type": self.type, "depth": self.depth,
            "input_shape": list(self.input_shape), "output_shape": list(self.output_shape),
            "kernel": _list(w and w.kernel), "stride": _list(w and w.stride),
            "padding": _list(w and w.padding), "dilation": _list(w and w.dilation),
            "groups": w and w.groups, "params": self.params,
            "trainable_params": self.trainable_params, "macs": self.macs, "output_bytes": self.output_bytes,
            "rf": _list(self.rf), "jump": _list(self.jump), "start": _list(self.start),
        }

    def size_formula(self) -> str | None:
        """Why the output has its size: '⌊(28 + 2·0 − 5)/1⌋ + 1 = 24' (height, then width where it
        differs); None for a row without a window or without a spatial input."""
        if self.window is None or len(self.input_shape) < 2:
            return None
        height, width = (self.window.formula(self.input_shape[-2 + a], a) for a in range(2))
        return height if height == width else f"height {height}; width {width}"


@dataclass(frozen=True)
class Totals:
    """The whole network's figures for one image. `macs` counts the multiply-accumulates of the
    convolutions and linear layers (docs/ANALYSIS.md); `flops` is the same work as floating-point
    operations, a multiply and an add per MAC (the convention of `torch.utils.flop_counter`)."""

    params: int
    trainable_params: int
    macs: int
    param_bytes: int
    activation_bytes: int

    @property
    def flops(self) -> int:
        return FLOPS_PER_MAC * self.macs

    def to_dict(self) -> dict[str, int]:
        return {**self.__dict__, "flops": self.flops}


@dataclass(frozen=True)
class Summary:
    model: str
    input: tuple[int, int, int]
    classes: int
    layers: tuple[LayerRow, ...]
    totals: Totals
    config: ModelConfig | None = field(default=None, compare=False, repr=False)  # None for a module
    notes: tuple[str, ...] = ()  # what the totals leave out that the model's publisher counts

    @property
    def final_field(self) -> LayerRow | None:
        """The last row that still has a spatial receptive field."""
        return next((row for row in reversed(self.layers) if row.rf is not None), None)

    def params_by_kind(self) -> dict[str, int]:
        """Parameters of the convolution, fully connected and other rows (batch norm, ...); from a
        summary of leaf layers, these add up to the total."""
        kinds = {"convolution": 0, "fully connected": 0, "other": 0}
        for row in self.layers:
            kinds[KINDS.get(row.type, "other")] += row.params
        return kinds

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `python -m cnnlab summary --format json`."""
        data = {
            "model": self.model, "input": list(self.input), "classes": self.classes,
            "layers": [row.to_dict() for row in self.layers], "totals": self.totals.to_dict(),
        }
        return {**data, "notes": list(self.notes)} if self.notes else data

    def figure(self, kind: str, *, batch_size: int = 128, optimizer: str = "sgd",
               momentum: float = 0.0) -> go.Figure:
        """The Build page's figure `kind` of this summary: "rf" (receptive-field growth), "shapes",
        "params" or "memory" (training memory for `batch_size` and `optimizer` against this machine's).
        Needs plotly."""
        from cnnlab import figures

        if kind not in FIGURES:
            raise ConfigError(f"unknown figure {quoted(kind)}; choose one of {', '.join(FIGURES)}")
        if kind == "rf":
            return figures.receptive_field_figure(self)
        if kind == "shapes":
            return figures.shape_figure(self)
        if kind == "params":
            return figures.params_figure(self)
        if self.config is None:
            raise ConfigError("the memory figure simulates a training step of a cnnlab model (a preset, "
                              "a spec or a ModelConfig), not of an analysed module")
        memory = training_memory(self.config, optimizer, momentum).at(batch_size)
        return figures.memory_figure(memory, *device_memory())

    def _repr_html_(self) -> str:
        """The layer table (kernel, stride and padding of each window, receptive field and jump) and the
        totals, for Jupyter."""
        def cells(row: LayerRow) -> tuple[str, ...]:
            w = row.window
            return (row.name, row.type, "×".join(map(str, row.output_shape)),
                    *(format_pair(getattr(w, key)) if w else "" for key in ("kernel", "stride", "padding")),
                    f"{row.params:,}", format_count(row.macs), *(format_pair(v) if v else "-"
                                                                 for v in (row.rf, row.jump)))

        head = "".join(f"<th>{name}</th>" for name in HTML_COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells(row)) + "</tr>"
                       for row in self.layers)
        t, final = self.totals, self.final_field
        field = "-" if final is None else f"{format_pair(final.rf)} pixels at {final.name}"
        totals = (("Total params", f"{t.params:,} (trainable {t.trainable_params:,})"),
                  ("MACs per image", f"{t.macs:,} ({format_count(t.macs)})"),
                  ("Parameter memory", format_bytes(t.param_bytes)),
                  ("Activation memory", f"{format_bytes(t.activation_bytes)} per image"),
                  ("Receptive field", field), *(("Note", note) for note in self.notes))
        foot = "".join(f"<tr><th>{name}</th><td>{html.escape(value)}</td></tr>" for name, value in totals)
        title = f"{self.model}, input {'×'.join(map(str, self.input))}, {self.classes} classes"
        return (f"<div class='cnnlab-summary'><p><b>{html.escape(title)}</b></p>"
                f"<table class='cnnlab-layers'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<table class='cnnlab-totals'>{foot}</table></div>")

    def to_text(self) -> str:
        """The layer table as aligned plain text, totals underneath (the `summary` command's table)."""
        header, body = layer_cells(self)
        lines = aligned(header, body, right=set(range(3, len(header))))
        return "\n".join([*lines, lines[1], *totals_lines(self)])

    def to_markdown(self) -> str:
        """The layer table as Markdown, totals underneath as a list (for slides and notes); a nested row
        starts with '· ' per level, as Markdown drops leading spaces."""
        header, body = layer_cells(self, indent="· ")
        lines = markdown(header, body, right=set(range(3, len(header))))
        first, *rest = totals_lines(self)
        return "\n".join([*lines, "", f"**{first}**", "", *(f"- {' '.join(line.split())}" for line in rest)])

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [row.to_dict() for row in self.layers]
        for row in rows:
            for key in ("input_shape", "output_shape"):
                row[key] = "×".join(map(str, row[key]))
            for key in ("kernel", "stride", "padding", "dilation", "rf", "jump", "start"):
                row[key] = None if row[key] is None else format_pair(row[key])
        frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else None)
        if rows:
            frame["groups"] = frame["groups"].astype("Int64")
        return frame


def _list(pair: tuple | None) -> list | None:
    return None if pair is None else list(pair)


COLUMNS = ("Layer", "Type", "Output shape", "Kernel", "Stride", "Pad", "Params", "MACs", "Output", "RF",
           "Jump")
# Shown only when some row has a value other than 1: column -> the row's value
RARE_COLUMNS = {"Dilation": lambda w: format_pair(w.dilation), "Groups": lambda w: str(w.groups)}
INDENT = "  "  # a nested row's name, once per level below the top (plain text)


def layer_cells(summary: Summary, indent: str = INDENT) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The header and one row of cells per layer: kernel, stride and padding on convolution and pooling
    rows (dilation and groups too where one is not 1; none of them in a table of blocks)."""
    windows = [row.window for row in summary.layers if row.window is not None]
    rare = {name: cell for name, cell in RARE_COLUMNS.items() if any(cell(w) != "1" for w in windows)}
    shown = 3 if windows else 0
    body = []
    for row in summary.layers:
        w = row.window
        window = (format_pair(w.kernel), format_pair(w.stride), format_pair(w.padding)) if w else ("",) * 3
        body.append((
            indent * (row.depth - 1) + row.name, row.type, "×".join(map(str, row.output_shape)),
            *window[:shown],
            *(cell(w) if w else "" for cell in rare.values()),
            f"{row.params:,}", format_count(row.macs), format_bytes(row.output_bytes),
            "-" if row.rf is None else format_pair(row.rf),
            "-" if row.jump is None else format_pair(row.jump),
        ))
    return (*COLUMNS[:3 + shown], *rare, *COLUMNS[6:]), body


def totals_lines(summary: Summary) -> list[str]:
    """The model, its input and classes, then the totals, one per line."""
    t, final = summary.totals, summary.final_field
    c, h, w = summary.input
    lines = [
        f"{summary.model}  input {c}x{h}x{w}  classes {summary.classes}",
        f"Total params:      {t.params:,} ({format_count(t.params)}), trainable {t.trainable_params:,}",
        f"MACs per image:    {t.macs:,} ({format_count(t.macs)})",
        f"FLOPs per image:   {t.flops:,} ({format_count(t.flops)}), 2 per MAC",
        f"Parameter memory:  {format_bytes(t.param_bytes)}",
        f"Activation memory: {format_bytes(t.activation_bytes)} per image (float32, distinct layer outputs)",
    ]
    if final is not None:
        lines.append(f"Receptive field:   {format_pair(final.rf)} input pixels at {final.name}")
    return [*lines, *(f"Note:              {note}" for note in summary.notes)]

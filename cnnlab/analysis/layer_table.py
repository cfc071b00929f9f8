"""A summary's layer table as text: aligned plain text (the `summary` command's table) and Markdown (for
slides and notes), from one set of cells and one list of totals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnnlab.tables import aligned, markdown
from cnnlab.units import format_bytes, format_count, format_pair

if TYPE_CHECKING:
    from cnnlab.analysis.summary import Summary

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
    return lines


def text_table(summary: Summary) -> str:
    """An aligned plain-text table with the totals underneath."""
    header, body = layer_cells(summary)
    lines = aligned(header, body, right=set(range(3, len(header))))
    return "\n".join([*lines, lines[1], *totals_lines(summary)])


def markdown_table(summary: Summary) -> str:
    """A Markdown table (nested rows marked by '· ' per level, as Markdown drops leading spaces) and the
    totals as a list underneath."""
    header, body = layer_cells(summary, indent="· ")
    lines = markdown(header, body, right=set(range(3, len(header))))
    first, *rest = totals_lines(summary)
    return "\n".join([*lines, "", f"**{first}**", "", *(f"- {' '.join(line.split())}" for line in rest)])

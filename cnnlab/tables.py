"""Tables as text: aligned plain text for the terminal, Markdown for slides and notes."""

from __future__ import annotations

from collections.abc import Sequence

from cnnlab.limits import MAX_SHOWN_NAME


def clipped(text: str, most: int = MAX_SHOWN_NAME) -> str:
    """`text` for a table: its first `most` characters, then '…' and its length when it is longer."""
    return text if len(text) <= most else f"{text[:most]}… ({len(text):,} characters)"


def aligned(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """The header, a rule, then the rows; each column padded to its widest cell, `right` ones
    right-aligned."""
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    head = line(header)
    return [head, "-" * len(head), *map(line, rows)]


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """A Markdown (GitHub) table; `right` columns right-aligned; a `|` in a cell is escaped."""
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    rule = ["---:" if i in right else "---" for i in range(len(header))]
    return [line(header), "|" + "|".join(rule) + "|", *map(line, rows)]

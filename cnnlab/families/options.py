"""What an option is, and the options that several families share (one declaration, one set of bounds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnlab import limits


@dataclass(frozen=True)
class Option:
    """A spec field that users set directly: a CLI flag (`--fc-width`), a URL parameter, a widget.

    `low`/`high` bound whole numbers; `choices` lists the allowed values of a choice.
    """

    name: str
    label: str
    help: str
    kind: type = int
    low: int | None = None
    high: int | None = None
    choices: tuple[Any, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


CLASSES = Option("classes", "Classes", "number of classes (default 10)", low=2, high=limits.MAX_CLASSES)
FC_WIDTH = Option("fc_width", "FC width", "width of the two hidden FC layers (default 4096)",
                  low=1, high=limits.MAX_FC_WIDTH)
WIDTH_DIVISOR = Option("width_divisor", "Width divisor",
                       "divide every channel width by N (the textbook's small VGG uses 4)",
                       low=1, high=limits.MAX_WIDTH_DIVISOR)

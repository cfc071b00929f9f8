"""The options that several families share (one declaration, one set of bounds). A family's option is a
spec field users set directly: a CLI flag (`--fc-width`), a URL parameter, a widget, a sweep parameter
(cnnlab.option.Option; its `low`/`high` bound whole numbers)."""

from __future__ import annotations

from cnnlab import limits
from cnnlab.option import Option

CLASSES = Option("classes", "Classes", "number of classes (default 10)", low=2, high=limits.MAX_CLASSES)
FC_WIDTH = Option("fc_width", "FC width", "width of the two hidden FC layers (default 4096)",
                  low=1, high=limits.MAX_FC_WIDTH)
WIDTH_DIVISOR = Option("width_divisor", "Width divisor",
                       "divide every channel width by N (the textbook's small VGG uses 4)",
                       low=1, high=limits.MAX_WIDTH_DIVISOR)

"""Options that several families share (one declaration, one set of bounds)."""

from cnnlab import limits
from cnnlab.families.family import Option

CLASSES = Option("classes", "Classes", "number of classes (default 10)", low=2, high=limits.MAX_CLASSES)
FC_WIDTH = Option("fc_width", "FC width", "width of the two hidden FC layers (default 4096)",
                  low=1, high=limits.MAX_FC_WIDTH)
WIDTH_DIVISOR = Option("width_divisor", "Width divisor",
                       "divide every channel width by N (the textbook's small VGG uses 4)",
                       low=1, high=limits.MAX_WIDTH_DIVISOR)

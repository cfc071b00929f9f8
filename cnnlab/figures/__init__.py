"""Plotly figures of summaries and of `cnnlab.inspect` results: the ones the dashboard draws.

Plotly is optional (`pip install 'cnnlab[notebook]'` or `'cnnlab[dashboard]'`); without it, importing
this package says so.
"""

try:
    import plotly  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by the test that hides plotly
    raise ImportError("cnnlab's figures need plotly: pip install 'cnnlab[notebook]' (or plotly)") from exc

from cnnlab.figures.build import (
    main_path,
    memory_figure,
    params_figure,
    receptive_field_figure,
    shape_figure,
)
from cnnlab.figures.class_map import class_map_figure
from cnnlab.figures.see import (
    feature_maps_figure,
    field_figure,
    kernels_figure,
    top_images_figure,
    unit_grid_figure,
)
from cnnlab.figures.style import LAYOUT, PALETTE
from cnnlab.figures.unit import slide_figure, unit_figure

__all__ = ["LAYOUT", "PALETTE", "class_map_figure", "feature_maps_figure", "field_figure", "kernels_figure",
           "main_path", "memory_figure", "params_figure", "receptive_field_figure", "shape_figure",
           "slide_figure", "top_images_figure", "unit_figure", "unit_grid_figure"]

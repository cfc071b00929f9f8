"""Seeing inside a model: receptive fields on images, effective fields, feature maps, kernels, top images.

Functions of (model, images, layer, unit) that return plain arrays (one unit's arithmetic too); the
theoretical field of every layer comes from the analysis engine. See docs/SEE.md.
"""

from cnnlab.inspect.field import EffectiveField, effective_field, prepared
from cnnlab.inspect.images import adapt, dataset_images, default_dataset, model_input
from cnnlab.inspect.layers import SpatialLayer, capture, find_layer, spatial_layers
from cnnlab.inspect.maps import FeatureMaps, Kernels, conv_layers, feature_maps, kernels
from cnnlab.inspect.subject import Subject, from_file, from_run, initial
from cnnlab.inspect.top import TopImage, top_images
from cnnlab.inspect.unit import (
           LayerIO,
           UnitComputation,
           UnitLayer,
           explain,
           explain_unit,
           find_unit_layer,
           layer_io,
           unit_layers,
)

__all__ = ["EffectiveField", "FeatureMaps", "Kernels", "LayerIO", "SpatialLayer", "Subject", "TopImage",
           "UnitComputation", "UnitLayer", "adapt", "capture", "conv_layers", "dataset_images",
           "default_dataset", "effective_field", "explain", "explain_unit", "feature_maps", "find_layer",
           "find_unit_layer", "from_file", "from_run", "initial", "kernels", "layer_io", "model_input",
           "prepared", "spatial_layers", "top_images", "unit_layers"]

"""Seeing inside a model: receptive fields on images, effective fields, feature maps, kernels, top images.

Functions of (model, images, layer, unit) that return plain arrays; the theoretical field of every layer
comes from the analysis engine. See docs/SEE.md.
"""

from cnnlab.inspect.field import EffectiveField, effective_field, prepared
from cnnlab.inspect.images import adapt, dataset_images, default_dataset, model_input
from cnnlab.inspect.layers import SpatialLayer, capture, find_layer, spatial_layers
from cnnlab.inspect.maps import FeatureMaps, Kernels, conv_layers, feature_maps, kernels
from cnnlab.inspect.subject import Subject, from_file, from_run, initial
from cnnlab.inspect.top import TopImage, top_images

__all__ = ["EffectiveField", "FeatureMaps", "Kernels", "SpatialLayer", "Subject", "TopImage", "adapt",
           "capture", "conv_layers", "dataset_images", "default_dataset", "effective_field", "feature_maps",
           "find_layer", "from_file", "from_run", "initial", "kernels", "model_input", "prepared",
           "spatial_layers", "top_images"]

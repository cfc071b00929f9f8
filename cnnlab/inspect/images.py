"""Dataset images at a model's input size: what the See page shows and what the model is fed."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab import limits
from cnnlab.data import dataset_info, load_split
from cnnlab.errors import ConfigError
from cnnlab.spec import InputSpec, check_int
from cnnlab.units import format_bytes


def default_dataset(inp: InputSpec) -> str:
    """The built-in set whose channels match the input's."""
    return "shapes-rgb" if inp.channels == 3 else "shapes"


def dataset_images(dataset: str, count: int, inp: InputSpec, data_dir: str | None = None,
                first: int = 0, cap: int = limits.MAX_INSPECT_IMAGES) -> torch.Tensor:
    """Test-split images `first` .. `first + count - 1` of `dataset` as float32 N×C×H×W in [0, 1] at the
    input's size (bilinear, antialiased when shrinking), grey repeated to 3 channels or colour averaged
    to 1 as the input needs. A missing dataset, a bad count or more images than `limits.MAX_IMAGE_BYTES`
    holds at that size is a ConfigError, before anything is loaded."""
    count = check_int("number of images", count, 1, cap)
    first = check_int("first image", first, 0, 10**7)
    each = 4 * inp.channels * inp.height * inp.width  # float32
    if count * each > limits.MAX_IMAGE_BYTES:
        raise ConfigError(f"{count} images at {inp} take {format_bytes(count * each)}, over the limit of "
                          f"{format_bytes(limits.MAX_IMAGE_BYTES)} (limits.MAX_IMAGE_BYTES): at most "
                          f"{limits.MAX_IMAGE_BYTES // each} fit; ask for fewer images or a smaller input")
    dataset_info(dataset)
    data = load_split(dataset, False, data_dir, download=False, limit=first + count)
    if first + count > len(data):
        asked = f"image {first} was" if count == 1 else f"images {first} to {first + count - 1} were"
        raise ConfigError(f"{dataset}'s test split has {len(data)} images (0 to {len(data) - 1}); {asked} "
                          "asked for")
    x = data.images[first:first + count].float().div_(255)
    return adapt(x, inp)


def adapt(x: torch.Tensor, inp: InputSpec) -> torch.Tensor:
    """Images N×C×H×W in [0, 1] resized and re-channelled to `inp`."""
    size = (inp.height, inp.width)
    if tuple(x.shape[-2:]) != size:
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False,
                          antialias=min(size) < min(x.shape[-2:]))
    if x.shape[1] != inp.channels:
        if x.shape[1] == 1:
            x = x.expand(-1, inp.channels, -1, -1)
        elif inp.channels == 1:
            x = x.mean(dim=1, keepdim=True)
        else:
            raise ConfigError(f"cannot feed {x.shape[1]}-channel images to a {inp.channels}-channel input")
    return x.clamp(0, 1).contiguous()


def model_input(x: torch.Tensor, normalize: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
    """What the model is fed: the images, normalised with a run's statistics when it trained so."""
    if normalize is None:
        return x
    mean, std = normalize
    return (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)

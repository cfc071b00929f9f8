"""The built-in offline dataset: ten classes of simple shapes and textures, generated in code.

Each image has one shape at a random position, scale and intensity (colour in the RGB variant) on a
noisy background. Generation is vectorised and deterministic: the same split is the same tensor on
every machine.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

CLASSES = ("circle", "square", "triangle", "cross", "horizontal stripes", "vertical stripes",
           "diagonal line", "ring", "checkerboard", "dot grid")
SIZES = {"train": 6000, "test": 1000}
SEEDS = {"train": 20240, "test": 20241}


def _masks(label: int, dx: np.ndarray, dy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Boolean masks (n, S, S) of one class, for offsets dx, dy from each centre and radii r (n, 1, 1)."""
    box = (np.abs(dx) <= r) & (np.abs(dy) <= r)
    dist = np.hypot(dx, dy)
    if label == 0:
        return dist <= r
    if label == 1:
        return (np.abs(dx) <= 0.8 * r) & (np.abs(dy) <= 0.8 * r)
    if label == 2:
        return (dy <= r) & (dy >= -r) & (np.abs(dx) <= (dy + r) / 2)
    if label == 3:
        arm = 0.3 * r
        return ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))
    if label == 4:
        return box & (np.floor((dy + r) / (0.4 * r)) % 2 == 0)
    if label == 5:
        return box & (np.floor((dx + r) / (0.4 * r)) % 2 == 0)
    if label == 6:
        return box & (np.abs(dx - dy) <= 0.3 * r)
    if label == 7:
        return (dist <= r) & (dist >= 0.55 * r)
    if label == 8:
        return box & ((np.floor(dx / (0.5 * r)) + np.floor(dy / (0.5 * r))) % 2 == 0)
    period = 0.5 * r
    near_x = np.abs((dx % period) - period / 2) <= 0.2 * r
    near_y = np.abs((dy % period) - period / 2) <= 0.2 * r
    return box & near_x & near_y


@functools.lru_cache(maxsize=8)
def generate(split: str, channels: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 images N x C x S x S, int64 labels N) of `split` ('train' or 'test'); balanced classes."""
    n = SIZES[split]
    rng = np.random.default_rng(SEEDS[split] + 7 * channels + size)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    grid = np.arange(size, dtype=np.float32)
    centre = rng.uniform(0.4 * size, 0.6 * size, size=(n, 2)).astype(np.float32)
    radius = rng.uniform(0.24 * size, 0.34 * size, size=(n, 1, 1)).astype(np.float32)
    dx = grid[None, None, :] - centre[:, 0, None, None]
    dy = grid[None, :, None] - centre[:, 1, None, None]
    mask = np.zeros((n, size, size), dtype=bool)
    for label in range(len(CLASSES)):
        pick = labels == label
        mask[pick] = _masks(label, dx[pick], dy[pick], radius[pick])
    mask = mask[:, None].astype(np.float32)
    if channels == 1:
        foreground = rng.uniform(0.7, 1.0, size=(n, 1, 1, 1))
        background = rng.uniform(0.0, 0.15, size=(n, 1, 1, 1))
    else:
        foreground = rng.uniform(0.35, 1.0, size=(n, channels, 1, 1))
        background = rng.uniform(0.0, 0.3, size=(n, channels, 1, 1))
    noise = rng.normal(0.0, 0.05, size=(n, channels, size, size))
    images = background + (foreground - background) * mask + noise
    images = np.clip(images * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))

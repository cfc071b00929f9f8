"""The dashboard's caches are bounded by bytes: work larger than the bound evicts the least recently used
and recomputes it when asked again."""

import numpy as np
import torch

from dashboard.caches import bounded, size_of


def test_images_larger_than_the_bound_are_evicted_and_recomputed():
    calls = []

    @bounded(1)  # 1 MiB; each result 400 KiB
    def images(tag: int) -> np.ndarray:
        calls.append(tag)
        return np.full(100 * 1024, tag, dtype=np.float32)

    for tag in (1, 2, 3):  # 1.2 MiB of work: the first is evicted
        assert images(tag)[0] == tag
    assert images.cache.bytes == 2 * 400 * 1024
    assert images(3)[0] == 3 and images(2)[0] == 2  # still held: not recomputed
    assert images(1)[0] == 1  # evicted: recomputed (and 3, now the least recently used, goes)
    assert calls == [1, 2, 3, 1]


def test_sizes_are_the_bytes_of_the_data():
    model = torch.nn.Conv2d(3, 8, 3)  # 8·3·3·3 + 8 = 224 float32 weights
    assert size_of(model) == 224 * 4
    assert size_of((np.zeros(10, dtype=np.float64), b"abc")) == 83

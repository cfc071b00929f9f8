"""cnnlab.analyze versus torchinfo.summary on VGG-16 at 3x224x224, in one process.

Run: python benchmarks/bench_analysis.py [--repeat N]
Prints the median time of each and the ratio. Targets: analyze <= 50 ms, >= 50x faster than torchinfo.
Then the first analysis of three torchvision models (tv:NAME, built with random weights on the meta
device), and the median of repeated ones. With --all-tv: every torchvision classifier at 224, median
and best of the repeats (target <= 30 ms each), and the training-memory estimate of VGG-16.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchinfo
from machine import describe

from cnnlab import build, model_config
from cnnlab.analysis import analyze
from cnnlab.families.tv import tv_models

TV_MODELS = ("resnet50", "convnext_tiny", "efficientnet_b0")


def times_ms(fn, repeat: int) -> list[float]:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def all_tv(repeat: int) -> None:
    """Every torchvision classifier at 3x224x224 (ViT-H/14 at its 518 px): median and best."""
    from cnnlab.analysis.memory import _cache, training_memory

    over = []
    for name in tv_models():
        side = 518 if name == "vit_h_14" else 224
        runs = times_ms(lambda name=name, side=side: analyze(f"tv:{name}", f"3x{side}x{side}"), repeat)
        median = statistics.median(runs)
        over += [name] if median > 30 else []
        print(f"tv:{name:22s} median {median:7.1f} ms  best {min(runs):7.1f} ms")
    print(f"over 30 ms (median): {len(over)} of {len(tv_models())}: {', '.join(over)}")
    vgg = model_config("vgg16", "3x224x224", classes=1000)
    runs = times_ms(lambda: (_cache.clear(), training_memory(vgg, "adam")), max(3, repeat // 2))
    print(f"training-memory estimate of VGG-16 (Adam): median {statistics.median(runs):.0f} ms, "
          f"best {min(runs):.0f} ms")


def median_ms(fn, repeat: int) -> float:
    return statistics.median(times_ms(fn, repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--all-tv", action="store_true", help="every torchvision classifier, median and best")
    args = parser.parse_args()
    if args.all_tv:
        print(describe())
        all_tv(args.repeat)
        return
    torch.set_num_threads(torch.get_num_threads())
    config = model_config("vgg16", "3x224x224", classes=1000)
    cpu_model = build(config, device="cpu")

    ours = median_ms(lambda: analyze(config), args.repeat)
    ours_module = median_ms(lambda: analyze(cpu_model, (3, 224, 224)), args.repeat)
    theirs = median_ms(lambda: torchinfo.summary(cpu_model, input_size=(1, 3, 224, 224), verbose=0),
                       args.repeat)
    print(describe())
    print(f"cnnlab analyze('vgg16') incl. build     : {ours:8.1f} ms  (median of {args.repeat})")
    print(f"cnnlab analyze(nn.Module on CPU)         : {ours_module:8.1f} ms")
    print(f"torchinfo.summary(nn.Module on CPU)      : {theirs:8.1f} ms")
    print(f"ratio torchinfo / cnnlab, same nn.Module: {theirs / ours_module:8.1f}x  (target >= 50x)")
    print(f"ratio torchinfo / cnnlab incl. build    : {theirs / ours:8.1f}x")
    start = time.perf_counter()
    tv_models()
    listed = (time.perf_counter() - start) * 1e3
    print(f"torchvision's model list, first call (imports torchvision): {listed:8.1f} ms")
    for name in TV_MODELS:
        start = time.perf_counter()
        analyze(f"tv:{name}", "3x224x224")
        first = (time.perf_counter() - start) * 1e3
        again = median_ms(lambda name=name: analyze(f"tv:{name}", "3x224x224"), args.repeat)
        print(f"cnnlab analyze('tv:{name}') at 3x224x224: first {first:8.1f} ms, then {again:8.1f} ms")


if __name__ == "__main__":
    main()

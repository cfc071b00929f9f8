"""The effective receptive field and the See page's rerun, on the CPU.

Run: python benchmarks/bench_see.py [--repeat N]
1. ERF of the centre unit of VGG-11 (width divisor 4) block5 at 1×224×224 over 16 built-in images:
   `cnnlab.inspect.effective_field` (float64, one batched forward stopped at the layer, frozen weights)
   against a plain autograd loop (one image at a time, the whole forward, weights requiring gradients),
   in float64 and float32. Target <= 2 s.
2. The See page's rerun after picking another unit, through AppTest, with the data caches cleared
   before each (so the unit's field is computed, and the images reloaded: an upper bound); the models
   stay cached as they do on the page. LeNet (target <= 500 ms) and VGG-11/4 at 224 with 16 images
   (target <= 3 s).
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st
import torch
from machine import describe
from streamlit.testing.v1 import AppTest

from cnnlab import model_config
from cnnlab.inspect import dataset_images, effective_field, find_layer, initial, prepared, spatial_layers

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


def times(fn: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and process CPU seconds of each call (CPU time shows the work when neighbours load
    the machine; on an idle 2-core machine wall ≈ CPU / 2 for these two-thread kernels)."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def plain_loop(model: torch.nn.Module, images: torch.Tensor, module: torch.nn.Module,
               unit: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    """The textbook way: per image, a full forward with a hook, backward from the unit, accumulate."""
    model = copy.deepcopy(model).to(dtype).eval()
    total = torch.zeros(images.shape[-2:], dtype=dtype)
    seen = {}
    handle = module_of(model, module).register_forward_hook(lambda _m, _i, out: seen.update(out=out))
    for image in images:
        x = image.unsqueeze(0).to(dtype, copy=True).requires_grad_(True)
        model(x)
        seen["out"][0, :, unit[0], unit[1]].sum().backward()
        total += x.grad.abs().sum(dim=1)[0]
    handle.remove()
    return total / total.sum()


def module_of(model: torch.nn.Module, name: str) -> torch.nn.Module:
    return dict(model.named_modules())[name]


def report(label: str, measured: tuple[list[float], list[float]], target: float | None = None) -> None:
    seconds, cpu = measured
    median = statistics.median(seconds)
    line = (f"{label:52s} median {median * 1e3:7.0f} ms, best {min(seconds) * 1e3:7.0f} ms, "
            f"CPU {statistics.median(cpu) * 1e3:7.0f} ms")
    if target is not None:
        line += f"  (target <= {target * 1e3:.0f} ms: {'met' if median <= target else 'NOT met'})"
    print(line)


def bench_field(repeat: int) -> None:
    subject = initial(model_config("vgg11", width_divisor=4))
    layer = find_layer(subject.model, spatial_layers(subject.model, (1, 224, 224)), "block5")
    images = dataset_images("shapes", 16, subject.config.input)
    net = prepared(subject.model)
    unit = layer.centre_unit
    ours = times(lambda: effective_field(net, images, layer, unit), repeat)
    report("ERF VGG-11/4 block5, 16 images: cnnlab, float64", ours, 2.0)
    report("ERF ... cnnlab, float64, whole image (no crop)",
           times(lambda: effective_field(net, images, layer, unit, crop=False), repeat))
    net32 = prepared(subject.model, torch.float32)
    report("ERF ... cnnlab, float32", times(lambda: effective_field(net32, images, layer, unit,
                                                                   dtype=torch.float32), repeat))
    for dtype in (torch.float64, torch.float32):  # slow: fewer repeats
        loop = times(lambda d=dtype: plain_loop(subject.model, images, layer.module, unit, d),
                     max(1, repeat // 2))
        report(f"ERF ... plain per-image autograd loop, {str(dtype)[6:]}", loop)
    check = plain_loop(subject.model, images, layer.module, unit, torch.float64).numpy()
    diff = abs(effective_field(net, images, layer, unit).heatmap - check).max()
    print(f"largest difference between the two float64 heatmaps: {diff:.2e}")


def bench_page(repeat: int, params: dict[str, str], rows: int, images: int | None, target: float) -> None:
    st.cache_data.clear()
    st.cache_resource.clear()
    app = AppTest.from_file(APP, default_timeout=300)
    for key, value in params.items():
        app.query_params[key] = value
    app.switch_page("views/see.py").run()
    if images is not None:
        app.number_input(key="see_images").set_value(images).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    wall, cpu = [], []
    for i in range(repeat + 1):
        widget = app.number_input(key="see_row").set_value((i * 3 + 1) % rows)
        st.cache_data.clear()  # every rerun computes its unit's field afresh (and reloads the images)
        start, start_cpu = time.perf_counter(), time.process_time()
        widget.run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert not app.exception and not app.error
    report(f"See page rerun, another unit: {params['model']}", (wall[1:], cpu[1:]), target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("streamlit")]:
        logging.getLogger(name).setLevel(logging.ERROR)  # AppTest's "no runtime" warnings
    os.environ.setdefault("CNNLAB_HOME", tempfile.mkdtemp(prefix="cnnlab-bench-"))
    print(f"{describe()}, streamlit {st.__version__}")
    bench_field(args.repeat)
    bench_page(args.repeat, {"model": "lenet"}, 5, None, 0.5)
    bench_page(args.repeat, {"model": "vgg11", "width_divisor": "4"}, 7, 16, 3.0)


if __name__ == "__main__":
    main()

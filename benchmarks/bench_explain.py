"""The See page's unit view on VGG-16 `block4.2` (512 input channels, 1x224x224): its first appearance and
one step of the unit.

Run: python benchmarks/bench_explain.py [--repeat N] [--layer NAME]
First appearance: the layer list (traced), the forward up to the layer and the call after it, the unit's
arithmetic and both figures as JSON (what Streamlit sends). A step: the next unit's arithmetic from the
kept input and output, and both figures as JSON. The model is built once, as the page keeps it.
Targets: first appearance <= 1 s, a step <= 0.3 s. Prints wall median (best) and process CPU time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from machine import describe

from cnnlab import model_config
from cnnlab.figures import slide_figure, unit_figure
from cnnlab.inspect import (
    dataset_images,
    explain_unit,
    find_layer,
    find_unit_layer,
    initial,
    layer_io,
    spatial_layers,
    unit_layers,
)

TOP = 6  # as the page draws


def timed(fn, repeat: int) -> tuple[float, float, float]:
    """Wall median, wall best and CPU median in ms, after a warm-up."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - wall) * 1e3)
        cpus.append((time.process_time() - cpu) * 1e3)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def figures(got, image: np.ndarray, io, box) -> None:  # noqa: ANN001
    channel = int(got.top(1).inputs[0])
    unit_figure(got, TOP).to_json()
    shown = (channel, io.input[channel].numpy())
    slide_figure(image, got, box, shown, io.output[got.channel].numpy()).to_json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--layer", default="block4.2")
    args = parser.parse_args()
    subject = initial(model_config("vgg16"), seed=0)
    model, shape = subject.model, subject.input.as_tuple()
    image = dataset_images("shapes", 1, subject.input)
    spatial = find_layer(model, spatial_layers(model, shape), args.layer)
    state = {}

    def first() -> None:
        layer = find_unit_layer(model, unit_layers(model, shape), args.layer)
        io = layer_io(model, image[0], layer)
        got = explain_unit(io, 5, (14, 14))
        figures(got, image[0].numpy(), io, spatial.box((14, 14)))
        state["io"], state["at"] = io, 0

    def step() -> None:
        io = state["io"]
        state["at"] = (state["at"] + 1) % (28 * 28)
        unit = divmod(state["at"], 28)
        figures(explain_unit(io, 5, unit), image[0].numpy(), io, spatial.box(unit))

    print(describe())
    print(f"VGG-16 {args.layer} at {subject.input}, channel 5, units from (14, 14) on")
    for name, fn, target in (("first appearance", first, 1000), ("one step", step, 300)):
        median, best, cpu = timed(fn, args.repeat)
        print(f"{name:17}: {median:7.1f} ms median ({best:.1f} best), CPU {cpu:.1f} ms; "
              f"target <= {target} ms")


if __name__ == "__main__":
    main()

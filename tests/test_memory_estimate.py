"""The training-memory estimate (a simulated step on fake tensors) against the CPU allocator's
measured peak of the same real step, and both parts against figures by hand."""

from __future__ import annotations

import sys
import threading
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.analysis import analyze
from cnnlab.analysis.memory import TrainingMemory, memory_model, training_memory
from cnnlab.analysis.peak_tracker import PeakTracker
from cnnlab.errors import ConfigError
from cnnlab.families import family_of
from cnnlab.spec import InputSpec, model_config
from cnnlab.train.peak_memory import live_bytes, measure_peak, training_state
from cnnlab.zoo import build

CPU = torch.device("cpu")
OPTIMIZERS = {
    "sgd momentum": lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9),
    "adam": lambda params: torch.optim.Adam(params, lr=1e-3),
}


def test_the_measured_peak_is_what_was_live_together():
    keep = torch.zeros(250_000)  # 1,000,000 bytes live before

    def together() -> None:
        a, b = torch.empty(250_000), torch.empty(750_000)  # 1 MB and 3 MB at once
        del a, b

    def one_after_the_other() -> None:
        a = torch.empty(250_000)
        del a
        b = torch.empty(750_000)
        del b

    assert measure_peak(together, CPU, [keep]) == 1_000_000 + 4_000_000
    assert measure_peak(one_after_the_other, CPU, [keep]) == 1_000_000 + 3_000_000


def test_live_bytes_counts_a_view_once():
    base = torch.zeros(10, 10)
    assert live_bytes([base, base[2:], base.view(100)]) == 400


@pytest.mark.parametrize(("optimizer", "state"), [("sgd momentum", 60), ("adam", 224)])
def test_the_step_phase_holds_weights_gradients_and_state_by_hand(optimizer, state):
    # Linear(4, 3): 12 + 3 = 15 floats = 60 bytes of weights and as many of gradients; SGD keeps one
    # momentum buffer (60) and updates in place. Adam keeps two moments (120) and a float32 step count
    # per tensor (2 × 4), and its per-tensor step (PyTorch's on the CPU and on meta tensors) holds two
    # temporaries of the weight's size at once: the square root and the denominator (2 × 48).
    model = memory_model(lambda: nn.Linear(4, 3), (4,), OPTIMIZERS[optimizer])
    step = model.step
    assert (step.weights, step.gradients, step.optimizer_state) == (60, 60, state)


def test_the_tracker_peaks_at_what_was_live_together_and_counts_a_view_once():
    tracker = PeakTracker()
    with tracker:
        keep = torch.empty(250_000, device="meta")  # 1,000,000 bytes
        tracker.track([keep], "weights")
        tracker.reset_peak()
        a, b = torch.empty(250_000, device="meta"), torch.empty(750_000, device="meta")
        del a, b
        c = torch.empty(1_250_000, device="meta")  # 5 MB, and three views of it
        views = [c[2:], c.view(1250, 1000), c.unsqueeze(0)]
    assert tracker.peak() == {"weights": 1_000_000, "gradients": 0, "optimizer_state": 0,
                              "activations": 5_000_000, "temporaries": 0}
    assert len(views) == 3


@pytest.mark.parametrize(("name", "shape", "options"), [
    ("lenet", "1x28x28", {}), ("vgg11", "3x32x32", {"width_divisor": 8}),
    pytest.param("resnet18", "3x64x64", {}, marks=pytest.mark.slow),  # over a second under MemTracker
    pytest.param("tv:mobilenet_v3_small", "3x64x64", {}, marks=pytest.mark.slow),
])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_the_simulation_peaks_as_torchs_mem_tracker_does(name, shape, options, optimizer):
    """cnnlab's tracker against PyTorch's own MemTracker on the same three phases, category by category."""
    config = model_config(name, InputSpec.parse(shape), classes=10, **options)
    make_model = partial(family_of(config.arch).build, config.arch, config.input)
    estimate = memory_model(make_model, config.input.as_tuple(), OPTIMIZERS[optimizer])
    step, one, two = _mem_tracker_phases(make_model, config.input.as_tuple(), OPTIMIZERS[optimizer])
    assert (estimate.step, estimate.at(1), estimate.at(2)) == (
        step, max(one, step, key=_total), max(two, step, key=_total))


def _total(memory: TrainingMemory) -> int:
    return memory.total


def _mem_tracker_phases(make_model, input_shape, make_optimizer) -> tuple[TrainingMemory, ...]:  # noqa: ANN001
    """The step phase and forward+backward at batch 1 and 2 of a second training step, under MemTracker."""
    from torch.distributed._tools.mem_tracker import MemTracker

    categories = {"Parameter": "weights", "Buffer": "weights", "Gradient": "gradients",
                  "Optstate": "optimizer_state", "Activation": "activations", "Temp": "temporaries",
                  "Other": "temporaries"}
    model = make_model()._apply(lambda t: torch.empty(t.shape, dtype=t.dtype, device="meta")).train()
    optimizer = make_optimizer(model.parameters())
    tracker = MemTracker()
    tracker.track_external(model, optimizer)

    def phase(run) -> TrainingMemory:  # noqa: ANN001
        tracker.reset_mod_stats()
        tracker._peak_mem.clear()
        tracker._peak_mem_snap.clear()
        run()
        parts = dict.fromkeys(categories.values(), 0)
        for snapshot in tracker.get_tracker_snapshot("peak").values():
            for kind, value in snapshot.items():
                if kind != "Total":
                    parts[categories[kind.value]] += value
        return TrainingMemory(**parts)

    def step() -> None:
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def load(size: int) -> tuple[torch.Tensor, torch.Tensor]:
        batch = torch.empty((size, *input_shape), device="meta"), torch.empty(size, dtype=torch.int64,
                                                                               device="meta")
        tracker.track_external(*batch)
        return batch

    with tracker:
        for parameter in model.parameters():
            parameter.grad = torch.zeros_like(parameter)
        step()
        batch = load(1)
        one = phase(lambda: F.cross_entropy(model(batch[0]), batch[1]).backward())
        measured_step = phase(step)
        batch = load(2)
        two = phase(lambda: F.cross_entropy(model(batch[0]), batch[1]).backward())
    return measured_step, one, two


@pytest.mark.slow  # real training steps, measured
@pytest.mark.parametrize(("name", "shape", "options", "batches"), [
    ("vgg11", "3x64x64", {"width_divisor": 4}, (4, 8)),
    ("alexnet", "3x96x96", {}, (2, 4)),
    ("resnet18", "3x96x96", {}, (4, 8)),
])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_the_estimate_is_within_15_percent_of_the_measured_peak(name, shape, options, batches, optimizer):
    config = model_config(name, InputSpec.parse(shape), classes=10, **options)
    make_optimizer = OPTIMIZERS[optimizer]
    estimate = memory_model(lambda: family_of(config.arch).build(config.arch, config.input),
                            config.input.as_tuple(), make_optimizer)
    torch.manual_seed(0)
    for batch in batches:
        model = build(config, device="cpu").train()
        opt = make_optimizer(model.parameters())
        x, y = torch.randn(batch, *config.input.as_tuple()), torch.randint(0, 10, (batch,))

        step = _training_step(model, opt, x, y)
        step()  # the first step creates the optimiser's state, as in a run
        measured = measure_peak(step, CPU, [*training_state(model, opt), x, y])
        assert estimate.at(batch).total == pytest.approx(measured, rel=0.15), (batch, measured)


def _training_step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor):
    def step() -> None:
        F.cross_entropy(model(x), y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return step


def test_an_unknown_optimizer_or_momentum_is_a_config_error():
    lenet = model_config("lenet")
    with pytest.raises(ConfigError, match="unknown optimizer 'lbfgs'; choose one of sgd, adam, adamw"):
        training_memory(lenet, "lbfgs")
    for momentum in (float("nan"), -0.1, 1.0, float("inf"), "0.9", True):
        with pytest.raises(ConfigError) as err:
            training_memory(lenet, "sgd", momentum)
        assert str(err.value) == f"momentum must be a number from 0 up to (not including) 1, got {momentum!r}"


@pytest.mark.slow  # a real run
def test_a_run_records_its_measured_peak_beside_the_estimate(tmp_path):
    from cnnlab.train.config import RunConfig, fit_input
    from cnnlab.train.fit import fit
    from cnnlab.train.memory import run_memory

    # VGG-11 ÷8 on 3×32×32: its 4096-wide classifier holds most of the memory, as at full size.
    model = fit_input(model_config("vgg11", width_divisor=8), "shapes-rgb")
    config = RunConfig(model=model, dataset="shapes-rgb", epochs=1, batch_size=16, limit_train=48,
                       limit_test=16, optimizer="adam", device="cpu", speed="fixed")
    result = fit(config)
    estimate = run_memory(config).at(16).total
    assert result.memory_estimate == estimate
    assert result.peak_memory == pytest.approx(estimate, rel=0.15)


@pytest.mark.slow  # simulations of real models in two threads
def test_a_simulation_and_an_analysis_in_another_thread_do_not_disturb_each_other():
    """The simulation's module hooks are process-wide: a server analysing another model in another
    thread meanwhile made them fail on that model's modules (seen as a Build page error). Threads are
    switched every 10 µs here so that the two interleave at every step."""
    lenet = model_config("lenet")

    def simulate() -> object:  # not training_memory: it would answer from its cache
        return memory_model(lambda: family_of(lenet.arch).build(lenet.arch, lenet.input),
                            lenet.input.as_tuple(), OPTIMIZERS["adam"]).at(2)

    alone = simulate()
    expected = analyze("vgg11").totals
    errors, done = [], threading.Event()

    def analyse_meanwhile() -> None:
        while not done.is_set():
            try:
                assert analyze("vgg11").totals == expected
            except Exception as exc:  # noqa: BLE001 - any failure is the test's subject
                errors.append(exc)
                return

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    other = threading.Thread(target=analyse_meanwhile)
    other.start()
    try:
        together = [simulate() for _ in range(20)]
    finally:
        done.set()
        other.join()
        sys.setswitchinterval(interval)
    assert errors == [] and together == [alone] * 20

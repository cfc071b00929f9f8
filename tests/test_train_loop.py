"""The training loop in-process on the built-in dataset (CPU, tiny limits)."""

import math
import re
import time

import pytest
import torch

from cnnlab.data import load_split
from cnnlab.errors import ConfigError
from cnnlab.inspect.subject import initial_model
from cnnlab.spec import model_config
from cnnlab.train.callbacks import Reporter, StopPoller, stop
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.fit import fit, out_of_memory_message
from cnnlab.train.memory import run_memory
from cnnlab.train.setup import resolve_device

# speed fixed: the path is chosen by measuring only in tests/test_speed.py (a loaded machine would probe)
SMALL = {"limit_train": 512, "limit_test": 256, "batch_size": 64, "device": "cpu", "speed": "fixed"}


def config(model: str = "lenet", **changes) -> RunConfig:
    options = changes.pop("options", {})
    return RunConfig(model=fit_input(model_config(model, **options), "shapes"),
                     **{**SMALL, "epochs": 2, **changes})


def collect(cfg: RunConfig, should_stop=None):
    reports = []
    callbacks = [Reporter(lambda step, epoch, metrics: reports.append((step, epoch, metrics)))]
    result = fit(cfg, callbacks + ([StopPoller(should_stop)] if should_stop else []))
    return result, reports


@pytest.mark.slow  # trains for epochs, seconds of CPU
def test_reports_five_times_per_epoch_then_test_accuracy():
    result, reports = collect(config(optimizer="adam", lr=0.01, epochs=3))
    assert result.status == "done" and result.epochs_done == 3 and result.steps == 3 * 8
    train = [r for r in reports if "train_loss" in r[2]]
    test = [r for r in reports if "test_acc" in r[2]]
    assert len(train) == 16 and len(test) == 3
    # Evenly spread over 8 batches (2, 4, 5, 7, 8), and in the first epoch after steps 1 and 4 too.
    assert [r[0] for r in train[:6]] == [1, 2, 4, 5, 7, 8]
    assert [r[0] for r in train[6:11]] == [10, 12, 13, 15, 16]
    assert [r[1] for r in train[:6]] == [0.125, 0.25, 0.5, 0.625, 0.875, 1.0]
    assert [r[0] for r in test] == [8, 16, 24] and [r[1] for r in test] == [1.0, 2.0, 3.0]
    # No time left before a step after the warm-up (steps 1 and 2) is timed.
    assert all(set(r[2]) == {"train_loss", "train_acc", "lr"} for r in train[:2])
    assert all(set(r[2]) == {"train_loss", "train_acc", "lr", "seconds_left"} for r in train[2:])
    # No TFLOP/s off CUDA.
    assert all(set(r[2]) == {"test_acc", "examples_per_sec", "seconds_left"} for r in test)
    assert test[-1][2]["seconds_left"] == 0.0
    assert result.final_train_loss == train[-1][2]["train_loss"]
    assert result.final_test_acc == test[-1][2]["test_acc"]
    assert result.examples_per_sec > 0 and result.tflops is None and result.device == "cpu"
    assert isinstance(result.model, torch.nn.Module)


@pytest.mark.slow  # trains for epochs, seconds of CPU
def test_lenet_learns_the_built_in_dataset_in_two_epochs():
    """The documented shapes recipe (Adam, lr 0.01, batch 64), all 6,000 training images."""
    result = fit(config(optimizer="adam", lr=0.01, limit_train=None))
    assert result.status == "done" and result.final_test_acc > 0.5, "well above chance (0.1)"


@pytest.mark.slow  # trains for epochs, seconds of CPU
def test_same_seed_same_run_other_seed_other_run():
    first, second = collect(config(epochs=1))[1], collect(config(epochs=1))[1]
    other = collect(config(epochs=1, seed=1))[1]
    losses = [[r[2]["train_loss"] for r in run if "train_loss" in r[2]] for run in (first, second, other)]
    assert losses[0] == losses[1] and losses[0] != losses[2]


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_huge_learning_rate_ends_diverged_with_the_step():
    # A ReLU network overflows; the textbook's sigmoid LeNet saturates instead and stays finite.
    result, reports = collect(config("vgg:1x8,1x16", options={"fc_width": 32}, lr=1e6))
    assert result.status == "diverged" and result.epochs_done == 0
    assert "training loss became nan at step" in result.error or "became inf" in result.error
    assert result.model is None and not any("test_acc" in r[2] for r in reports)


def test_should_stop_cancels_at_the_next_poll():
    calls = []

    def should_stop() -> bool:
        calls.append(time.perf_counter())
        return len(calls) >= 3

    result, reports = collect(config(epochs=50), should_stop)
    assert result.status == "cancelled" and result.steps < 50 * 8 and len(calls) == 3


@pytest.mark.slow  # trains for epochs, seconds of CPU
def test_should_stop_is_polled_between_report_points_once_the_poll_interval_has_passed(monkeypatch):
    # With a zero interval every training step and every test batch polls, not only the report points
    # (one per epoch here): 1 before training + 8 steps + 4 test batches per epoch. How often it polls
    # at the real interval: benchmarks/bench_runner.py.
    monkeypatch.setattr(stop, "POLL_SECONDS", 0.0)
    calls = []
    result = fit(config(reports_per_epoch=1), [StopPoller(lambda: calls.append(1) and False)])
    assert result.status == "done" and len(calls) == 1 + 2 * (8 + 4)
    monkeypatch.setattr(stop, "POLL_SECONDS", 3600.0)
    calls.clear()
    fit(config(reports_per_epoch=1), [StopPoller(lambda: calls.append(1) and False)])
    assert len(calls) == 1 + 2 + 2  # before training, then at the report points: one an epoch, steps 1 and 4


@pytest.mark.slow  # trains for epochs, seconds of CPU
def test_cosine_schedule_follows_the_closed_form():
    """Cosine annealing over T = 2 epochs × 8 steps: step k (from 0) uses lr_k = ½ · 0.1 · (1 + cos(πk/T)).
    Eight reports per epoch: one per step, so every step's rate is reported."""
    _, reports = collect(config(schedule="cosine", lr=0.1, reports_per_epoch=8))
    lrs = [r[2]["lr"] for r in reports if "lr" in r[2]]
    assert lrs == pytest.approx([0.05 * (1 + math.cos(math.pi * k / 16)) for k in range(16)], rel=1e-12)


@pytest.mark.slow  # trains for epochs, seconds of CPU
def test_onecycle_schedule_warms_up_then_anneals():
    """OneCycle over 16 steps (PyTorch's defaults: 30% warm-up, cosine both ways, from lr/25 to lr, then
    down to lr/25/10⁴): step k uses lr/25 + (lr − lr/25)·½(1 − cos(πk/up)) for k ≤ up = 0.3·16 − 1 = 3.8,
    then lr/(25·10⁴) + (lr − lr/(25·10⁴))·½(1 + cos(π(k − up)/(15 − up)))."""
    _, reports = collect(config(schedule="onecycle", lr=0.1, reports_per_epoch=8))
    lrs = [r[2]["lr"] for r in reports if "lr" in r[2]]
    low, end, up = 0.1 / 25, 0.1 / 25 / 1e4, 0.3 * 16 - 1

    def expected(k: int) -> float:
        if k <= up:
            return low + (0.1 - low) * (1 - math.cos(math.pi * k / up)) / 2
        return end + (0.1 - end) * (1 + math.cos(math.pi * (k - up) / (15 - up))) / 2

    assert lrs == pytest.approx([expected(k) for k in range(16)], rel=1e-9)


@pytest.mark.parametrize("init", ["xavier", "default"])
def test_initial_weights_are_xavier_uniform_or_pytorchs_default(init):
    """LeNet's fc1 (400 -> 120): Xavier-uniform draws from ±sqrt(6 / (400 + 120)) = ±0.1074; PyTorch's
    default (Kaiming-uniform with a = sqrt(5)) from ±1 / sqrt(400) = ±0.05. Of 48,000 draws the largest
    comes within 0.1% of the bound."""
    run = config(init=init)
    model = initial_model(run.model, run.seed, run.init)  # what a run starts from
    bound = math.sqrt(6 / (400 + 120)) if init == "xavier" else 1 / math.sqrt(400)
    weights = model.fc1.weight.detach().abs()
    assert model.fc1.weight.shape == (120, 400) and bound * 0.999 < weights.max() <= bound
    again = initial_model(run.model, run.seed, run.init)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values(),
                                                   strict=True))  # seeded: the same start every time


@pytest.mark.slow  # trains for epochs, seconds of CPU
def test_compile_warm_up_leaves_the_initial_weights_alone():
    eager = collect(config(epochs=1))[1]
    compiled = collect(config(epochs=1, compile=True))[1]
    first = [r[2]["train_loss"] for r in (eager[0], compiled[0])]
    assert first[0] == pytest.approx(first[1], rel=1e-4)


def test_unavailable_device_is_a_config_error():
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto").type in ("cpu", "mps")
        with pytest.raises(ConfigError, match="CUDA is not available"):
            fit(config(device="cuda"))


def test_out_of_memory_message_suggests_the_largest_batch_that_fits():
    vgg = RunConfig(model=fit_input(model_config("vgg11", width_divisor=4), "shapes", resize=224),
                    dataset="shapes", resize=224, batch_size=1024, optimizer="sgd")
    memory = run_memory(vgg)
    total = 8 * 2**30
    message = out_of_memory_message(vgg, "cuda:0", total)
    suggested = int(re.search(r"try batch size (\d+)", message).group(1))
    need = lambda batch: memory.at(batch).total  # noqa: E731
    assert message.startswith("CUDA out of memory at batch size 1024 on cuda:0 (8.0 GiB)")
    assert suggested < 1024 and need(suggested) <= 0.8 * total < need(2 * suggested)
    assert "even at batch size 1" in out_of_memory_message(vgg, "cuda:0", 2**20)


@pytest.mark.parametrize("compile_", [False, True])
def test_a_run_cancelled_before_its_first_step_trains_nothing(compile_):
    result = fit(config(compile=compile_), [StopPoller(lambda: True)])
    assert result.status == "cancelled" and result.steps == 0 and result.epochs_done == 0


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_normalised_training_uses_the_training_split_statistics_for_both_splits():
    cfg = config(epochs=1, normalize=True, limit_test=40)
    result = fit(cfg)
    train = load_split("shapes", True, limit=cfg.limit_train).images.double() / 255
    test = load_split("shapes", False, limit=cfg.limit_test)
    mean, std = train.mean(dim=(0, 2, 3)), train.std(dim=(0, 2, 3))  # the training split's, by hand
    x = ((test.images.double() / 255 - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)).float()
    with torch.no_grad():
        predicted = result.model.eval()(x).argmax(dim=1)
    assert result.status == "done"
    assert result.final_test_acc == (predicted == test.labels).sum().item() / 40

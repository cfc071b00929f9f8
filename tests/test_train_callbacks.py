"""The training loop's callback protocol and the callbacks a run option adds (CPU, built-in dataset)."""

import pytest
import torch

from cnnlab.data import DeviceLoader, load_split
from cnnlab.errors import ConfigError
from cnnlab.spec import model_config
from cnnlab.train.callbacks import OPTIONAL, Reporter, WeightEMA
from cnnlab.train.callbacks.ema import ema_update
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.fit import fit
from cnnlab.train.loop import Callback, StopRun
from cnnlab.train.status import Status
from cnnlab.zoo import build

SMALL = {"limit_train": 48, "limit_test": 40, "batch_size": 16, "device": "cpu", "epochs": 1,
         "speed": "fixed"}


def config(**changes) -> RunConfig:
    return RunConfig(model=fit_input(model_config("lenet"), "shapes"), **{**SMALL, **changes})


class Events(Callback):
    """Records the events it sees, and the model's weights at the start and after every step."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.weights: list[dict[str, torch.Tensor]] = []

    def _keep(self, loop) -> None:
        self.weights.append({n: p.detach().clone() for n, p in loop.setup.model.named_parameters()})

    def on_run_start(self, loop) -> None:
        self.events.append("run_start")
        self._keep(loop)

    def on_epoch_start(self, loop) -> None:
        self.events.append("epoch_start")

    def on_step_end(self, loop, loss, lr) -> None:
        self.events.append(f"step_end {loop.step}")
        self._keep(loop)

    def on_report(self, loop, step, epoch, metrics) -> None:
        self.events.append(f"report {step} {epoch} {sorted(metrics)}")

    def on_epoch_end(self, loop, metrics) -> None:
        self.events.append(f"epoch_end {sorted(metrics)}")

    def on_run_end(self, loop) -> None:
        self.events.append(f"run_end {loop.status}")


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_the_events_come_in_the_protocols_order():
    events = Events()
    result = fit(config(epochs=2, reports_per_epoch=1), [events])
    first, train = "['lr', 'train_acc', 'train_loss']", "['lr', 'seconds_left', 'train_acc', 'train_loss']"
    ended, reported = "['examples_per_sec', 'test_acc']", "['examples_per_sec', 'seconds_left', 'test_acc']"
    assert events.events == [
        "run_start",  # the first point after step 1 (no time left yet), the time left in every later report
        "epoch_start", "step_end 1", f"report 1 {1 / 3} {first}", "step_end 2", "step_end 3",
        f"report 3 1.0 {train}", f"epoch_end {ended}", f"report 3 1.0 {reported}",
        "epoch_start", "step_end 4", "step_end 5", "step_end 6", f"report 6 2.0 {train}",
        f"epoch_end {ended}", f"report 6 2.0 {reported}",
        "run_end done"]
    assert result.status == "done" and result.steps == 6


def test_a_callback_ends_the_run_with_the_status_it_raises():
    class StopAtTwo(Callback):
        def on_step_end(self, loop, loss, lr) -> None:
            if loop.step == 2:
                raise StopRun(Status.CANCELLED, "enough")

    result = fit(config(epochs=5), [StopAtTwo()])
    assert (result.status, result.error, result.steps, result.epochs_done) == ("cancelled", "enough", 2, 0)
    assert result.model is None


def test_ema_update_is_the_decayed_average_by_hand():
    """decay ½ from a = (0, 8) over the weights (2, 4), (4, 0), (8, 8): a = ½a + ½w, in exact binary
    fractions: (1, 6), (2.5, 3), (5.25, 5.5)."""
    average = [torch.tensor([0.0, 8.0])]
    for weights, expected in (([2.0, 4.0], [1.0, 6.0]), ([4.0, 0.0], [2.5, 3.0]), ([8.0, 8.0], [5.25, 5.5])):
        ema_update(average, [torch.tensor(weights)], 0.5)
        assert average[0].tolist() == expected


def test_the_ema_weights_after_three_steps_are_the_hand_computed_average():
    """After 3 SGD steps, with decay d and the weights w0 (the start) to w3 that the run took:
    step by step a_k = d·a_(k-1) + (1 − d)·w_k from a_0 = w0 (the same float32 operations: equal to the
    bit), which is the closed form d³w0 + d²(1 − d)w1 + d(1 − d)w2 + (1 − d)w3 (in float64: to float32's
    precision)."""
    events, ema = Events(), WeightEMA(0.5)
    result = fit(config(), [events, ema])
    assert result.steps == 3 and len(events.weights) == 4
    w0, w1, w2, w3 = events.weights
    for name, average in ema.model.named_parameters():
        by_hand = w0[name]
        for w in (w1, w2, w3):
            by_hand = by_hand * 0.5 + w[name] * 0.5
        assert torch.equal(average, by_hand), name
        closed = sum(w[name].double() * c for w, c in zip((w0, w1, w2, w3), (1 / 8, 1 / 8, 1 / 4, 1 / 2),
                                                            strict=True))
        torch.testing.assert_close(average.double(), closed, rtol=0, atol=1e-7)
    assert not torch.equal(ema.model.conv1.weight, result.model.conv1.weight)  # the average, not the model


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_the_ema_models_test_accuracy_is_its_own_metric_and_that_of_its_weights():
    reports: list[dict] = []
    ema = WeightEMA(0.9)
    result = fit(config(epochs=2), [ema, Reporter(lambda step, epoch, metrics: reports.append(metrics))])
    epochs = [m for m in reports if "test_acc" in m]
    assert [sorted(m) for m in epochs] == \
        [["ema_test_acc", "examples_per_sec", "seconds_left", "test_acc"]] * 2
    model = build(config().model, device="cpu")  # the EMA's weights in a fresh model, evaluated by hand
    model.load_state_dict(ema.model.state_dict())
    test = DeviceLoader(load_split("shapes", False, limit=40), 16, "cpu", shuffle=False)
    with torch.no_grad():
        correct = sum(int((model.eval()(x).argmax(1) == y).sum()) for x, y in test)
    assert epochs[-1]["ema_test_acc"] == correct / 40 and result.status == "done"


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_with_decay_zero_the_average_is_the_model_and_so_is_its_accuracy():
    reports: list[dict] = []
    fit(config(epochs=2, ema=0.0), [WeightEMA(0.0), Reporter(lambda s, e, m: reports.append(m))])
    epochs = [m for m in reports if "test_acc" in m]
    assert [m["ema_test_acc"] for m in epochs] == [m["test_acc"] for m in epochs]


def test_the_ema_option_switches_the_callback_on():
    assert [factory(config()) for factory in OPTIONAL] == [None, None, None]  # off by default (speed fixed)
    [callback] = [c for c in (factory(config(ema=0.99)) for factory in OPTIONAL) if c is not None]
    assert isinstance(callback, WeightEMA) and callback.decay == 0.99
    reports: list[dict] = []
    fit(config(ema=0.99), [Reporter(lambda s, e, m: reports.append(m))])
    assert "ema_test_acc" in reports[-1]
    assert RunConfig.from_dict(config(ema=0.99).to_dict()).ema == 0.99


@pytest.mark.parametrize(("value", "message"), [(1.0, "ema must be below 1, got 1.0"),
                                                 (-0.5, "ema must be at least 0, got -0.5"),
                                                 ("0.9", "ema must be a finite number, got '0.9'")])
def test_an_ema_decay_outside_0_to_1_is_refused(value, message):
    with pytest.raises(ConfigError, match=message):
        config(ema=value)

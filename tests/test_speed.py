"""speed="auto": the run's own first steps are timed on each path; no step is spent only timing."""

import json

import pytest
import torch

from cnnlab.errors import ConfigError
from cnnlab.spec import model_config
from cnnlab.train import speed
from cnnlab.train.callbacks import Reporter
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.fit import fit
from cnnlab.train.loop import Callback
from cnnlab.train.setup import prepare, use_channels_last

LENET = fit_input(model_config("lenet"), "shapes")
CPU = torch.device("cpu")
# 8 steps an epoch of 64: eager settles for the run's first 2 steps, is timed on steps 3-7; channels-last
# settles at step 8, again at epoch 2's start (step 9), and is timed on steps 10-14.
SMALL = {"limit_train": 512, "limit_test": 128, "batch_size": 64, "device": "cpu", "optimizer": "adam",
         "lr": 0.01}


class Steps(Callback):
    """Records, at each step's end, the step and whether it trained in channels-last; at the run's end
    the optimiser's own count of the steps it took."""

    order = 1  # before the probe: a step's format is the one it trained in

    def __init__(self) -> None:
        self.formats: list[tuple[int, bool]] = []
        self.optimizer_steps: set[int] = set()

    def on_step_end(self, loop, loss, lr) -> None:
        self.formats.append((loop.step, loop.setup.channels_last))

    def on_run_end(self, loop) -> None:
        self.optimizer_steps = {int(state["step"]) for state in loop.setup.optimizer.state.values()}


def test_the_probe_trains_on_the_steps_it_times_and_keeps_the_faster_path(tmp_path):
    steps, reports = Steps(), []
    result = fit(RunConfig(model=LENET, epochs=3, **SMALL),
                 [steps, Reporter(lambda step, epoch, metrics: reports.append(step))],
                 speed_cache=tmp_path / "speed.json")
    assert result.status == "done" and result.steps == 3 * 8
    # Every step trained: the optimiser took as many steps as the loop counted, none on the side.
    assert steps.optimizer_steps == {24} and [s for s, _ in steps.formats] == list(range(1, 25))
    formats = dict(steps.formats)
    assert not any(formats[s] for s in range(1, 8))  # eager: settling steps 1-2, timed steps 3-7
    assert all(formats[s] for s in range(8, 15))  # channels-last: settles at 8 and 9, timed 10-14
    chosen = result.speed["path"]
    assert chosen == speed.fastest(result.speed["seconds_per_step"])
    assert all(formats[s] == (chosen == "channels_last") for s in range(15, 25))
    assert sorted(result.speed["seconds_per_step"]) == ["channels_last", "eager"]
    assert result.speed["reason"].endswith("timed on 5 of this run's own steps each, by step 14)")
    cached = json.loads((tmp_path / "speed.json").read_text())
    assert list(cached.values()) == [result.speed["seconds_per_step"]]
    assert reports[0] == 1  # the first point comes after the first step, during the probe


@pytest.mark.parametrize("faster", ["eager", "channels_last"])
def test_cached_measurements_give_the_path_from_the_first_step(tmp_path, faster):
    config = RunConfig(model=LENET, epochs=1, **SMALL)
    cache = tmp_path / "speed.json"
    seconds = {"eager": 0.02, "channels_last": 0.03} if faster == "eager" else \
        {"eager": 0.03, "channels_last": 0.02}
    cache.write_text(json.dumps({speed.cache_key(LENET, CPU, 64, True): seconds}))
    steps = Steps()
    result = fit(config, [steps], speed_cache=cache)
    assert [on for _, on in steps.formats] == [faster == "channels_last"] * 8
    assert result.speed["path"] == faster and result.speed["seconds_per_step"] == seconds
    assert result.speed["reason"] == ("the fastest (eager 20.0 ms, channels_last 30.0 ms per step, measured "
                                      "on this machine by an earlier run)" if faster == "eager" else
                                      "the fastest (eager 30.0 ms, channels_last 20.0 ms per step, measured "
                                      "on this machine by an earlier run)")


@pytest.mark.parametrize("text", ["{broken", '{"%s": {"eager": 0.1}}', '{"%s": {"eager": -1, '
                                  '"channels_last": 0.1}}'])
def test_an_unreadable_or_incomplete_cache_entry_is_measured_again(tmp_path, text):
    key = speed.cache_key(LENET, CPU, 64, True)
    cache = tmp_path / "speed.json"
    cache.write_text(text.replace("%s", key))
    assert speed.read_cache(cache, key) == {}
    result = fit(RunConfig(model=LENET, epochs=2, **SMALL), speed_cache=cache)
    assert result.speed["reason"].endswith("timed on 5 of this run's own steps each, by step 14)")
    assert sorted(json.loads(cache.read_text())[key]) == ["channels_last", "eager"]


def test_a_run_shorter_than_the_probe_says_so_and_trains_every_step():
    result = fit(RunConfig(model=LENET, epochs=1, **SMALL))  # 8 steps: eager timed, channels-last not
    assert result.status == "done" and result.steps == 8
    assert result.speed["path"] == "channels_last"
    assert result.speed["reason"].startswith("the run ended while its paths were timed (eager ")
    assert result.speed["reason"].endswith(" ms per step); it trained on channels_last")


def test_switching_the_memory_format_keeps_the_parameters_and_their_values():
    setup = prepare(RunConfig(model=LENET, epochs=1, **SMALL), CPU)
    parameters = list(setup.model.parameters())
    x, y = next(iter(setup.train))
    torch.nn.functional.cross_entropy(setup.net(x), y).backward()
    setup.optimizer.step()  # Adam now holds state shaped as the weights
    values = [p.detach().clone() for p in parameters]
    use_channels_last(setup, True)
    conv = setup.model[3].weight  # conv2: 6 input channels, so the two formats differ
    assert all(a is b for a, b in zip(setup.model.parameters(), parameters, strict=True))  # the optimiser's
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert setup.optimizer.state[conv]["exp_avg"].is_contiguous(memory_format=torch.channels_last)
    assert setup.channels_last and setup.train.channels_last and setup.test.channels_last
    assert next(iter(setup.train))[0].is_contiguous(memory_format=torch.channels_last)
    assert all(torch.equal(p, v) for p, v in zip(parameters, values, strict=True))
    use_channels_last(setup, False)
    assert conv.is_contiguous() and not setup.train.channels_last
    assert all(torch.equal(p, v) for p, v in zip(parameters, values, strict=True))


def test_the_fastest_path_and_its_description():
    assert speed.fastest({"eager": 0.01, "channels_last": 0.008}) == "channels_last"
    assert speed.fastest({"eager": 0.01, "channels_last": 0.01}) == "eager"  # a tie: the earlier
    assert speed.describe({"eager": 0.0123, "channels_last": 0.0101}) == \
        "eager 12.3 ms, channels_last 10.1 ms per step"


def test_the_run_records_a_fixed_path_as_given():
    fixed = fit(RunConfig(model=LENET, limit_train=64, limit_test=32, batch_size=32, epochs=1, device="cpu",
                          channels_last=True))
    assert fixed.speed == {"path": "channels_last", "reason": "chosen by the run's options (speed fixed)"}


def test_asking_for_a_path_fixes_it_and_an_unknown_speed_is_refused():
    assert RunConfig(model=LENET, compile=True).speed == "fixed"
    assert RunConfig(model=LENET, speed="fixed").speed == "fixed" and RunConfig(model=LENET).speed == "auto"
    with pytest.raises(ConfigError, match="speed must be one of auto, fixed, got 'turbo'"):
        RunConfig(model=LENET, speed="turbo")

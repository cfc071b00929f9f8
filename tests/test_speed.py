"""speed="auto": the training path is chosen by measuring it on this machine, once per machine and model."""

import json

import pytest
import torch

from cnnlab.errors import ConfigError
from cnnlab.spec import model_config
from cnnlab.train import speed
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.fit import fit

LENET = fit_input(model_config("lenet"), "shapes")
CPU = torch.device("cpu")


def test_a_short_run_times_the_cheap_paths_but_not_compiling(tmp_path):
    cache = tmp_path / "speed.json"
    choice = speed.choose(LENET, CPU, 8, (1, 28, 28), False, steps=10, cache=cache)
    assert list(choice.seconds_per_step) == ["eager", "channels_last"] and choice.compile_seconds is None
    assert choice.path in ("eager", "channels_last") and not choice.compile
    assert choice.reason.startswith("a short run (10 steps, about ")
    assert "compiling is not worth timing" in choice.reason
    [entry] = json.loads(cache.read_text()).values()
    assert sorted(entry) == ["channels_last", "eager"]


@pytest.mark.parametrize(("steps", "path", "detail"), [
    # projected seconds = setup + steps × per step, by hand: eager 0.5 + 10 × 0.01 = 0.6,
    # channels-last 0.1 + 10 × 0.008 = 0.18; at 1000 steps 10.5 against 8.1
    (10, "channels_last", "eager 0.6 s, channels_last 0.2 s"),
    (1000, "channels_last", "eager 10.5 s, channels_last 8.1 s")])
def test_a_short_run_takes_the_faster_cheap_path_from_the_cached_measurements(tmp_path, steps, path, detail):
    cache = tmp_path / "speed.json"
    key = speed._cache_key(LENET, CPU, 8, (1, 28, 28), False)
    cache.write_text(json.dumps({key: {"eager": [0.5, 0.01], "channels_last": [0.1, 0.008]}}))
    choice = speed.choose(LENET, CPU, 8, (1, 28, 28), False, steps=steps, cache=cache)
    eager = f"{steps * 0.01:.0f}"
    reason = (f"a short run ({steps} steps, about {eager} s eager): compiling is not worth timing; "
              f"fastest projected of the others ({detail})")
    assert choice == speed.Choice(path, reason, {"eager": 0.01, "channels_last": 0.008})


def test_a_short_run_on_a_machine_where_channels_last_is_slower_stays_eager(tmp_path):
    cache = tmp_path / "speed.json"
    key = speed._cache_key(LENET, CPU, 8, (1, 28, 28), False)
    cache.write_text(json.dumps({key: {"eager": [0.0, 0.01], "channels_last": [0.0, 0.02]}}))
    assert speed.choose(LENET, CPU, 8, (1, 28, 28), False, steps=10, cache=cache).path == "eager"


@pytest.mark.slow  # compiles the model (torch.compile runs a C++ compiler)
def test_a_long_run_times_every_path_and_caches_the_measurements(tmp_path):
    cache = tmp_path / "speed.json"
    choice = speed.choose(LENET, CPU, 8, (1, 28, 28), False, steps=10**6, cache=cache)
    [entry] = json.loads(cache.read_text()).values()
    assert sorted(entry) == sorted(speed.PATHS) == sorted(choice.seconds_per_step)
    assert {path: per_step for path, (_, per_step) in entry.items()} == choice.seconds_per_step
    assert entry["compile"][0] == choice.compile_seconds


@pytest.mark.parametrize(("steps", "path", "detail"), [
    # projected seconds = setup + steps × per step, from the cached figures below, by hand
    (1000, "channels_last", "eager 10.0 s, channels_last 8.0 s, compile 24.0 s"),
    (10**5, "compile", "eager 1000.0 s, channels_last 800.0 s, compile 420.0 s"),
    (100, "channels_last", "eager 1.0 s, channels_last 0.8 s, compile 20.4 s")])
def test_the_path_with_the_shortest_projection_is_chosen_from_the_cached_measurements(tmp_path, steps, path,
                                                                                      detail):
    """Cached: eager 10 ms a step, channels-last 8 ms, compile 4 ms after 20 s of compiling; the next
    run on this machine and model times nothing and takes the shortest projection for its steps."""
    cache = tmp_path / "speed.json"
    key = speed._cache_key(LENET, CPU, 8, (1, 28, 28), False)  # this machine and model
    cache.write_text(json.dumps({key: {"eager": [0.0, 0.01], "channels_last": [0.0, 0.008],
                                       "compile": [20.0, 0.004]}}))
    choice = speed.choose(LENET, CPU, 8, (1, 28, 28), False, steps=steps, cache=cache)
    reason = f"fastest projected for {steps} steps ({detail}; compile time included)"
    measured = {"eager": 0.01, "channels_last": 0.008, "compile": 0.004}
    assert choice == speed.Choice(path, reason, measured, 20.0)


def test_an_unreadable_cache_is_measured_again(tmp_path):
    cache = tmp_path / "speed.json"
    cache.write_text("{broken")
    choice = speed.choose(LENET, CPU, 8, (1, 28, 28), False, steps=10, cache=cache)
    assert sorted(json.loads(cache.read_text())[speed._cache_key(LENET, CPU, 8, (1, 28, 28), False)]) == \
        sorted(choice.seconds_per_step) == ["channels_last", "eager"]


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_the_run_records_the_path_it_took():
    config = RunConfig(model=LENET, limit_train=64, limit_test=32, batch_size=32, epochs=1, device="cpu")
    result = fit(config)
    assert config.speed == "auto" and result.status == "done"
    assert result.speed["path"] in speed.CHEAP_PATHS
    assert result.speed["reason"].startswith("a short run (2 steps")
    fixed = fit(RunConfig(model=LENET, limit_train=64, limit_test=32, batch_size=32, epochs=1, device="cpu",
                          channels_last=True))
    assert fixed.speed == {"path": "channels_last", "reason": "chosen by the run's options (speed fixed)"}


def test_asking_for_a_path_fixes_it_and_an_unknown_speed_is_refused():
    assert RunConfig(model=LENET, compile=True).speed == "fixed"
    assert RunConfig(model=LENET, speed="fixed").speed == "fixed" and RunConfig(model=LENET).speed == "auto"
    with pytest.raises(ConfigError, match="speed must be one of auto, fixed, got 'turbo'"):
        RunConfig(model=LENET, speed="turbo")

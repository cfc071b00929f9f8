"""speed="auto": the training path is chosen by measuring it on this machine, once per machine and model."""

import json

import pytest
import torch

from cnnlab.errors import ConfigError
from cnnlab.spec import model_config
from cnnlab.train import speed
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.loop import fit

LENET = fit_input(model_config("lenet"), "shapes")
CPU = torch.device("cpu")


def test_a_short_run_stays_eager_without_timing_the_others(tmp_path):
    cache = tmp_path / "speed.json"
    choice = speed.choose(LENET, CPU, 8, (1, 28, 28), False, steps=10, cache=cache)
    assert choice.path == "eager" and not choice.compile and not choice.channels_last
    assert list(choice.seconds_per_step) == ["eager"] and choice.compile_seconds is None
    assert choice.reason.startswith("a short run (10 steps, about ") and not cache.exists()


def test_a_long_run_times_every_path_takes_the_fastest_projection_and_caches_it(tmp_path):
    cache = tmp_path / "speed.json"
    steps = 10**6
    choice = speed.choose(LENET, CPU, 8, (1, 28, 28), False, steps=steps, cache=cache)
    per_step = choice.seconds_per_step
    assert set(per_step) == set(speed.PATHS) and all(t > 0 for t in per_step.values())
    projected = {"eager": steps * per_step["eager"], "channels_last": steps * per_step["channels_last"],
                 "compile": choice.compile_seconds + steps * per_step["compile"]}
    assert choice.path == min(projected, key=projected.get)
    [entry] = json.loads(cache.read_text()).values()
    assert entry["compile"] == [choice.compile_seconds, per_step["compile"]]
    # The next run on this machine and model uses the cached measurements: make channels-last look
    # free in the cache and it is chosen, without timing anything again.
    entry["channels_last"] = [0.0, 1e-9]
    cache.write_text(json.dumps({key: entry for key in json.loads(cache.read_text())}))
    again = speed.choose(LENET, CPU, 8, (1, 28, 28), False, steps=steps, cache=cache)
    assert again.path == "channels_last" and again.seconds_per_step["channels_last"] == 1e-9
    # but compiling never pays for itself on a run too short to amortise it
    entry["compile"] = [1000.0, 1e-12]
    cache.write_text(json.dumps({key: entry for key in json.loads(cache.read_text())}))
    assert speed.choose(LENET, CPU, 8, (1, 28, 28), False, steps=100, cache=cache).path != "compile"


def test_an_unreadable_cache_is_measured_again(tmp_path):
    cache = tmp_path / "speed.json"
    cache.write_text("{broken")
    assert speed.choose(LENET, CPU, 8, (1, 28, 28), False, steps=10, cache=cache).path == "eager"


def test_the_run_records_the_path_it_took():
    config = RunConfig(model=LENET, limit_train=64, limit_test=32, batch_size=32, epochs=1, device="cpu")
    result = fit(config)
    assert config.speed == "auto" and result.status == "done"
    assert result.speed["path"] == "eager" and result.speed["reason"].startswith("a short run (2 steps")
    fixed = fit(RunConfig(model=LENET, limit_train=64, limit_test=32, batch_size=32, epochs=1, device="cpu",
                          channels_last=True))
    assert fixed.speed == {"path": "channels_last", "reason": "chosen by the run's options (speed fixed)"}


def test_asking_for_a_path_fixes_it_and_an_unknown_speed_is_refused():
    assert RunConfig(model=LENET, compile=True).speed == "fixed"
    assert RunConfig(model=LENET, speed="fixed").speed == "fixed" and RunConfig(model=LENET).speed == "auto"
    with pytest.raises(ConfigError, match="speed must be one of auto, fixed, got 'turbo'"):
        RunConfig(model=LENET, speed="turbo")

"""What a sweep varies: `--grid NAME=V1,V2` and `--random NAME=LOW..HIGH` parsed into a space, and the
space expanded into one validated run config per trial (grid × random samples × repeats).

A sweep varies run options (`lr`, `optimizer`, `batch_size`, `epochs`, `seed`, ...), the model's options
from the family registry (`width_divisor`, `depth`, `batch_norm`, ...) and the model itself
(`model=vgg:1x16,1x32;vgg:1x16,1x32,1x64`: model strings, so any family and any VGG block table).
Values are split on commas, or on semicolons for models and whenever a semicolon is present. Random
rates (`lr`, `weight_decay`) are drawn log-uniformly, other numbers uniformly, and a list of values is
a random choice among them. Draws use the base seed, so a sweep's trials are reproducible.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnnlab import limits
from cnnlab.checks import check_int
from cnnlab.errors import ConfigError, quoted
from cnnlab.families import all_options
from cnnlab.option import Option
from cnnlab.spec import ModelConfig, model_config, with_options
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.options import describe, options


@dataclass(frozen=True)
class Param:
    """A sweepable option (its values read by the option's own `parse`): a training option, or the model
    string or a model option (`model`: the trial's model changes)."""

    option: Option
    model: bool = False


MODEL = Option("model", "Model", "a model string of any family", kind=str)


def sweep_params() -> dict[str, Param]:
    """What a sweep may vary: the training options marked sweepable (cnnlab.train.options), the model
    string and every family option but the classes (the dataset sets those)."""
    return {
        **{o.name: Param(o) for o in options() if o.sweep},
        "model": Param(MODEL, model=True),
        **{name: Param(option, model=True) for name, (option, _) in all_options().items()
           if name != "classes"},
    }


@dataclass(frozen=True)
class Range:
    """A random parameter drawn from [low, high]."""

    low: float
    high: float


@dataclass(frozen=True)
class Space:
    """Grid values per parameter, random parameters (a Range or a tuple of choices), samples, repeats."""

    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    random: dict[str, Range | tuple[Any, ...]] = field(default_factory=dict)
    samples: int = 1
    repeats: int = 1

    def __post_init__(self) -> None:
        check_int("samples", self.samples, 1, limits.MAX_SWEEP_TRIALS)
        check_int("repeats", self.repeats, 1, limits.MAX_REPEATS)
        if self.samples > 1 and not self.random:
            raise ConfigError("--samples needs at least one --random parameter to draw")
        if not self.grid and not self.random and self.repeats == 1:
            raise ConfigError("a sweep needs at least one --grid or --random parameter (or --repeats)")

    @property
    def size(self) -> int:
        return math.prod(len(values) for values in self.grid.values()) * self.samples * self.repeats

    def varied(self) -> list[str]:
        """The parameters that differ between trials, in the order given (seed last, for repeats)."""
        names = [*self.grid, *self.random]
        return names + ["seed"] if self.repeats > 1 and "seed" not in names else names

    def to_dict(self) -> dict[str, Any]:
        return {"grid": {k: list(v) for k, v in self.grid.items()},
                "random": {k: [v.low, v.high] if isinstance(v, Range) else {"choices": list(v)}
                           for k, v in self.random.items()},
                "samples": self.samples, "repeats": self.repeats}


@dataclass(frozen=True)
class TrialPlan:
    """One trial: its run config, the values of the varied parameters and its group (repeats share one)."""

    config: RunConfig
    params: dict[str, Any]
    group: int


def parse_space(grid: list[str] = (), random: list[str] = (), *, samples: int = 1,
                repeats: int = 1) -> Space:
    """Parse the `--grid` and `--random` arguments; every mistake names the argument and the value."""
    parsed_grid: dict[str, tuple[Any, ...]] = {}
    parsed_random: dict[str, Range | tuple[Any, ...]] = {}
    for flag, items, target in (("--grid", grid, parsed_grid), ("--random", random, parsed_random)):
        for item in items:
            name, text = _split(flag, item)
            if name in parsed_grid or name in parsed_random:
                raise ConfigError(f"{flag} {quoted(item)}: {name} is already varied; give each "
                                  "parameter once")
            if flag == "--random" and ".." in text:
                target[name] = _range(name, text)
            else:
                values = tuple(_value(flag, name, v) for v in _values(flag, name, text))
                if len(set(values)) != len(values):
                    raise ConfigError(f"{flag} {name}: a value is repeated in {quoted(text)}")
                target[name] = values
    return Space(parsed_grid, parsed_random, samples, repeats)


def check_size(space: Space, confirmed: bool) -> int:
    """The number of trials; more than SWEEP_CONFIRM_TRIALS needs `confirmed` (--yes)."""
    size = space.size
    if size > limits.MAX_SWEEP_TRIALS:
        raise ConfigError(f"the sweep has {size} trials; cnnlab caps a sweep at {limits.MAX_SWEEP_TRIALS}")
    if size > limits.SWEEP_CONFIRM_TRIALS and not confirmed:
        raise ConfigError(f"the sweep has {size} trials (more than {limits.SWEEP_CONFIRM_TRIALS}); "
                          "pass --yes to launch it anyway")
    return size


def expand(base: dict[str, Any], space: Space) -> list[TrialPlan]:
    """One validated trial per grid point × random sample × repeat, in that order.

    `base` is a run config as a dict (`RunConfig.to_dict`); its `lr` may be None, so that each trial's
    optimiser gets its own default rate. A trial that cannot be built is a ConfigError naming it.
    """
    rng = np.random.default_rng(int(base.get("seed") or 0))
    names = list(space.grid)
    plans = []
    for point in itertools.product(*space.grid.values()):
        for _ in range(space.samples):
            params = dict(zip(names, point, strict=True)) | {name: _draw(rng, name, domain)
                                                              for name, domain in space.random.items()}
            group = len(plans) // space.repeats
            for k in range(space.repeats):
                trial = dict(params)
                if space.repeats > 1:
                    trial["seed"] = int(params.get("seed", base.get("seed") or 0)) + k
                plans.append(TrialPlan(_apply(base, trial), trial, group))
    return plans


def repeat_configs(config: RunConfig, repeats: int) -> list[RunConfig]:
    """`config` with seeds seed, seed + 1, ..., seed + repeats - 1: the runs of one group."""
    check_int("repeats", repeats, 1, limits.MAX_REPEATS)
    return [config.replace(seed=config.seed + k) for k in range(repeats)]


def _split(flag: str, item: str) -> tuple[str, str]:
    name, sep, text = str(item).partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name:
        raise ConfigError(f"{flag} {quoted(item)} is not of the form NAME=VALUES (e.g. lr=0.001,0.01)")
    if name not in (params := sweep_params()):
        raise ConfigError(f"{flag} {quoted(item)}: unknown option {quoted(name)}; a sweep can vary "
                          f"{', '.join(params)}")
    return name, text.strip()


def _values(flag: str, name: str, text: str) -> list[str]:
    model = name == MODEL.name
    values = [v.strip() for v in text.split(";" if ";" in text or model else ",")]
    if not text or any(not v for v in values):
        raise ConfigError(f"{flag} {name}: empty value in {quoted(text)}; give a list such as {name}=A,B")
    return values


def _value(flag: str, name: str, text: str) -> Any:
    option = sweep_params()[name].option
    try:
        value = option.parse(text)
        return model_config(value).name if option is MODEL else value  # the input is fitted per trial
    except ConfigError as exc:
        raise ConfigError(f"{flag} {name}: {exc}") from None


def _range(name: str, text: str) -> Range:
    option = sweep_params()[name].option
    if option.choices or option.kind not in (float, int):
        raise ConfigError(f"--random {name}: a range needs a numeric option; give choices instead, "
                          f"e.g. {name}=A,B")
    low_text, _, high_text = text.partition("..")
    low, high = (_value("--random", name, t.strip()) for t in (low_text, high_text))
    if not low < high:
        raise ConfigError(f"--random {name}: the range {quoted(text)} must go from low to high")
    if option.log and low <= 0:
        raise ConfigError(f"--random {name}: {name} is drawn log-uniformly; its range must be above 0")
    return Range(low, high)


def _draw(rng: np.random.Generator, name: str, domain: Range | tuple[Any, ...]) -> Any:
    if not isinstance(domain, Range):
        return domain[int(rng.integers(len(domain)))]
    option = sweep_params()[name].option
    if option.kind is int:
        return int(rng.integers(int(domain.low), int(domain.high) + 1))
    if option.log:
        return float(math.exp(rng.uniform(math.log(domain.low), math.log(domain.high))))
    return float(rng.uniform(domain.low, domain.high))


def _apply(base: dict[str, Any], params: dict[str, Any]) -> RunConfig:
    """`base` with `params` applied; a new model string is fitted to the dataset like the CLI does."""
    kinds = sweep_params()
    run = {k: v for k, v in params.items() if not kinds[k].model}
    model_options = {k: v for k, v in params.items() if kinds[k].model and k != "model"}
    try:
        model = ModelConfig.from_dict(base["model"])
        if "model" in params:
            model = fit_input(model_config(params["model"]), base["dataset"], base.get("resize"))
        if model_options:
            model = ModelConfig(with_options(model.arch, **model_options), model.input)
        return RunConfig.from_dict({**base, **run, "model": model.to_dict()})
    except ConfigError as exc:
        raise ConfigError(f"trial {describe(params)}: {exc}") from None

"""Every CLI contract prints what it printed when it was recorded (tests/contracts/record.py lists the
commands and the only things normalised: times, speed, pids, the machine, the run store's folder).

Numbers compare to a relative 1e-5: float32 kernels round differently on different processors (an
Intel and an AMD CPU give training losses that differ in the eighth digit); every other character, and
every whole number, must match exactly."""

import json
import math
import re
from typing import Any

import pytest

from tests.contracts import record

# A number with a fraction or an exponent (whole numbers stay exact text).
FLOAT = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")
REL_TOL = 1e-5


def same(actual: Any, recorded: Any) -> bool:
    """Whether `actual` equals `recorded`, floats (also inside text) to REL_TOL."""
    if isinstance(recorded, dict):
        return (isinstance(actual, dict) and actual.keys() == recorded.keys()
                and all(same(actual[key], value) for key, value in recorded.items()))
    if isinstance(recorded, list):
        return (isinstance(actual, list) and len(actual) == len(recorded)
                and all(same(a, r) for a, r in zip(actual, recorded, strict=True)))
    if isinstance(recorded, float) and isinstance(actual, float):
        return math.isclose(actual, recorded, rel_tol=REL_TOL, abs_tol=1e-12)
    if isinstance(recorded, str) and isinstance(actual, str):
        ours, theirs = FLOAT.split(actual), FLOAT.split(recorded)
        return ours == theirs and all(math.isclose(float(a), float(r), rel_tol=REL_TOL, abs_tol=1e-12)
                                      for a, r in zip(FLOAT.findall(actual), FLOAT.findall(recorded),
                                                            strict=True))
    return type(actual) is type(recorded) and actual == recorded


def test_same_tolerates_only_float_rounding():
    assert same({"loss": 2.479292074839274, "text": "loss 2.4792920748 at step 3"},
                {"loss": 2.479292154312134, "text": "loss 2.4792921543 at step 3"})
    assert not same({"loss": 2.4793}, {"loss": 2.4792})
    assert not same("loss 2.47929 at step 3", "loss 2.47929 at step 4")  # whole numbers exact
    assert not same("params 61706", "params 61707")
    assert not same({"a": 1}, {"a": 1.0})


@pytest.fixture(scope="module")
def outputs():
    return record.run_all()


def test_every_case_is_recorded():
    assert sorted(p.stem for p in record.HERE.glob("*.json")) == sorted(name for name, _, _ in record.CASES)


@pytest.mark.parametrize("name", [name for name, _, _ in record.CASES])
def test_contract_unchanged(outputs, name):
    recorded = json.loads(record.path(name).read_text())
    assert same(outputs[name], recorded), (outputs[name], recorded)

"""Every CLI contract prints what it printed when it was recorded (tests/contracts/record.py lists the
commands and the only things normalised: times, speed, pids, the machine, the run store's folder)."""

import json

import pytest

from tests.contracts import record


@pytest.fixture(scope="module")
def outputs():
    return record.run_all()


def test_every_case_is_recorded():
    assert sorted(p.stem for p in record.HERE.glob("*.json")) == sorted(name for name, _, _ in record.CASES)


@pytest.mark.parametrize("name", [name for name, _, _ in record.CASES])
def test_contract_unchanged(outputs, name):
    assert outputs[name] == json.loads(record.path(name).read_text())

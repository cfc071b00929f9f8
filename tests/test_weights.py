"""A run's weights file: written whole or not at all, and a bad one refused in one line (real files)."""

import os
import pickle
import re

import pytest
import torch

from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.runs import service
from cnnlab.runs.store import RunStore
from cnnlab.runs.weights import WEIGHTS_FILE, load_weights, save_weights
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.weights import state_bytes
from cnnlab.zoo import build

LENET = RunConfig(model=fit_input(model_config("lenet"), "shapes"), device="cpu")


def saved_run(tmp_path) -> tuple[RunStore, int, torch.nn.Module]:
    """A done run of LeNet whose weights were saved."""
    store = RunStore(tmp_path)
    run_id = service.record_run(store, LENET)
    model = build(LENET.model, device="cpu")
    path = save_weights(store, run_id, state_bytes(model))
    store.claim(run_id, os.getpid(), "cpu")
    store.finish(run_id, "done", weights_path=str(path))
    return store, run_id, model


def test_saved_weights_load_back_as_the_same_tensors(tmp_path):
    store, run_id, model = saved_run(tmp_path)
    loaded = load_weights(run_id, home=tmp_path)
    assert store.get(run_id).weights_path == str(store.run_dir(run_id) / WEIGHTS_FILE)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values(),
                                                   strict=True))
    assert [p.name for p in store.run_dir(run_id).iterdir()] == [WEIGHTS_FILE]  # no temporary file left


class Payload:
    """What a malicious pickle would hold: torch.load(weights_only=True) must refuse it, not build it."""

    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def write_pickle(path) -> None:
    path.write_bytes(pickle.dumps(Payload()))


def write_random(path) -> None:
    path.write_bytes(os.urandom(4096))


def write_other_tensors(path) -> None:
    torch.save({"weight": torch.zeros(3)}, path)


def write_symlink(path) -> None:
    target = path.with_name("elsewhere.pt")
    target.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(target)


@pytest.mark.parametrize(("damage", "why"), [
    (write_pickle, "cannot be read as weights (damaged, or not saved by cnnlab)"),
    (write_random, "cannot be read as weights (damaged, or not saved by cnnlab)"),
    (write_other_tensors, "does not hold this run's model's weights"),
    (write_symlink, "is missing or not a plain file")])
def test_a_bad_weights_file_is_one_line_and_exit_status_2(tmp_path, capsys, monkeypatch, damage, why):
    store, run_id, _ = saved_run(tmp_path)
    path = store.run_dir(run_id) / WEIGHTS_FILE
    damage(path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=re.escape(f"run {run_id}: its weights file {path} {why}")):
        load_weights(run_id, home=tmp_path)
    assert main(["field", "--run", str(run_id), "--layer", "conv1", "--home", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"cnnlab: error: run {run_id}: its weights file {path} {why}\n"
    assert not (tmp_path / "pwned.txt").exists()


def test_a_full_disk_says_disk_full_and_leaves_the_weights_as_they_were(tmp_path):
    """/dev/full answers every write with ENOSPC, as a full disk does: the temporary file is that device."""
    store, run_id, model = saved_run(tmp_path)
    before = (store.run_dir(run_id) / WEIGHTS_FILE).read_bytes()
    (store.run_dir(run_id) / f".{WEIGHTS_FILE}.{os.getpid()}.tmp").symlink_to("/dev/full")
    with pytest.raises(ConfigError, match=f"run {run_id}: its weights could not be saved to .*: disk full$"):
        save_weights(store, run_id, state_bytes(torch.nn.Linear(2, 2)))
    assert (store.run_dir(run_id) / WEIGHTS_FILE).read_bytes() == before  # whole, untouched
    assert [p.name for p in store.run_dir(run_id).iterdir()] == [WEIGHTS_FILE]

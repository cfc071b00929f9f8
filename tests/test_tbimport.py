"""cnnlab import tensorboard: event files written by torch's SummaryWriter, read back into the run store."""

import sqlite3
import struct

import numpy as np
import pytest

from cnnlab.cli import main
from cnnlab.runs.store import DB_FILE, RunStore

pytest.importorskip("tensorboard")
from torch.utils.tensorboard import SummaryWriter  # noqa: E402 (needs tensorboard)

LRS, SEEDS, STEPS = ("0.1", "0.01"), (0, 1, 2), 6


def loss(lr: str, seed: int, step: int) -> float:
    return 2.0 / (1 + step * float(lr) * 10) + seed / 100


def acc(lr: str, seed: int, step: int) -> float:
    return min(1.0, step * float(lr) + seed / 50)


@pytest.fixture
def logdir(tmp_path):
    """runs/lr=LR_seed=S for 3 seeds × 2 learning rates: train_loss every step, test_acc every other."""
    root = tmp_path / "runs"
    for lr in LRS:
        for seed in SEEDS:
            with SummaryWriter(str(root / f"lr={lr}_seed={seed}")) as writer:
                for step in range(STEPS):
                    writer.add_scalar("train_loss", loss(lr, seed, step), step)
                    if step % 2:
                        writer.add_scalar("test_acc", acc(lr, seed, step), step)
    return root


def import_cli(*args: str) -> int:
    return main(["import", "tensorboard", *args])


def test_six_folders_import_as_six_runs_in_two_groups_with_every_scalar(logdir, tmp_path, capsys):
    home = tmp_path / "home"
    assert import_cli(str(logdir), "--group-by", "lr=([^_]+)", "--home", str(home)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "imported 6 runs in 2 groups; 0 already imported; 0 damaged event files skipped"
    store = RunStore(home)
    runs = {run.name: run for run in store.list_runs()}
    assert sorted(runs) == sorted(f"lr={lr}_seed={s}" for lr in LRS for s in SEEDS)
    for lr in LRS:
        members = [runs[f"lr={lr}_seed={s}"] for s in SEEDS]
        assert {run.group_id for run in members} == {min(run.id for run in members)}
        for seed, run in zip(SEEDS, members, strict=True):
            assert run.status == "done" and run.source["kind"] == "tensorboard"
            assert run.source["group"] == lr and run.source["folder"] == str(logdir / run.name)
            # Event files hold float32: every scalar, at its step (the x value), exactly as stored.
            expected = sorted([(step, float(step), "train_loss", float(np.float32(loss(lr, seed, step))))
                               for step in range(STEPS)]
                              + [(step, float(step), "test_acc", float(np.float32(acc(lr, seed, step))))
                                 for step in range(1, STEPS, 2)])
            rows = store.metrics(run.id)
            assert sorted((m["step"], m["epoch"], m["name"], m["value"]) for m in rows) == expected
            assert run.final_train_loss == float(np.float32(loss(lr, seed, STEPS - 1)))
            assert run.final_test_acc == float(np.float32(acc(lr, seed, STEPS - 1)))
            assert f"lr={lr}_seed={seed}: run {run.id} (group {lr})" in out


def test_a_second_import_adds_nothing(logdir, tmp_path, capsys):
    home = str(tmp_path / "home")
    assert import_cli(str(logdir), "--group-by", "lr=([^_]+)", "--home", home) == 0
    before = [(run.id, run.name, run.group_id) for run in RunStore(home).list_runs()]
    capsys.readouterr()
    assert import_cli(str(logdir), "--group-by", "lr=([^_]+)", "--home", home) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "imported 0 runs in 0 groups; 6 already imported; 0 damaged event files skipped"
    ids = {name: run_id for run_id, name, _ in before}
    assert f"lr=0.1_seed=2: already imported as run {ids['lr=0.1_seed=2']}" in out
    assert [(run.id, run.name, run.group_id) for run in RunStore(home).list_runs()] == before
    assert len(RunStore(home).metrics_frame([i for i, _, _ in before])) == 6 * (STEPS + STEPS // 2)


def last_record_start(data: bytes) -> int:
    """Where the last TFRecord of `data` begins, walking the framing by hand: an 8-byte little-endian
    length, a 4-byte CRC, the data, a 4-byte CRC."""
    offset = start = 0
    while offset < len(data):
        start = offset
        offset += 8 + 4 + struct.unpack("<Q", data[offset:offset + 8])[0] + 4
    assert offset == len(data)
    return start


def test_a_truncated_event_file_is_named_and_skipped_and_the_rest_imported(logdir, tmp_path, capsys):
    damaged_dir = logdir / "lr=0.1_seed=9"
    with SummaryWriter(str(damaged_dir)) as writer:
        for step in range(STEPS):
            writer.add_scalar("train_loss", 1.0, step)
    (event_file,) = damaged_dir.iterdir()
    data = event_file.read_bytes()
    event_file.write_bytes(data[:-7])  # the last record cut short
    home = tmp_path / "home"
    assert import_cli(str(logdir), "--group-by", "lr=([^_]+)", "--home", str(home)) == 0
    captured = capsys.readouterr()
    assert captured.err == (f"cnnlab: warning: skipped the damaged event file {event_file}: truncated or "
                            f"corrupt: its records end at byte {last_record_start(data):,} of "
                            f"{len(data) - 7:,}\n")
    assert captured.out.splitlines()[-1] == ("imported 6 runs in 2 groups; 0 already imported; "
                                             "1 damaged event files skipped")
    assert "lr=0.1_seed=9" not in {run.name for run in RunStore(home).list_runs()}


@pytest.mark.parametrize(("args", "message"), [
    (["{missing}"], "cnnlab: error: {missing} does not exist"),
    (["{logdir}", "--group-by", "lr=([^_]+"],
     "cnnlab: error: --group-by 'lr=([^_]+' is not a regular expression: missing ), unterminated subpattern "
     "at position 3"),
    (["{logdir}", "--group-by", "lr=[^_]+"],
     "cnnlab: error: --group-by 'lr=[^_]+' has no group: put the part that names the group in parentheses, "
     "e.g. 'lr=([^_]+)'"),
    (["{empty}"], "cnnlab: error: {empty} holds no TensorBoard event files (events.out.tfevents.*)"),
    (["{file}"], "cnnlab: error: {file} is not a folder"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_recorded(logdir, tmp_path, capsys, args, message):
    home = tmp_path / "home"
    with SummaryWriter(str(tmp_path / "earlier")) as writer:
        writer.add_scalar("train_loss", 0.5, 0)
    assert import_cli(str(tmp_path / "earlier"), "--home", str(home)) == 0
    before = sqlite3.connect(home / DB_FILE).execute("SELECT COUNT(*) FROM runs").fetchone()
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    paths = {"missing": tmp_path / "missing", "logdir": logdir, "empty": tmp_path / "empty",
             "file": tmp_path / "file"}
    capsys.readouterr()
    assert import_cli(*(a.format(**paths) for a in args), "--home", str(home)) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", message.format(**paths) + "\n")
    assert sqlite3.connect(home / DB_FILE).execute("SELECT COUNT(*) FROM runs").fetchone() == before == (1,)

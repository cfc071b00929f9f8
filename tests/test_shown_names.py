"""A run name long enough to hurt a terminal is shown cut (the store keeps it whole)."""

import json

import cnnlab
from cnnlab.cli import main
from cnnlab.limits import MAX_SHOWN_NAME
from cnnlab.tables import clipped


def test_clipped_keeps_short_text_and_cuts_long_text_with_its_length():
    assert clipped("a" * MAX_SHOWN_NAME) == "a" * MAX_SHOWN_NAME
    assert clipped("abcdef", 3) == "abc… (6 characters)"


def test_a_megabyte_run_name_is_one_short_cell_in_runs_and_kept_whole(tmp_path, capsys):
    name = "n" * 1_000_000  # the probe's was 10 MB (the same path, ten times slower to store)
    for _ in range(2):  # the probe's 99 MB: ten such rows, each padded to the widest name
        cnnlab.track.start(name, home=tmp_path).finish()
    assert main(["runs", "--home", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    shown = "n" * MAX_SHOWN_NAME + "… (1,000,000 characters)"
    assert [line.split("  ")[1] for line in lines[2:]] == [shown] * 2
    assert len(lines) == 4 and max(map(len, lines)) < 1000  # each row one short line, not a padded megabyte
    assert main(["runs", "show", "1", "--home", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"run 1: {shown}  [done]"
    assert main(["runs", "--home", str(tmp_path), "--format", "json"]) == 0
    assert [run["name"] for run in json.loads(capsys.readouterr().out)] == [name] * 2

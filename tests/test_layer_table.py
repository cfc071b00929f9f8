"""The layer table as text and Markdown (Summary.to_text / to_markdown, `summary --format markdown`)."""

from torch import nn

import cnnlab
from cnnlab.cli import main


def markdown_rows(text: str) -> list[list[str]]:
    """The cells of a Markdown table's lines (those starting with '|'), the rule line left out."""
    rows = [line[2:-2].split(" | ") for line in text.splitlines() if line.startswith("| ")]
    return rows


def test_lenet_as_markdown_matches_the_hand_derivation():
    text = cnnlab.analyze("lenet").to_markdown()
    lines = text.splitlines()
    assert lines[1] == "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"  # numbers right-aligned
    header, *rows = markdown_rows(text)
    assert header == ["Layer", "Type", "Output shape", "Kernel", "Stride", "Pad", "Params", "MACs", "Output",
                      "RF", "Jump"]
    assert len(rows) == 12
    # conv2 by hand: 16·(6·25 + 1) = 2,416 params, 10·10·16·150 = 240,000 MACs, 16·10·10·4 B = 6.25 KiB,
    # field 6 + (5 − 1)·2 = 14 with a jump of 2
    assert rows[3] == ["conv2", "Conv2d", "16×10×10", "5", "1", "0", "2,416", "240.00K", "6.2 KiB", "14", "2"]
    assert rows[7] == ["fc1", "Linear", "120", "", "", "", "48,120", "48.00K", "480 B", "-", "-"]
    assert "- Total params: 61,706 (61.71K), trainable 61,706" in lines
    assert lines[-1] == "- Receptive field: 16 input pixels at pool2"


def test_nested_rows_are_marked_and_a_pipe_in_a_name_is_escaped():
    """Markdown drops leading spaces, so a row one level down starts with '· ' (the text table indents)."""
    net = nn.Sequential()
    net.add_module("a|b", nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()))
    summary = cnnlab.analyze(net, (1, 8, 8))
    header, conv, relu = markdown_rows(summary.to_markdown())
    assert (conv[0], relu[0]) == ("· a\\|b.0", "· a\\|b.1") and len(conv) == len(header) == 11
    assert conv[6:8] == ["20", "648"]  # 2·(1·9 + 1) params, 6·6·2·9 MACs
    assert summary.to_text().splitlines()[2].startswith("  a|b.0  Conv2d")


def test_the_text_copy_is_the_summary_commands_table(capsys):
    assert main(["summary", "lenet"]) == 0
    assert capsys.readouterr().out == cnnlab.analyze("lenet").to_text() + "\n"
    assert main(["summary", "lenet", "--format", "markdown"]) == 0
    assert capsys.readouterr().out == cnnlab.analyze("lenet").to_markdown() + "\n"

"""Error messages quote user input shortened, list few unknown keys, and refuse 28.0 as a whole number."""

import json

import pytest

from cnnlab.cli import main
from cnnlab.errors import ConfigError, listed, quoted, shortened
from cnnlab.spec import ModelConfig, model_config
from cnnlab.train.config import RunConfig
from dashboard.model_state import from_params


def test_quoted_keeps_short_values_and_cuts_long_ones():
    assert quoted("vgg11") == "'vgg11'"
    assert quoted("x" * 60) == repr("x" * 60)
    assert quoted("x" * 10_000_000) == "'" + "x" * 59 + "… (10,000,000 characters)"
    assert quoted(10**5000) == f"a whole number of {(10**5000).bit_length():,} bits"


def test_shortened_cuts_only_words_past_the_limit():
    short = "argument --epochs: invalid int value: 'abc'"
    assert shortened(short) == short
    word = "z" * 63  # QUOTE_CHARS + 3: the shortest word that is cut
    assert shortened(f"unknown: {word}") == f"unknown: {'z' * 60}… (63 characters)"
    assert shortened("y" * 62) == "y" * 62


@pytest.mark.parametrize("argv", [["train", "lenet", "--epochs", "9" * 100_000 + "x"],
                                  ["summary", "lenet", "--" + "z" * 100_000]])
def test_argparse_echoes_a_long_argument_shortened(capsys, argv):
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2 and out == "" and err.count("\n") == 1
    assert len(err) < 250 and "… (100,00" in err


def test_listed_names_five_then_counts_the_rest():
    assert listed(["a", "b"]) == "a, b"
    many = [f"k{i:06d}" for i in range(200_000)]
    assert listed(many) == "k000000, k000001, k000002, k000003, k000004 and 199,995 more"


def test_a_10_mb_model_name_is_echoed_shortened(capsys):
    status = main(["summary", "z" * 10_000_000])
    _, err = capsys.readouterr()
    assert status == 2 and err.count("\n") == 1 and len(err) < 2000
    assert "'" + "z" * 59 + "… (10,000,000 characters)" in err


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_200k_unknown_keys_in_a_spec_file_are_counted_not_listed():
    data = model_config("lenet").to_dict()
    data["arch"].update({f"k{i:06d}": 1 for i in range(200_000)})
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict(json.loads(json.dumps(data)))
    assert str(info.value) == ("unknown lenet field(s): k000000, k000001, k000002, k000003, k000004 "
                               "and 199,995 more")
    with pytest.raises(ConfigError, match=r"and 199,995 more$"):
        RunConfig.from_dict({"model": model_config("lenet").to_dict(),
                             **{f"k{i}": 1 for i in range(200_000)}})


@pytest.mark.parametrize("value", [28.0, "28.0", "28"])
def test_a_whole_number_written_otherwise_is_refused_in_a_spec_file(value):
    data = model_config("lenet").to_dict()
    data["input"] = [1, value, 28]
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict(json.loads(json.dumps(data)))
    hint = " (write 28, without the decimal point)" if value == 28.0 else ""
    assert str(info.value) == f"input height must be a whole number, got {value!r}{hint}"


def test_a_float_in_a_run_config_file_is_refused():
    with pytest.raises(ConfigError, match=r"^epochs must be a whole number, got 2\.0 \(write 2, without"):
        RunConfig.from_dict({"model": model_config("lenet").to_dict(), "epochs": 2.0})


@pytest.mark.parametrize("args", [["--classes", "28.0"], ["--input", "1x28.0x28"]])
def test_a_float_cli_flag_is_refused(capsys, args):
    status = main(["summary", "vgg11", *args])
    out, err = capsys.readouterr()
    assert status == 2 and out == "" and err.startswith("cnnlab: error: ") and err.count("\n") == 1
    assert "28.0" in err


@pytest.mark.parametrize(("params", "message"), [
    ({"model": "vgg11", "classes": "28.0"}, "URL parameter classes='28.0' is not a whole number"),
    ({"model": "vgg11", "input": "1x28.0x28"}, "input '1x28.0x28' is not of the form CxHxW (e.g. 1x28x28)"),
    ({"model": "q" * 100_000}, "unknown model '" + "q" * 59 + "… (100,000 characters)"),
])
def test_url_params_refuse_floats_and_quote_shortened(params, message):
    with pytest.raises(ConfigError) as info:
        from_params(params)
    assert str(info.value).startswith(message) and len(str(info.value)) < 3000

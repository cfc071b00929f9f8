"""One option type and one text form: the families' options, the training options and the sweep space
read a value's text with `Option.parse` and write it with `Option.format`."""

import pytest

from cnnlab.errors import ConfigError
from cnnlab.families import all_options
from cnnlab.option import Option
from cnnlab.sweep import parse_space
from cnnlab.sweep.space import sweep_params
from cnnlab.train.options import OPTIONS

FLAG = Option("flag", "Flag", "a flag", kind=bool)
WHOLE = Option("count", "Count", "a count", low=1, high=10)
NUMBER = Option("rate", "Rate", "a rate", kind=float)
CHOICE = Option("depth", "Depth", "a depth", choices=(18, 34))
TEXT = Option("word", "Word", "a word", kind=str)


@pytest.mark.parametrize(("option", "text", "value"), [
    (FLAG, "1", True), (FLAG, "TRUE", True), (FLAG, "yes", True),
    (FLAG, "0", False), (FLAG, "false", False), (FLAG, "No", False),
    (WHOLE, "12", 12), (WHOLE, "-3", -3),  # bounds are validation's, not the parser's
    (NUMBER, "0.001", 0.001), (NUMBER, "1e-4", 1e-4), (NUMBER, "3", 3.0),
    (CHOICE, "34", 34), (TEXT, "any text", "any text"),
])
def test_parse_reads_each_kind(option, text, value):
    parsed = option.parse(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(("option", "text", "message"), [
    (FLAG, "maybe", "'maybe' is not 1/true/yes or 0/false/no"),
    (WHOLE, "1.5", "'1.5' is not a whole number"), (WHOLE, "1_000", "'1_000' is not a whole number"),
    (NUMBER, "abc", "'abc' is not a number"), (NUMBER, "inf", "'inf' is not a finite number"),
    (CHOICE, "20", "'20' is not one of 18, 34"),
])
def test_parse_refuses_text_of_another_kind_in_one_line(option, text, message):
    with pytest.raises(ConfigError) as raised:
        option.parse(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(("option", "value", "text"), [
    (FLAG, True, "1"), (FLAG, False, "0"), (WHOLE, 7, "7"), (NUMBER, 0.003, "0.003"), (CHOICE, 18, "18"),
    (TEXT, "w", "w"), (WHOLE, None, ""),
])
def test_format_writes_what_parse_reads_back(option, value, text):
    assert option.format(value) == text
    if value is not None:
        assert option.parse(text) == value


def test_the_families_the_training_table_and_the_sweep_share_the_one_type():
    assert all(isinstance(option, Option) for option, _ in all_options().values())
    assert all(isinstance(option, Option) for option in OPTIONS.values())
    params = sweep_params()
    assert params["batch_norm"].option is all_options()["batch_norm"][0]
    assert params["lr"].option is OPTIONS["lr"]


def test_a_sweep_reads_flags_and_numbers_with_the_options_parser():
    space = parse_space(["batch_norm=yes,0", "lr=0.01,1e-3"], ["epochs=2,3"])
    assert space.grid == {"batch_norm": (True, False), "lr": (0.01, 0.001)}
    assert space.random == {"epochs": (2, 3)}
    with pytest.raises(ConfigError) as raised:
        parse_space(["batch_norm=maybe"])
    assert str(raised.value) == "--grid batch_norm: 'maybe' is not 1/true/yes or 0/false/no"

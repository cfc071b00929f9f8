"""A bounded fuzz of `cnnlab summary` (benchmarks/fuzz.py runs 10,000 cases): whatever the model string
and options, the CLI accepts (exit 0) or refuses in one line with exit 2; nothing else escapes."""

import contextlib
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnlab.cli import main

NUMBER = st.one_of(st.integers(1, 64).map(str), st.sampled_from(["0", "-1", "1.5", "x", "", "99999999999"]))
SEQ_TOKEN = st.one_of(
    st.builds(lambda k, o, s: f"c{k}-{o}{s}", NUMBER, NUMBER,
              st.sampled_from(["", "p1", "psame", "s2", "d2", "g2", "nb", "s0", "p", "ceil"])),
    st.builds(lambda m, k, s: f"{m}{k}{s}", st.sampled_from("ma"), NUMBER,
              st.sampled_from(["", "s2", "ceil", "p9"])),
    st.builds(lambda n: f"fc{n}", NUMBER),
    st.sampled_from(["relu", "sig", "tanh", "bn", "gap", "flat", "drop0.5", "drop2", "drop", "", "??"]))
MODEL = st.one_of(
    st.sampled_from(["lenet", "alexnet", "vgg11", "resnet18", "tv:resnet18", "tv:nope", "seq:", "vgg:",
                     "![x](http://h/p.png)", "💥"]),
    st.lists(st.tuples(NUMBER, NUMBER), max_size=6).map(
        lambda blocks: "vgg:" + ",".join(f"{n}x{c}" for n, c in blocks)),
    st.lists(SEQ_TOKEN, max_size=8).map(lambda t: "seq:" + ",".join(t)),
    st.text(max_size=12))
OPTION = st.one_of(
    st.tuples(st.just("--input"), st.one_of(
        st.builds(lambda c, h, w: f"{c}x{h}x{w}", st.integers(-1, 4), st.integers(-1, 300),
                  st.integers(-1, 300)),
        st.text(max_size=8))),
    st.tuples(st.sampled_from(["--classes", "--width-divisor", "--fc-width", "--levels"]), NUMBER),
    st.tuples(st.just("--depth"), st.sampled_from(["18", "34", "50", "7", "x"])),
    st.tuples(st.just("--stem"), st.sampled_from(["imagenet", "cifar", "none"])),
    st.tuples(st.just("--format"), st.sampled_from(["table", "json", "csv", "xml"])))


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=MODEL, options=st.lists(OPTION, max_size=4), batch_norm=st.booleans())
def test_any_model_string_and_options_are_accepted_or_refused_in_one_line(model, options, batch_norm):
    argv = ["summary", model, *(part for pair in options for part in pair)]
    argv += ["--batch-norm"] if batch_norm else []
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    message = err.getvalue()
    if status == 0:
        assert message == ""
    else:
        assert status == 2 and message.startswith("cnnlab: error: ") and message.count("\n") == 1, message

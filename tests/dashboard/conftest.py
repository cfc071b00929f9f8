"""AppTest fixtures: a fresh run store and a fresh analysis cache for each test, no workers left after it."""

import re
import string
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import kill_workers


def text_node(markdown: str) -> str:
    """The text CommonMark makes of `markdown` without other markup: a backslash before an ASCII
    punctuation character stands for that character (the pages escape user text that way,
    dashboard/text.py)."""
    return re.sub(f"\\\\([{re.escape(string.punctuation)}])", r"\1", markdown)


def unescape(markdown: str) -> str:
    """What a reader sees of `markdown`: its text, without the invisible zero-width spaces."""
    return text_node(markdown).replace("\u200b", "")


def shown(element) -> str:
    """The text a Markdown element (st.error, st.caption, ...) shows."""
    return unescape(element.value)


APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "data"))
    st.cache_data.clear()
    yield
    kill_workers(tmp_path / "home")


@pytest.fixture
def new_app():
    """A factory of fresh sessions (each like a new browser tab)."""
    return lambda: AppTest.from_file(APP, default_timeout=60)


@pytest.fixture
def app(new_app) -> AppTest:
    return new_app()


def train_page(app: AppTest, model: str = "lenet") -> AppTest:
    """`app` opened on the Train page of a link to `model`, drawn without an exception."""
    app.query_params["model"] = model
    app.switch_page("views/train.py").run()
    assert not app.exception
    return app

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


def warm_up(progress) -> None:  # noqa: ANN001
    """A job that does nothing (a worker process imports this module by name)."""


APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(scope="session", autouse=True)
def warm_pool():
    """The server's worker pool started once, before the first page: its fork server imports torch, which
    no page's own timeout should pay for."""
    from dashboard import jobs

    assert jobs.pool().submit("quick", "warm", "warm", warm_up).wait(600)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "data"))
    # AppTest lets no time pass for a progress bar to refresh: pages wait for the worker pool's answer
    monkeypatch.setattr("dashboard.jobs.INLINE_WAIT_S", 300)
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

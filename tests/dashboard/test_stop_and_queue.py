"""Train page: several runs queue up, the Stop button cancels the watched one, a new tab sees them all."""

import contextlib
import time

import pytest

from cnnlab import ConfigError
from cnnlab.runs import service
from cnnlab.runs.store import TERMINAL, RunStore
from tests.dashboard.conftest import shown, unescape


def wait_for(run_id: int, statuses: set[str], timeout: float = 120) -> str:
    store, deadline = RunStore(), time.monotonic() + timeout
    while (status := store.get(run_id).status) not in statuses:
        assert time.monotonic() < deadline, f"run {run_id} stayed {status}"
        time.sleep(0.2)
    return status


def launch(app, name: str) -> int:
    app.number_input(key="epochs").set_value(200)
    app.text_input(key="run_name").input(name)
    next(b for b in app.button if b.label == "Launch run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    return max(run.id for run in RunStore().list_runs())


@pytest.mark.slow  # launches workers from the page
def test_runs_queue_and_the_stop_button_cancels_the_watched_one(new_app):
    app = new_app()
    app.query_params["model"] = "lenet"
    app.switch_page("views/train.py").run()
    first = launch(app, "long one")
    second = launch(app, "long two")
    try:
        # The second launch leaves the watcher on the first run and says the second waits behind it.
        assert app.session_state["watch_run"] == first
        assert any(f"Run #{second} queued" in shown(i) and f"waiting behind #{first}" in shown(i)
                   for i in app.info)
        wait_for(first, {"running"})
        assert RunStore().get(second).status == "queued"  # one run at a time per device
        deadline = time.monotonic() + 300  # a liveness bound: the speed probe on a busy machine
        while not RunStore().metrics(first):  # past its preparation: training and reporting
            assert time.monotonic() < deadline, f"run {first} reported nothing"
            time.sleep(0.2)
        app.run()
        assert any("2 runs queued or running" in c.value for c in app.caption)
        assert app.get("progress")[0].proto.text.startswith("running · epoch")

        # The choice of run survives the periodic refresh; a queued run says what it waits for.
        app.selectbox(key="watch_run").select(second).run()
        app.run()
        assert app.selectbox(key="watch_run").value == second
        assert unescape(app.get("progress")[0].proto.text).startswith(
            f"queued · waiting behind #{first} · epoch 0.00")
        # The labels carry no status that could lag behind the progress line.
        assert app.selectbox(key="watch_run").options == [f"#{second} long two", f"#{first} long one"]

        # A new tab (a new session) watches the runs that are going, not a blank page.
        other = new_app()
        other.switch_page("views/train.py").run()
        assert other.selectbox(key="watch_run").value in (first, second)

        app.button(key=f"stop_{second}").click().run()
        assert not app.exception
        assert wait_for(second, TERMINAL) == "cancelled"

        # Stop clicked just after the run ended elsewhere (the CLI, another tab): a note, not a crash.
        app.selectbox(key="watch_run").select(first).run()
        service.cancel(first)
        assert wait_for(first, TERMINAL) == "cancelled"
        app.button(key=f"stop_{first}").click().run()
        assert not app.exception
        app.run()
        assert "cancelled" in app.get("progress")[0].proto.text
    finally:
        for run_id in (first, second):
            with contextlib.suppress(ConfigError):  # already ended
                service.cancel(run_id)
            wait_for(run_id, TERMINAL)

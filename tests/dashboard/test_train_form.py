"""The Train page's form and its sweep panel, drawn from the training option table: widgets and bounds,
out-of-range values answered with the range, the final accuracy, the preparing state, the form in the link."""

import math
import re
import subprocess
import sys
import time

import pytest

from cnnlab.runs import service
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from cnnlab.train.options import OPTIONS, TrainOption, options
from dashboard.train.widgets import help_text
from tests.dashboard.conftest import shown, unescape


def open_train(new_app, **params):
    app = new_app()
    app.query_params["model"] = "lenet"
    for name, value in params.items():
        app.query_params[name] = value
    app.switch_page("views/train.py").run()
    assert not app.exception
    return app


def launch_button(app):
    return next(b for b in app.button if b.label == "Launch run")


def widget(app, key):
    return next(w for kind in ("number_input", "selectbox", "checkbox", "text_input")
                for w in app.get(kind) if w.key == key)


def errors(app) -> list[str]:
    return [shown(e) for e in app.error]


def outside(option: TrainOption) -> list[float]:
    """A value just below the lower bound and just above the upper one."""
    step = 1 if option.kind is int else 1e-3
    low = option.low if option.open_low else option.low - step
    high = option.high if option.open_high else option.high + step
    return [low, high]


def inside(option: TrainOption) -> list[float]:
    step = 1 if option.kind is int else 1e-3
    return [option.low + step if option.open_low else option.low,
            option.high - step if option.open_high else option.high]


@pytest.mark.parametrize("prefix", ["", "sweep_"])
def test_every_page_option_is_a_widget_with_the_tables_label_help_and_bounds(new_app, prefix):
    app = open_train(new_app)
    shown_options = [o for o in options() if o.section]
    # The page draws the dataset (only those on this machine) and the resize (a few sizes) itself.
    own = {"dataset", "resize"} if not prefix else set()
    assert {w.key for kind in ("number_input", "selectbox", "checkbox") for w in app.get(kind)
            if w.key.startswith(prefix) and w.key[len(prefix):] in OPTIONS} == {prefix + o.name
                                                                                for o in shown_options} | own
    assert [widget(app, name).label for name in sorted(own)] == [OPTIONS[name].label for name in sorted(own)]
    for option in shown_options:
        box = widget(app, prefix + option.name)
        assert (box.label, box.help) == (option.label, help_text(option))
        if option.choices:
            assert tuple(box.options) == tuple(map(str, option.choices))
    for option in (o for o in shown_options if o.low is not None):
        key = prefix + option.name
        for value in outside(option):
            widget(app, key).set_value(value)
            submit(app, prefix)
            got = f"{value:,}" if option.kind is int else f"{value:g}"
            assert errors(app) == [f"{option.label} must be {option.bounds()}, got {got}."], key
            assert RunStore().list_runs() == []
        for value in inside(option):
            widget(app, key).set_value(value)
            app.run()
            assert errors(app) == [], key
        widget(app, key).set_value(option.default if option.default is not None else inside(option)[0])


def submit(app, prefix):
    """Rerun the page as a change does (Train) or as the sweep panel's Launch does."""
    if prefix:
        app.button(key="sweep_launch").click().run()
    else:
        app.run()
        assert launch_button(app).disabled


@pytest.mark.parametrize("field, label, bounds, values", [
    ("epochs", "Epochs", "a whole number from 1 to 1,000", {0: "0", -1: "-1", 10**9: "1,000,000,000"}),
    ("batch_size", "Batch size", "a whole number from 1 to 65,536",
     {0: "0", -1: "-1", 10**9: "1,000,000,000"}),
    ("lr", "Learning rate", "a number above 0 and at most 1,000,000", {0.0: "0", -1.0: "-1", 1e9: "1e+09"}),
])
@pytest.mark.slow  # launches workers from the page
def test_an_out_of_range_value_is_answered_with_its_range_and_no_stale_banner(new_app, field, label, bounds,
                                                                              values):
    app = open_train(new_app, epochs="1", limit_train="64")
    launch_button(app).click().run()
    (run,) = RunStore().list_runs()
    # The banner names the run as the 'Watch run' list does.
    assert [shown(s) for s in app.success][0].startswith(f"Run #1 launched: {run.name}, input 1x28x28.")
    assert app.selectbox(key="watch_run").options == [f"#1 {run.name}"]
    for value, text in values.items():
        widget(app, field).set_value(value).run()
        assert errors(app) == [f"{label} must be {bounds}, got {text}."]
        assert not app.success and not app.info  # the last launch's banner is gone
        assert launch_button(app).disabled  # and a disabled button cannot be clicked
    assert [run.id for run in RunStore().list_runs()] == [1]


def test_a_finished_run_shows_its_final_test_accuracy(app):
    store = RunStore()
    run_id = service.create_run(RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1))
    store.log_metrics(run_id, 4, 1.0, {"train_loss": 0.4, "test_acc": 0.907})
    store.finish(run_id, "done", final_test_acc=0.907, final_train_acc=0.93, epochs_done=1.0)
    app.switch_page("views/train.py").run()
    assert unescape(app.get("progress")[0].proto.text) == "done · epoch 1.00 of 1 · test acc 0.907"


def test_a_started_run_without_a_point_yet_is_preparing_with_its_time(app):
    store = RunStore()
    run_id = service.create_run(RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=2))
    # A live process holds it, as a worker does between its claim and its first report.
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        assert store.claim(run_id, holder.pid, "cpu")
        preparing_then_training(app, store, run_id)
    finally:
        holder.kill()
        holder.wait()


def preparing_then_training(app, store, run_id):
    started, before = store.get(run_id).started_at, time.time()
    app.switch_page("views/train.py").run()
    after = time.time()
    text = unescape(app.get("progress")[0].proto.text)
    assert re.fullmatch(r"running · preparing \(loading the data, timing eager, channels-last and compiled "
                        r"steps; compiling takes a while\) for \d+ s · on cpu", text), text
    seconds = int(re.search(r"for (\d+) s", text).group(1))
    assert math.floor(before - started) <= seconds <= math.ceil(after - started)  # since its start
    store.log_metrics(run_id, 1, 0.2, {"train_loss": 2.3})
    app.run()
    assert unescape(app.get("progress")[0].proto.text).startswith("running · epoch 0.20 of 2")


@pytest.mark.slow  # launches workers from the page
def test_the_form_lives_in_the_link_and_a_reload_keeps_it(new_app):
    app = open_train(new_app)
    widget(app, "epochs").set_value(3)
    widget(app, "optimizer").select("sgd")
    widget(app, "lr").set_value(None)
    widget(app, "normalize").check()
    app.selectbox(key="resize").select("32").run()
    assert app.query_params["epochs"] == "3" and app.query_params["optimizer"] == "sgd"
    assert app.query_params["lr"] == "" and app.query_params["normalize"] == "1"
    assert app.query_params["resize"] == "32" and app.query_params["model"] == "lenet"
    linked = ("epochs", "optimizer", "lr", "normalize", "resize")
    reloaded = open_train(new_app, **{k: app.query_params[k] for k in linked})
    assert (widget(reloaded, "epochs").value, widget(reloaded, "optimizer").value,
            widget(reloaded, "lr").value, widget(reloaded, "normalize").value,
            reloaded.selectbox(key="resize").value) == (3, "sgd", None, True, "32")
    # An empty rate is kept as typed, and named: the page launches nothing it does not show.
    assert errors(reloaded) == ["Learning rate must be a number above 0 and at most 1,000,000, got nothing."]
    assert launch_button(reloaded).disabled
    widget(reloaded, "lr").set_value(0.05).run()
    launch_button(reloaded).click().run()
    config = RunStore().get(reloaded.session_state["watch_run"]).config
    assert (config["epochs"], config["optimizer"], config["lr"], config["normalize"], config["resize"]) == \
        (3, "sgd", 0.05, True, 32)


@pytest.mark.parametrize("prefix", ["", "sweep_"])
def test_an_empty_learning_rate_is_an_error_and_launches_nothing(new_app, prefix):
    app = open_train(new_app)
    widget(app, prefix + "lr").set_value(None)
    submit(app, prefix)
    assert errors(app) == ["Learning rate must be a number above 0 and at most 1,000,000, got nothing."]
    assert RunStore().list_runs() == []
    widget(app, prefix + "limit_train").set_value(None)  # empty here means all images: no error
    widget(app, prefix + "lr").set_value(0.01)
    app.run()
    assert errors(app) == []


def test_a_bad_value_in_the_link_is_named_and_the_page_keeps_working(new_app):
    app = open_train(new_app, epochs="abc", batch_size="64")
    assert errors(app) == ["The link's training options could not all be used: URL parameter epochs='abc' is "
                           "not a whole number from 1 to 1,000"]
    assert widget(app, "epochs").value == 10 and widget(app, "batch_size").value == 64


def test_one_more_row_in_the_table_is_a_widget_on_the_page_and_in_the_sweep_panel(new_app, extra_option):
    app = open_train(new_app)
    for key in ("ema_decay", "sweep_ema_decay"):
        box = widget(app, key)
        assert (box.label, box.value, box.help) == (
            "EMA decay", 0.0,
            "Decay of an exponential moving average of the weights: a number from 0 to below 1.")
    widget(app, "ema_decay").set_value(1.0).run()
    assert errors(app) == ["EMA decay must be a number from 0 to below 1, got 1."]
    widget(app, "ema_decay").set_value(0.5).run()
    assert not errors(app) and app.query_params["ema_decay"] == "0.5"


def test_the_speed_choice_is_on_the_page_and_reaches_the_run(new_app):
    app = open_train(new_app, epochs="1", limit_train="64")
    box = widget(app, "speed")
    assert (box.label, tuple(box.options), box.value) == ("Speed", ("auto", "fixed"), "auto")
    box.select("fixed").run()
    assert app.query_params["speed"] == "fixed"
    launch_button(app).click().run()
    assert RunStore().get(app.session_state["watch_run"]).config["speed"] == "fixed"

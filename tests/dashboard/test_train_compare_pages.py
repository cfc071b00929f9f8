"""The Train and Compare pages against a real run store and real training processes."""

import json
import time

import pytest

from cnnlab import ConfigError
from cnnlab.runs import service
from cnnlab.runs.store import TERMINAL, RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input
from tests.dashboard.conftest import shown, train_page


def wait_for_end(run_id: int, timeout: float = 120) -> None:
    store = RunStore()
    deadline = time.monotonic() + timeout
    while store.get(run_id).status not in TERMINAL:
        assert time.monotonic() < deadline, f"run {run_id} did not end within {timeout} s"
        time.sleep(0.3)


def traces(chart):
    return json.loads(chart.proto.spec)["data"]


def launch_tiny_run(new_app, model="lenet", name="tiny"):
    """Open a fresh session on a link to `model`, launch a two-epoch run from the Train page."""
    app = train_page(new_app(), model)
    app.number_input(key="epochs").set_value(2)
    app.number_input(key="batch_size").set_value(64)
    app.number_input(key="limit_train").set_value(256)
    app.text_input(key="run_name").input(name)
    launch_button(app).click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    run_id = app.session_state["watch_run"]
    wait_for_end(run_id)
    return app, run_id


@pytest.mark.slow  # launches workers from the page
def test_a_launched_run_is_recorded_and_its_curve_drawn(new_app):
    app, run_id = launch_tiny_run(new_app)
    run = RunStore().get(run_id)
    assert run.status == "done" and run.name == "tiny" and run.model == "lenet" and run.dataset == "shapes"
    assert run.config["epochs"] == 2 and run.config["limit_train"] == 256
    app.run()
    chart = next(c for c in app.get("plotly_chart") if "Run " in json.loads(c.proto.spec)["layout"]["title"]
                 ["text"])
    names = [t["name"] for t in traces(chart)]
    assert names == ["train loss", "train acc", "test acc"]
    test_acc = next(t for t in traces(chart) if t["name"] == "test acc")
    assert test_acc["x"] == [1.0, 2.0]
    assert "done" in app.get("progress")[0].proto.text


def test_a_run_on_a_missing_dataset_is_not_offered_and_the_page_explains(app):
    app.switch_page("views/train.py").run()
    options = app.selectbox(key="dataset").options
    assert options[0].startswith("shapes") and not any(o.startswith("cifar10") for o in options)
    assert any("Not found on this machine: fashion-mnist, mnist, cifar10" in c.value for c in app.caption)


def launch_button(app):
    return next(b for b in app.button if b.label == "Launch run")


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@pytest.mark.parametrize("model, fix", [("vgg11", "64"), ("alexnet", "96")])  # their recipes' sizes
def test_the_launch_check_runs_before_launch_and_offers_the_fix(app, model, fix):
    train_page(app, model)
    assert app.selectbox(key="resize").value == fix and not app.error  # the model's own size at first
    app.selectbox(key="resize").select("native").run()  # shapes' 28 px: too small for five (three) pools
    # the message is the launch's own check, word for word
    with pytest.raises(ConfigError) as raised:
        service.check_runnable(RunConfig(model=fit_input(model_config(model), "shapes"), dataset="shapes"))
    assert [shown(e) for e in app.error] == [f"Cannot launch: {raised.value}"]
    assert launch_button(app).disabled
    app.button(key="fix_resize").click().run()
    assert app.selectbox(key="resize").value == fix and not app.error
    assert not launch_button(app).disabled
    assert RunStore().list_runs() == []


@pytest.mark.parametrize("link, resize", [
    ({"model": "lenet"}, "native"),  # LeNet's 28 px is shapes' own
    ({"model": "seq:c3-8,relu,m2,fc10", "input": "1x224x224"}, "224"),  # no recipe size: the Build model's
    ({"model": "vgg11"}, "64"),  # VGG's recipe trains at 64 px, whatever the Build page's 224
])
def test_resize_starts_at_the_models_own_size(app, link, resize):
    app.query_params.update(link)
    app.switch_page("views/train.py").run()
    assert not app.exception and not app.error
    assert app.selectbox(key="resize").value == resize
    assert "resize" not in app.query_params  # the page's first value: not in its link


def test_the_dataset_list_shows_the_sizes_found_on_disk(app, tmp_path):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, count in (("train-images-idx3-ubyte", 4000), ("t10k-images-idx3-ubyte", 1000),
                        ("train-labels-idx1-ubyte", 4000), ("t10k-labels-idx1-ubyte", 1000)):
        (raw / name).write_bytes(bytes([0, 0, 8, 3]) + count.to_bytes(4, "big"))  # an IDX header
    app.switch_page("views/train.py").run()
    labels = {o.split(" — ")[0]: o for o in app.selectbox(key="dataset").options}
    assert labels["mnist"] == "mnist — MNIST: 28×28 grey handwritten digits, 4,000 + 1,000 images"
    assert labels["shapes"].endswith("6,000 + 1,000 images")


@pytest.mark.slow  # launches workers from the page
def test_the_advanced_options_reach_the_run_and_the_model_is_in_the_link(new_app):
    app = new_app()
    app.query_params["model"] = "vgg:1x8,1x16"
    app.switch_page("views/train.py").run()
    assert app.query_params["model"] == "vgg:1x8,1x16"
    app.number_input(key="seed").set_value(7)
    app.number_input(key="weight_decay").set_value(0.0005)
    app.selectbox(key="schedule").select("cosine")
    app.selectbox(key="init").select("default")
    app.checkbox(key="normalize").check()
    app.number_input(key="epochs").set_value(1)
    app.number_input(key="limit_train").set_value(64)
    launch_button(app).click().run()
    assert not app.exception and not app.error
    config = RunStore().get(app.session_state["watch_run"]).config
    assert (config["seed"], config["weight_decay"], config["schedule"], config["init"], config["normalize"]) \
        == (7, 0.0005, "cosine", "default", True)
    wait_for_end(app.session_state["watch_run"])


@pytest.mark.slow  # launches workers from the page
def test_compare_overlays_two_runs_and_diffs_their_configs(app, new_app):
    _, first = launch_tiny_run(new_app, "lenet", "lenet run")
    _, second = launch_tiny_run(new_app, "vgg:1x8,1x16", "small vgg")
    app.switch_page("views/compare.py").run()
    assert not app.exception
    table = next(df.value for df in app.dataframe if "best test acc" in df.value.columns)
    assert sorted(table["id"]) == [first, second]
    overlay = next(c for c in app.get("plotly_chart")
                   if json.loads(c.proto.spec)["layout"]["title"]["text"] == "Selected runs on shared axes")
    names = [t["name"] for t in traces(overlay)]
    assert len(names) == 8  # three curves per run, and one legend entry per run
    assert f"#{first} lenet run: test acc" in names and f"#{second} small vgg: train loss" in names
    assert [t["name"] for t in traces(overlay) if t.get("showlegend") is not False] == \
        [f"#{second} small vgg", f"#{first} lenet run"]
    settings, provenance = (table.value for table in app.table)
    assert list(settings.loc["Model"]) == ["vgg:1x8,1x16", "lenet"]
    assert "Epochs" not in settings.index  # equal fields are left out
    assert app.expander[-1].label.startswith("Provenance: ")  # folded away below the settings


@pytest.mark.slow  # launches workers from the page
def test_compare_deletes_a_run_only_after_confirmation(app, new_app):
    _, run_id = launch_tiny_run(new_app)
    app.switch_page("views/compare.py").run()
    assert app.button(key="delete_button").disabled
    app.checkbox(key=f"delete_confirm_{run_id}").check().run()
    app.button(key="delete_button").click().run()
    assert not app.exception
    with pytest.raises(Exception, match=f"no run with id {run_id}"):
        RunStore().get(run_id)
    assert any("No runs yet" in i.value for i in app.info)




@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_a_confirmation_never_carries_over_to_another_run(app):
    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1)
    store = RunStore()
    keep, doomed = (service.create_run(config, name=name) for name in ("keep me", "delete me"))
    for run_id in (keep, doomed):
        store.finish(run_id, "done")
    app.switch_page("views/compare.py").run()
    app.selectbox(key="delete_run").set_value(doomed).run()
    app.checkbox(key=f"delete_confirm_{doomed}").check().run()
    store.delete(doomed)  # meanwhile, from another tab or the CLI
    app.run()
    assert app.button(key="delete_button").disabled  # the run now offered has no confirmation
    assert [run.name for run in store.list_runs()] == ["keep me"]


def test_a_corrupt_run_store_is_reported_not_raised_and_left_alone(app, tmp_path):
    store_file = tmp_path / "home" / "runs.sqlite"
    store_file.parent.mkdir(parents=True)
    store_file.write_bytes(b"not a database" * 100)
    for page in ("views/train.py", "views/compare.py"):
        app.switch_page(page).run()
        assert not app.exception
        assert any("The run store cannot be read" in shown(e) and "runs.sqlite" in shown(e)
                   for e in app.error)
    assert store_file.read_bytes() == b"not a database" * 100


def test_filters_narrow_the_table_and_say_when_nothing_matches(app):
    store = RunStore()
    for model, status in (("lenet", "done"), ("vgg:1x8,1x16", "failed")):
        config = RunConfig(model=fit_input(model_config(model), "shapes"), epochs=1)
        store.finish(service.create_run(config), status)
    app.switch_page("views/compare.py").run()
    runs_table = lambda: next(df.value for df in app.dataframe if "best test acc" in df.value.columns)  # noqa: E731
    app.multiselect(key="filter_status").select("failed").run()
    assert list(runs_table()["model"]) == ["vgg:1x8,1x16"]
    app.multiselect(key="filter_model").select("lenet").run()
    assert not app.exception and runs_table().empty
    assert any("No run matches the filters" in i.value for i in app.info)


def test_the_runs_table_says_what_each_run_trained_and_rebuilds_its_model(app):
    store = RunStore()
    small_vgg = RunConfig(model=fit_input(model_config("vgg11", width_divisor=4), "shapes", 32),
                          dataset="shapes", resize=32, optimizer="sgd", lr=0.05, batch_size=64, epochs=1)
    lenet = RunConfig(model=fit_input(model_config("lenet"), "shapes"), optimizer="adam", lr=0.01, epochs=1)
    vgg_id = service.create_run(small_vgg, name="small vgg")
    lenet_id = service.create_run(lenet, name="lenet")
    store.log_metrics(lenet_id, 1, 1.0, {"train_loss": 0.9, "train_acc": 0.6, "test_acc": 0.625})
    store.finish(lenet_id, "done")
    store.finish(vgg_id, "cancelled")
    app.switch_page("views/compare.py").run()
    assert not app.exception
    table = next(df.value for df in app.dataframe if "best test acc" in df.value.columns).set_index("id")
    columns = ["model", "optimizer", "lr", "batch size", "width ÷", "best test acc"]
    assert table.loc[vgg_id, columns].tolist() == ["vgg11 --width-divisor 4", "sgd", 0.05, 64, "4", "—"]
    assert table.loc[lenet_id, columns].tolist() == ["lenet", "adam", 0.01, 128, "—", "0.625"]
    # the words rebuild the run's model through the CLI's own parsing and fitting
    from cnnlab.cli import train as train_cli
    parser = __import__("argparse").ArgumentParser()
    train_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["train", *table.loc[vgg_id, "model"].split(), "--dataset", "shapes",
                              "--resize", "32"])
    assert train_cli.run_config_from_args(args).model == small_vgg.model


def test_the_selected_runs_export_as_one_csv_and_one_json(tmp_path):
    import csv
    import io

    from dashboard.run_exports import selected_configs_json, selected_metrics_csv

    store = RunStore()
    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1)
    first, second, other = (service.create_run(config, name=name) for name in ("one", "two", "left out"))
    store.log_metrics(first, 5, 0.5, {"train_loss": 2.0})
    store.log_metrics(second, 5, 0.5, {"train_loss": 1.5})
    store.log_metrics(other, 5, 0.5, {"train_loss": 9.0})
    runs = [store.get(first), store.get(second)]
    rows = list(csv.DictReader(io.StringIO(selected_metrics_csv(store, runs))))
    assert [(r["run_id"], r["run_name"], r["step"], r["name"], float(r["value"])) for r in rows] == [
        (str(first), "one", "5", "train_loss", 2.0), (str(second), "two", "5", "train_loss", 1.5)]
    configs = json.loads(selected_configs_json(runs))
    assert [(c["id"], c["name"], c["model"]) for c in configs] == [(first, "one", "lenet"),
                                                                   (second, "two", "lenet")]
    assert RunConfig.from_dict(configs[0]["config"]) == config

"""The Train page's Sweep section and Compare's groups and sweeps, against a real run store."""

import json
import statistics
import sys
import time

import pytest

from cnnlab.runs import service
from cnnlab.runs.store import TERMINAL, RunStore
from cnnlab.runs.weights import WEIGHTS_FILE
from cnnlab.spec import model_config
from cnnlab.sweep import create_sweep, parse_space
from cnnlab.train.config import RunConfig, fit_input
from tests.dashboard.conftest import shown, train_page


def charts(app, key_part: str) -> list[dict]:
    """The figures whose layout title contains `key_part`."""
    return [json.loads(c.proto.spec) for c in app.get("plotly_chart")
            if key_part in json.loads(c.proto.spec)["layout"]["title"]["text"]]


def wait_until(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def open_sweep_section(new_app, model: str = "lenet"):
    app = train_page(new_app(), model)
    app.number_input(key="sweep_epochs").set_value(1)
    app.number_input(key="sweep_limit_train").set_value(256)
    return app


def launch(app):
    app.button(key="sweep_launch").click().run()
    assert not app.exception


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
@pytest.mark.parametrize(("grid", "message"), [
    ("lr=abc", "--grid lr: 'abc' is not a number"),
    ("width_divisor=2", "trial width_divisor=2: option 'width-divisor' does not apply to lenet"),
    ("lr=", "--grid lr: empty value"),
])
def test_bad_sweep_input_is_an_error_and_records_nothing(new_app, grid, message):
    app = open_sweep_section(new_app)
    app.text_area(key="sweep_grid").input(grid)
    launch(app)
    assert [shown(e) for e in app.error] == [message] or message in shown(app.error[0])
    assert RunStore().list_runs() == [] and RunStore().list_sweeps() == []


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_an_unreachable_cluster_is_an_error_and_the_page_keeps_working(new_app):
    app = open_sweep_section(new_app)
    app.text_area(key="sweep_grid").input("lr=0.01,0.1")
    app.text_input(key="sweep_cluster").input("127.0.0.1:1")
    launch(app)
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in shown(app.error[0])
    assert RunStore().list_runs() == []
    app.text_input(key="sweep_cluster").input("")
    app.text_area(key="sweep_grid").input("")
    app.number_input(key="sweep_repeats").set_value(2)
    launch(app)
    assert not app.error and len(RunStore().list_runs()) == 2


@pytest.mark.slow  # launches workers from the page
def test_without_ray_a_sweep_is_an_error_and_repeats_still_work(new_app, monkeypatch):
    class NoRay:  # makes `import ray` fail in this process, as on a machine without Ray
        def find_spec(self, name, path=None, target=None):
            if name == "ray" or name.startswith("ray."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    for name in [n for n in sys.modules if n == "ray" or n.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [NoRay(), *sys.meta_path])
    app = open_sweep_section(new_app)
    app.text_area(key="sweep_grid").input("lr=0.01,0.1")
    launch(app)
    assert shown(app.error[0]).startswith("sweeps run on Ray, which is not installed here")
    assert "pip install 'ray[tune]==2.60.0'" in shown(app.error[0])
    assert RunStore().list_runs() == []
    app.text_area(key="sweep_grid").input("")
    app.number_input(key="sweep_repeats").set_value(2)
    launch(app)
    assert not app.error


@pytest.mark.slow  # launches workers from the page
def test_repeats_launch_one_group_and_the_live_view_draws_its_band(new_app):
    app = open_sweep_section(new_app)
    app.number_input(key="sweep_repeats").set_value(2)
    launch(app)
    runs = RunStore().list_runs()
    assert [(r.config["seed"], r.group_id) for r in runs] == [(1, runs[1].id), (0, runs[1].id)]
    assert any("launched as one group" in s.value for s in app.success)
    wait_until(lambda: all(r.status in TERMINAL for r in RunStore().list_runs()))
    app.run()
    (band,) = charts(app, "Train loss: groups as mean ± std")
    fill, mean = band["data"]
    metrics = RunStore().metrics_frame([r.id for r in runs])
    loss = metrics[metrics["name"] == "train_loss"].groupby("epoch")["value"].mean()
    assert mean["y"] == pytest.approx(loss.tolist()) and fill["fill"] == "toself"
    (each,) = charts(app, "Every trial: train loss")
    assert len(each["data"]) == 2
    # Like every run launched from the dashboard, each repeat saved its weights: they open on See.
    store = RunStore()
    for run in store.list_runs():
        assert run.weights_path == str(store.run_dir(run.id) / WEIGHTS_FILE)
        assert sum(p.numel() for p in service.load_weights(run.id).parameters()) == run.params == 61706


@pytest.mark.slow  # launches a Ray sweep from the page
def test_a_sweep_launched_from_the_page_is_recorded_and_can_be_cancelled(new_app):
    app = open_sweep_section(new_app)
    app.number_input(key="sweep_epochs").set_value(100)
    app.text_area(key="sweep_grid").input("lr=0.01,0.02")
    launch(app)
    (sweep,) = RunStore().list_sweeps()
    assert [(r.config["lr"], r.config["save_weights"]) for r in RunStore().sweep_runs(sweep.id)] == [
        (0.01, True), (0.02, True)]  # its trials save their weights when they finish
    assert any(f"Sweep {sweep.id} launched: 2 trials on this machine" in s.value for s in app.success)
    app.button(key="cancel_sweep").click().run()
    wait_until(lambda: RunStore().get_sweep(sweep.id).status in TERMINAL, 60)
    assert RunStore().get_sweep(sweep.id).status == "cancelled"
    assert [r.status for r in RunStore().sweep_runs(sweep.id)] == ["cancelled"] * 2


def record_runs(store, config, accuracies_per_run, **tags):
    """Runs as a worker would record them: per-epoch test accuracy and final results."""
    ids = []
    for accuracies in accuracies_per_run:
        run_id = store.create_run(config.to_dict(), name="lenet on shapes", model="lenet", dataset="shapes",
                                  params=61706, macs=416520)
        for epoch, acc in enumerate(accuracies, 1):
            store.log_metrics(run_id, epoch * 10, float(epoch), {"test_acc": acc, "train_loss": 1 - acc})
        store.finish(run_id, "done", epochs_done=len(accuracies), final_test_acc=accuracies[-1])
        ids.append(run_id)
    return ids


@pytest.mark.slow  # over a second of CPU: outside the fast tier's budget
def test_compare_draws_groups_as_bands_and_reports_mean_and_std(app):
    store = RunStore()
    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=2)
    group = record_runs(store, config, [[0.5, 0.8], [0.6, 0.9], [0.4, 0.7]])
    store.tag_group(group)
    (single,) = record_runs(store, config, [[0.3, 0.4]])
    app.switch_page("views/compare.py").run()
    assert not app.exception
    app.multiselect(key="band_singles").select(single).run()
    (band,) = charts(app, "Test accuracy: groups as mean ± std")
    fill, mean, alone = band["data"]
    assert mean["y"] == pytest.approx([0.5, 0.8]) and alone["y"] == [0.3, 0.4]
    std = statistics.stdev([0.8, 0.9, 0.7])
    assert fill["y"][1] == pytest.approx(0.8 + std) and fill["y"][2] == pytest.approx(0.8 - std)
    summary = next(df.value for df in app.dataframe if "runs" in df.value.columns)
    assert summary["final test acc"].tolist() == [f"0.800 ± {std:.3f}"] and summary["runs"].tolist() == [3]
    app.radio(key="band_spread").set_value("minmax").run()
    (band,) = charts(app, "groups as min–max")
    assert band["data"][0]["y"][:2] == pytest.approx([0.6, 0.9])


def test_a_seed_at_chance_is_named_and_each_seed_drawn_by_default(app):
    store = RunStore()
    config = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=2)  # 10 classes: chance 0.1
    group = record_runs(store, config, [[0.5, 0.95], [0.09, 0.086], [0.6, 0.97]])
    store.tag_group(group)
    app.switch_page("views/compare.py").run()
    assert not app.exception
    assert [shown(w) for w in app.warning if "chance" in shown(w)] == [
        f"run #{group[1]} stayed at chance (final test acc 0.086, chance 0.100). A mean ± std band over "
        "these and the others spans both outcomes, so each seed is drawn first (choose a band above to see "
        "it)."]
    (figure,) = charts(app, "Test accuracy: groups as each seed")
    *seeds, mean = figure["data"]
    assert [trace["y"] for trace in seeds] == [[0.5, 0.95], [0.09, 0.086], [0.6, 0.97]]
    assert [trace.get("showlegend") for trace in seeds] == [True, False, False]
    assert mean["y"] == pytest.approx([(0.5 + 0.09 + 0.6) / 3, (0.95 + 0.086 + 0.97) / 3])
    app.radio(key="band_spread").set_value("std").run()
    (band,) = charts(app, "groups as mean ± std")
    assert [trace.get("fill") for trace in band["data"]] == ["toself", None]  # the band, then the mean


def test_compare_sweep_view_shows_trials_best_parallel_coordinates_and_each_parameter(app):
    store = RunStore()
    base = RunConfig(model=fit_input(model_config("vgg:1x8,1x16"), "shapes"), epochs=2).to_dict()
    sweep_id = create_sweep(base, parse_space(["lr=0.001,0.1", "width_divisor=1,2"], []))
    finals = [0.7, 0.9, 0.5, 0.6]
    for run, final in zip(store.sweep_runs(sweep_id), finals, strict=True):
        store.log_metrics(run.id, 10, 1.0, {"test_acc": final - 0.1})
        store.log_metrics(run.id, 20, 2.0, {"test_acc": final})
        store.finish(run.id, "done", epochs_done=2, final_test_acc=final)
    store.finish_sweep(sweep_id, "done")
    app.switch_page("views/compare.py").run()
    assert not app.exception
    runs = store.sweep_runs(sweep_id)
    best = runs[1]
    assert best.config["lr"] == 0.001 and best.config["model"]["arch"]["width_divisor"] == 2
    assert any(t.value == f"Best trial: #{best.id} lr=0.001 width_divisor=2 — test accuracy 0.900"
               for t in app.text)
    (curves,) = charts(app, "Every trial: test accuracy")
    assert len(curves["data"]) == 4 and curves["data"][1]["line"]["width"] == 4
    (parallel,) = charts(app, "Hyper-parameters → final test accuracy")
    labels = [d["label"] for d in parallel["data"][0]["dimensions"]]
    assert labels == ["lr (log10)", "width_divisor", "final test acc"]
    assert parallel["data"][0]["dimensions"][2]["values"] == finals
    assert len(charts(app, "Test accuracy against lr")) == 1
    assert len(charts(app, "Test accuracy against width_divisor")) == 1
    # An architecture sweep also gets accuracy against size (beside the Compare page's own for the runs).
    assert len(charts(app, "Test accuracy against params")) == 2


def test_a_one_parameter_sweep_has_no_empty_parallel_plot_and_names_its_nodes_by_number(app):
    store = RunStore()
    base = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1).to_dict()
    sweep_id = create_sweep(base, parse_space(["lr=0.001,0.01,0.1"], []))
    ray_nodes = ["a1" * 28, "b2" * 28, "a1" * 28]  # Ray's node ids: 56 hex digits
    for run, node, final in zip(store.sweep_runs(sweep_id), ray_nodes, (0.5, 0.7, 0.6), strict=True):
        store.log_metrics(run.id, 10, 1.0, {"test_acc": final})
        store.update(run.id, node=node, examples_per_sec=7244.3607)
        store.finish(run.id, "done", epochs_done=1, final_test_acc=final)
    store.finish_sweep(sweep_id, "done")
    app.switch_page("views/compare.py").run()
    assert not app.exception
    assert charts(app, "Hyper-parameters → final test accuracy") == []
    assert len(charts(app, "Test accuracy against lr")) == 1
    table = next(df.value for df in app.dataframe if "node" in df.value.columns)
    assert table["node"].tolist() == ["node 1", "node 2", "node 1"]

"""Compare's config diff reads as words: options by their labels, numbers rounded, provenance apart."""

from cnnlab.reports.config_diff import config_diff
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig
from dashboard.run_exports import model_of


def recorded(store, name, provenance, **options):
    config = RunConfig.from_dict({"model": model_config("lenet").to_dict(), **options})
    run_id = store.create_run(config.to_dict(), name=name, model="lenet", dataset="shapes")
    store.update(run_id, provenance=provenance)
    return store.get(run_id)


def test_the_diff_names_options_by_label_rounds_numbers_and_keeps_provenance_apart(tmp_path):
    store = RunStore(tmp_path)
    slow = {"torch": "2.14.1", "speed": {"path": "eager", "steps_per_sec": 0.16398436433337338}}
    fast = {"torch": "2.14.1", "speed": {"path": "compiled", "steps_per_sec": 7244.3607}}
    runs = [recorded(store, "a", slow, lr=0.001, optimizer="adam"),
            recorded(store, "b", fast, lr=0.01, optimizer="adam")]
    settings, provenance = config_diff(runs, model_of)
    assert list(settings.columns) == ["#1 a", "#2 b"]
    assert settings.to_dict("index") == {"Learning rate": {"#1 a": "0.001", "#2 b": "0.01"}}
    assert provenance.to_dict("index") == {
        "speed.path": {"#1 a": "eager", "#2 b": "compiled"},
        "speed.steps_per_sec": {"#1 a": "0.164", "#2 b": "7244"}}  # torch is the same: left out


def test_one_run_shows_every_setting_its_model_and_input(tmp_path):
    store = RunStore(tmp_path)
    settings, provenance = config_diff([recorded(store, "a", {"torch": "2.14.1"}, epochs=3)], model_of)
    assert settings.loc["Model", "#1 a"] == "lenet" and settings.loc["Input", "#1 a"] == "1×28×28"
    assert settings.loc["Epochs", "#1 a"] == "3" and settings.loc["Batch size", "#1 a"] == "128"
    assert provenance.to_dict("index") == {"torch": {"#1 a": "2.14.1"}}

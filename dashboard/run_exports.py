"""What the Compare page exports about the selected runs, and the model words of a run (no Streamlit)."""

from __future__ import annotations

import json

from cnnlab import ConfigError, ModelConfig
from cnnlab.model_words import model_words
from cnnlab.runs.store import Run, RunStore

MISSING = "—"
OWN = "cnnlab"  # the source of a run cnnlab trained; external runs have their Run.source kind
SETTING_TYPES = {int: (int,), float: (int, float), str: (str,)}


def source_of(run: Run) -> str:
    """'cnnlab' for cnnlab's own runs, else where the external run comes from ('track', 'tensorboard')."""
    return str(run.source.get("kind")) if run.source else OWN


def setting(run: Run, kind: type, *path: str) -> int | float | str | None:
    """The value at `path` in the run's config if it is a `kind` (an external run's config is whatever
    its loop recorded), else None."""
    value: object = run.config
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, SETTING_TYPES[kind]) and not isinstance(value, bool) else None


def model_of(run: Run) -> str:
    """The model words that rebuild the run's model on the command line ('vgg11 --width-divisor 4');
    for an external run, the model it recorded."""
    if run.source:
        return run.model or MISSING
    try:
        return model_words(ModelConfig.from_dict(run.config["model"]).arch)
    except (ConfigError, KeyError, TypeError):  # a config this version cannot read: the recorded name
        return run.model or MISSING


def selected_metrics_csv(store: RunStore, runs: list[Run]) -> str:
    """The metrics of `runs` in one long CSV: run_id, run_name, step, epoch, name, value."""
    frame = store.metrics_frame([run.id for run in runs])
    frame.insert(1, "run_name", frame["run_id"].map({run.id: run.name for run in runs}))
    return frame.to_csv(index=False)


def selected_configs_json(runs: list[Run]) -> str:
    """The runs' ids, names, owners, model words and full configs, as one JSON list."""
    return json.dumps([{"id": run.id, "name": run.name, "owner": run.owner, "model": model_of(run),
                        "config": run.config}
                       for run in runs], indent=1)

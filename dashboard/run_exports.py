"""What the Compare page exports about the selected runs, and the model words of a run (no Streamlit)."""

from __future__ import annotations

import json

from cnnlab import ConfigError, ModelConfig
from cnnlab.model_words import model_words
from cnnlab.reports.runs_table import MISSING
from cnnlab.runs.store import Run, RunStore


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

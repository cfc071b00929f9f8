"""The trial: what Ray runs on a node for each run of a sweep. It never sees the run store; it trains
with the ordinary loop, whose `TuneReporter` callback sends every report back to the driver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cnnlab.train.config import RunConfig
from cnnlab.train.fit import fit
from cnnlab.train.loop import Callback, Loop
from cnnlab.train.provenance import provenance
from cnnlab.train.setup import resolve_device
from cnnlab.train.weights import state_bytes


class TuneReporter(Callback):
    """Sends each report (`send`: `tune.report`) with the run id and the node (`where`); epoch ends also
    carry `test_acc` and `epochs_done`, what early stopping reads."""

    def __init__(self, send: Callable[[dict[str, Any]], None], where: dict[str, Any]) -> None:
        self.send, self.where = send, where

    def on_report(self, loop: Loop, step: int, epoch: float, metrics: dict[str, float]) -> None:
        result = {**self.where, "step": step, "epoch": epoch, "metrics": metrics}
        if "test_acc" in metrics:
            result |= {"test_acc": metrics["test_acc"], "epochs_done": int(epoch)}
        self.send(result)


def train_trial(params: dict[str, Any], *, configs: dict[int, dict[str, Any]]) -> None:
    """Train run `params['run_id']` (its config from `configs`), reporting as it goes; a last report
    carries the outcome with the node's provenance (and the weights when the run saves them)."""
    import ray
    from ray import tune

    run_id = int(params["run_id"])
    config = RunConfig.from_dict(configs[run_id])
    if config.speed == "auto":
        # Trials are compared with one another, so they all take the plain path (or the one the sweep
        # asks for) instead of each measuring its own on a node that its neighbours keep busy.
        config = config.replace(speed="fixed")
    where = {"run_id": run_id, "node": ray.get_runtime_context().get_node_id()}
    try:
        outcome = fit(config, [TuneReporter(tune.report, where)])
    except Exception as exc:  # bad input on that node (a missing dataset) is the run's error
        tune.report({**where, "final": {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}})
        return
    origin = {**provenance(resolve_device(config.device)), "speed": outcome.speed}
    result = {**where, "final": {"status": outcome.status, "error": outcome.error, **outcome.columns(),
                                 "provenance": origin}}
    if config.save_weights and outcome.model is not None:
        result["weights"] = state_bytes(outcome.model)
    tune.report(result)

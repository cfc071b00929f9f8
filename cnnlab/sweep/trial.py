"""The trial: what Ray runs on a node for each run of a sweep. It never sees the run store; it trains
with the ordinary loop and sends every report back to the driver with `tune.report`."""

from __future__ import annotations

import io
from typing import Any

from cnnlab.train.config import RunConfig
from cnnlab.train.loop import fit


def train_trial(params: dict[str, Any], *, configs: dict[int, dict[str, Any]]) -> None:
    """Train run `params['run_id']` (its config from `configs`). Each report carries the run id and the
    node; epoch ends also carry `test_acc` and `epochs_done` (what early stopping reads); a last report
    carries the outcome (and the weights when the run saves them)."""
    import ray
    import torch
    from ray import tune

    run_id = int(params["run_id"])
    config = RunConfig.from_dict(configs[run_id])
    if config.speed == "auto":
        # Trials are compared with one another, so they all take the plain path (or the one the sweep
        # asks for) instead of each measuring its own on a node that its neighbours keep busy.
        config = config.replace(speed="fixed")
    where = {"run_id": run_id, "node": ray.get_runtime_context().get_node_id()}

    def report(step: int, epoch: float, metrics: dict[str, float]) -> None:
        result = {**where, "step": step, "epoch": epoch, "metrics": metrics}
        if "test_acc" in metrics:
            result |= {"test_acc": metrics["test_acc"], "epochs_done": int(epoch)}
        tune.report(result)

    try:
        outcome = fit(config, report=report)
    except Exception as exc:  # bad input on that node (a missing dataset) is the run's error
        tune.report({**where, "final": {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}})
        return
    final = {"status": outcome.status, "error": outcome.error, "device": outcome.device,
             "epochs_done": outcome.epochs_done, "final_train_loss": outcome.train_loss,
             "final_train_acc": outcome.train_acc, "final_test_acc": outcome.test_acc,
             "examples_per_sec": outcome.examples_per_sec, "tflops": outcome.tflops}
    result = {**where, "final": final}
    if config.save_weights and outcome.model is not None:
        buffer = io.BytesIO()
        torch.save({name: t.detach().cpu() for name, t in outcome.model.state_dict().items()}, buffer)
        result["weights"] = buffer.getvalue()
    tune.report(result)

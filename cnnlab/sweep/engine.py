"""Ray, started on this machine or reached at a cluster's address: one code path for both."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from types import ModuleType

import cnnlab
from cnnlab.errors import ConfigError

RAY_PIN = "ray[tune]==2.60.0"
CONNECT_TIMEOUT = 5.0  # seconds to reach a cluster's address before giving up
# Ray's own switches: no usage report (no network needed), no progress tables and none of Tune's
# result files (the run store has the results), and reports need not all carry the early-stopping metric.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AIR_NEW_OUTPUT": "0",
           "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1"}


def require_ray() -> ModuleType:
    """The `ray` module, or a ConfigError that says how to install it."""
    try:
        import ray
        import ray.tune  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"sweeps run on Ray, which is not installed here ({exc}); install it with "
                          f"pip install '{RAY_PIN}' (it is pinned in requirements.txt)") from None
    return ray


def check_cluster(address: str | None) -> None:
    """Raise ConfigError unless Ray is installed and `address` (host:port or ray://host:port) answers;
    None (this machine) and 'auto' (the cluster `ray start` left here) need no check."""
    require_ray()
    if address is None or address == "auto":
        return
    host, port = _host_port(address)
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc or 'no answer'}; "
                          "check the address (`ray status` on the head node) or leave out --cluster "
                          "to run on this machine") from None


def connect(address: str | None) -> ModuleType:
    """ray.init on this machine (address None) or at the cluster's address; returns `ray`.

    A cluster gets cnnlab's own code with the job, so its nodes need only Ray and torch.
    """
    ray = require_ray()
    os.environ.update(RAY_ENV)
    # Without Tune's result files, its end-of-run summary would warn about each trial.
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    options = dict(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        if address is None:
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private instance: no token to set up
            ray.init(**options)
        else:
            ray.init(address=address, **options,
                     runtime_env={"py_modules": [str(Path(cnnlab.__file__).parent)],
                                  "excludes": ["__pycache__"]})
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = "on this machine" if address is None else f"at {address}"
        raise ConfigError(f"Ray could not start {where}: {exc}") from None
    return ray


def _host_port(address: str) -> tuple[str, int]:
    text = address.removeprefix("ray://")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"cluster address {address!r} is not HOST:PORT, ray://HOST:PORT or auto")
    return host.strip("[]"), int(port)

"""Ray, started on this machine or reached at a cluster's address: one code path for both."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
from pathlib import Path
from types import ModuleType

import cnnlab
from cnnlab.errors import ConfigError, quoted

RAY_PIN = "ray[tune]==2.60.0"
CLUSTER_ENV = "CNNLAB_CLUSTER"  # the Ray cluster the dashboard sends its runs and sweeps to (--cluster)
CONNECT_TIMEOUT = 5.0  # seconds to reach a cluster's address before giving up
SOCKET_PATH_MAX = 107  # bytes in a Unix socket's path (Linux), which Ray's session folder must leave room for
SESSION_SOCKET = "/session_2026-12-02_14-26-14_163215_4194304/sockets/plasma_store"  # the longest, by form
# Ray's own switches: no usage report (no network needed), no progress tables and none of Tune's
# result files (the run store has the results), reports need not all carry the early-stopping metric, and
# trials train at the launching command's priority (Ray's default, nice 15, starves them on a busy machine).
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AIR_NEW_OUTPUT": "0",
           "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
           "RAY_worker_niceness": "0"}


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
    """Raise ConfigError unless Ray is installed and can run the sweep: on this machine (address None),
    Ray's folder is usable; at a cluster, its address (host:port, ray://host:port, or 'auto': the one
    `ray start` left here) answers."""
    require_ray()
    if address is None:
        _check_temp_dir()
        return
    where = _resolve(address)
    host, port = _host_port(where)
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        named = address if where == address else f"{where} (--cluster {address})"
        raise ConfigError(f"cannot reach the Ray cluster at {named}: {exc.strerror or exc or 'no answer'}; "
                          "check the address (`ray status` on the head node) or leave out --cluster "
                          "to run on this machine") from None


def dashboard_cluster() -> str | None:
    """The address of the Ray cluster the dashboard's launches go to ($CNNLAB_CLUSTER, which
    `cnnlab dashboard --cluster ADDRESS` sets after checking it answers); None: this machine."""
    return os.environ.get(CLUSTER_ENV, "").strip() or None


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
            ray.init(address="local", **options)  # a new instance, even where `ray start` left one
        else:
            ray.init(address=_resolve(address), **options,
                     runtime_env={"py_modules": [str(Path(cnnlab.__file__).parent)],
                                  "excludes": ["__pycache__"]})
    except Exception as exc:  # Ray raises bare Exceptions too (a raylet that did not start in time)
        where = "on this machine" if address is None else f"at {address}"
        raise ConfigError(f"Ray could not start {where}: {exc}") from None
    return ray


def _resolve(address: str) -> str:
    """`address` itself, or for 'auto' the cluster `ray start` recorded on this machine (or RAY_ADDRESS);
    never any other Ray instance found running here, as Ray's own 'auto' would."""
    if address != "auto":
        return address
    from ray._private.utils import read_ray_address

    found = os.environ.get("RAY_ADDRESS") or read_ray_address()
    if not found or found == "auto":
        raise ConfigError("--cluster auto: no Ray cluster was started on this machine (`ray start --head` "
                          "records its address, and RAY_ADDRESS names one); start one, give its address, "
                          "or leave out --cluster to run on this machine")
    return found


def _check_temp_dir() -> None:
    """Ray, started here, keeps its session under RAY_TMPDIR (else TMPDIR, else /tmp) + /ray: refuse a
    folder it could not use, as a clear error before anything is recorded."""
    from ray._common.utils import get_default_ray_temp_dir

    folder = Path(get_default_ray_temp_dir())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise ConfigError(f"Ray cannot start in {folder}: {exc.strerror or exc}; set RAY_TMPDIR to a "
                          "writable folder") from None
    if len(str(folder)) > SOCKET_PATH_MAX - len(SESSION_SOCKET):
        raise ConfigError(f"Ray cannot start in {folder}: its socket paths there would be longer than "
                          f"{SOCKET_PATH_MAX} bytes; set RAY_TMPDIR to a shorter folder (e.g. /tmp)")


def _host_port(address: str) -> tuple[str, int]:
    text = address.removeprefix("ray://")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"cluster address {quoted(address)} is not HOST:PORT, ray://HOST:PORT or auto")
    return host.strip("[]"), int(port)

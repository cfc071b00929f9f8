"""`cnnlab dashboard`: start the packaged dashboard with the project's server settings, from any folder.

The settings are read from the dashboard's own `dashboard/.streamlit/config.toml` (the one place they are
defined) and passed to Streamlit as flags, which override every config file and environment variable.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import socket
import sys
import tomllib
from pathlib import Path

from cnnlab.classroom import CLASS_ENV
from cnnlab.cli.options import CLUSTER_ADDRESSES, add_home_argument
from cnnlab.errors import ConfigError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("dashboard", help="start the dashboard in a browser",
                            description="Start cnnlab's dashboard (Streamlit) with its server settings: "
                                        "localhost only, allowed hosts, no usage statistics.")
    parser.add_argument("--port", type=int, default=8501, help="port (default: 8501)")
    parser.add_argument("--address", help="address to listen on (default: 127.0.0.1); another one, e.g. "
                                          "0.0.0.0, also allows this machine's own names and addresses")
    parser.add_argument("--class", dest="class_config", metavar="CONFIG",
                        help="class mode: roles, quotas and who users are from CONFIG (TOML or JSON, "
                             "docs/DEPLOY.md); a trusted proxy header needs the default loopback address")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="runs and sweeps launched from the dashboard train on this Ray cluster "
                             f"({CLUSTER_ADDRESSES}; default: this machine)")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="also accept this Host name: the public name a reverse proxy passes on")
    add_home_argument(parser)
    parser.add_argument("--data-dir", help="datasets folder (default: $CNNLAB_DATA or a per-user folder)")
    parser.set_defaults(func=run)


def app_path() -> Path:
    """The dashboard's app.py: the installed package's, or the source tree's."""
    spec = importlib.util.find_spec("dashboard")
    if spec is None or spec.origin is None or not (Path(spec.origin).parent / "app.py").is_file():
        raise ConfigError("the dashboard is not installed: pip install 'cnnlab[dashboard]'")
    return Path(spec.origin).parent / "app.py"


def settings(app: Path) -> dict[str, dict]:
    """The server settings of the dashboard beside `app` ({section: {key: value}})."""
    with open(app.parent / ".streamlit" / "config.toml", "rb") as file:
        return tomllib.load(file)


def own_hosts(address: str) -> list[str]:
    """The names and addresses a browser may put in the Host header to reach a server on `address`:
    the address itself, or for a wildcard address (0.0.0.0, ::) this machine's names and addresses."""
    try:
        wildcard = ipaddress.ip_address(address).is_unspecified
    except ValueError:  # a host name
        return [address]
    if not wildcard:
        return [address]
    hosts = {socket.gethostname(), socket.getfqdn()}
    for family, _, _, _, sockaddr in socket.getaddrinfo(socket.gethostname(), None):
        if family in (socket.AF_INET, socket.AF_INET6):
            hosts.add(str(sockaddr[0]).split("%")[0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # the outgoing interface; sends nothing
        try:
            probe.connect(("192.0.2.1", 9))
            hosts.add(probe.getsockname()[0])
        except OSError:
            pass
    return sorted(hosts)


def streamlit_flags(config: dict[str, dict], port: int, address: str | None) -> list[str]:
    """`--section.key value` for every server and browser setting, with the port and address given."""
    server = dict(config.get("server", {}), port=port)
    if address is not None:
        server["address"] = address
        if address not in LOOPBACK:
            server["allowedHosts"] = [*server.get("allowedHosts", []), *own_hosts(address)]
    flags = []
    for section, values in (("server", server), ("browser", config.get("browser", {}))):
        for key, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                text = str(item).lower() if isinstance(item, bool) else str(item)
                flags += [f"--{section}.{key}", text]
    return flags


def class_mode(path: str, address: str) -> str:
    """The class config's absolute path, after checking it (ConfigError on any bad key) and that a
    proxy header is trusted only on loopback."""
    from cnnlab.classroom import load_class_config

    config = load_class_config(path)
    if config.identity.proxy_header and address not in LOOPBACK:
        raise ConfigError(f"class mode trusts the {config.identity.proxy_header} header only on loopback: "
                          f"listen on 127.0.0.1 behind the proxy, not {address}")
    return str(Path(path).resolve())


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port must be from 1 to 65535, got {args.port}")
    if importlib.util.find_spec("streamlit") is None:
        raise ConfigError("the dashboard needs streamlit: pip install 'cnnlab[dashboard]'")
    app = app_path()
    config = settings(app)
    flags = streamlit_flags(config, args.port, args.address)
    for host in args.allowed_host:
        flags += ["--server.allowedHosts", host]
    with socket.socket() as probe:
        try:
            probe.bind((args.address or config["server"]["address"], args.port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on port {args.port}: {exc.strerror or exc}") from exc
    env = dict(os.environ)
    if args.home:
        env["CNNLAB_HOME"] = str(Path(args.home).resolve())
    if args.data_dir:
        env["CNNLAB_DATA"] = str(Path(args.data_dir).resolve())
    if args.class_config:
        env[CLASS_ENV] = class_mode(args.class_config, args.address or config["server"]["address"])
    if args.cluster:
        from cnnlab.runs.cluster import CLUSTER_ENV, check_cluster

        check_cluster(args.cluster)
        env[CLUSTER_ENV] = args.cluster
    command = [sys.executable, "-m", "streamlit", "run", str(app), *flags]
    os.execve(sys.executable, command, env)
    return 0  # not reached: the dashboard replaces this process

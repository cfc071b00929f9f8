"""Class mode's config: who teaches, what visitors and students see, how users are identified, quotas.

One small TOML or JSON file, named by `cnnlab dashboard --class FILE` or $CNNLAB_CLASS_CONFIG (which the
CLI reads too, so roles and quotas are the same everywhere). Without one, cnnlab is the single-user tool:
no quotas, and every run still records its owner. Example (docs/DEPLOY.md explains each key):

    teachers = ["lecturer"]
    students_see = "all"                      # or "own"
    visitor_pages = ["Build", "See", "Lessons"]
    [identity]
    proxy_header = "X-Forwarded-User"         # set by the reverse proxy; or oidc = true (st.login)
    proxy_secret = "a long random string"     # the proxy also sends it in X-Cnnlab-Proxy
    [quotas]
    concurrent_runs = 2
    queued_runs = 4
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from cnnlab.errors import ConfigError, quoted
from cnnlab.usernames import check_user_name

CLASS_ENV = "CNNLAB_CLASS_CONFIG"
PAGES = ("Build", "Train", "Compare", "See", "Lessons")
SEE = ("all", "own")
SECRET_HEADER = "X-Cnnlab-Proxy"
MIN_SECRET = 16
_HEADER = re.compile(r"[A-Za-z0-9-]{1,64}")


@dataclass(frozen=True)
class Quotas:
    """Per-user limits checked before a launch records anything (None: no limit). Compute is MACs ×
    training examples × epochs."""

    concurrent_runs: int | None = None  # runs queued or running at once
    queued_runs: int | None = None  # runs waiting for a device
    epochs: int | None = None  # per run
    train_examples: int | None = None  # per run: the dataset (or its --limit-train) size
    run_compute: int | None = None  # per run
    hourly_compute: int | None = None  # over the user's runs created in the last hour
    sweep_trials: int | None = None  # per sweep or group
    sweeps: int | None = None  # sweeps queued or running at once


@dataclass(frozen=True)
class Limits:
    """Caps on one heavy request of a student or visitor (None: only cnnlab's own limits, cnnlab/limits.py);
    a request over one is refused before any work starts, naming the limit. Teachers are not capped."""

    field_images: int | None = None  # images one effective field averages over (See)
    top_images_sample: int | None = None  # images ranked for one channel's top images (See)
    model_params: int | None = None  # parameters of a model whose field, top images or memory is computed


LIMIT_WORDS = {"field_images": "images for an effective field", "top_images_sample": "images to rank",
               "model_params": "parameters in the model"}


@dataclass(frozen=True)
class Identity:
    """How the dashboard learns who a visitor is: st.login (OIDC), or a header a trusted proxy sets and
    vouches for with `proxy_secret` in SECRET_HEADER."""

    oidc: bool = False
    proxy_header: str | None = None
    proxy_secret: str | None = None


@dataclass(frozen=True)
class ClassConfig:
    teachers: frozenset[str] = frozenset()
    students_see: Literal["all", "own"] = "all"
    visitor_pages: tuple[str, ...] = ("Build", "See", "Lessons")
    identity: Identity = field(default_factory=Identity)
    quotas: Quotas = field(default_factory=Quotas)
    limits: Limits = field(default_factory=Limits)

    @property
    def students_see_all(self) -> bool:
        return self.students_see == "all"


def load_class_config(path: str | os.PathLike) -> ClassConfig:
    """The class config in `path` (.toml or .json); any unknown key or bad value is a ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"cannot read the class config {path}: {exc.strerror or exc}") from exc
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"the class config {path} is not valid {_kind(path)}: {exc}") from exc
    try:
        return parse_class_config(data)
    except ConfigError as exc:
        raise ConfigError(f"class config {path}: {exc}") from exc


def parse_class_config(data: Any) -> ClassConfig:
    """A ClassConfig from the parsed file."""
    data = _table(data, "the file", {f.name for f in fields(ClassConfig)})
    teachers = data.get("teachers", [])
    if not isinstance(teachers, list):
        raise ConfigError("teachers must be a list of user names")
    see = data.get("students_see", "all")
    if see not in SEE:
        raise ConfigError(f"students_see must be one of {', '.join(SEE)}")
    pages = data.get("visitor_pages", list(ClassConfig.visitor_pages))
    if not isinstance(pages, list) or any(page not in PAGES for page in pages):
        raise ConfigError(f"visitor_pages must be a list of page names among {', '.join(PAGES)}")
    return ClassConfig(teachers=frozenset(check_user_name(t, "a teacher") for t in teachers),
                       students_see=see, visitor_pages=tuple(pages),
                       identity=_identity(data.get("identity", {})), quotas=_quotas(data.get("quotas", {})),
                       limits=_limits(data.get("limits", {})))


def _identity(data: Any) -> Identity:
    data = _table(data, "[identity]", {f.name for f in fields(Identity)})
    oidc, header, secret = data.get("oidc", False), data.get("proxy_header"), data.get("proxy_secret")
    if not isinstance(oidc, bool):
        raise ConfigError("identity.oidc must be true or false")
    if header is not None:
        if not isinstance(header, str) or not _HEADER.fullmatch(header):
            raise ConfigError("identity.proxy_header must be a header name (letters, digits, -)")
        if not isinstance(secret, str) or len(secret) < MIN_SECRET:
            raise ConfigError(f"identity.proxy_header needs identity.proxy_secret, at least {MIN_SECRET} "
                              f"characters, which the proxy sends in {SECRET_HEADER}")
    if oidc and header:
        raise ConfigError("identity: choose oidc or proxy_header, not both")
    return Identity(oidc=oidc, proxy_header=header, proxy_secret=secret if header else None)


def _quotas(data: Any) -> Quotas:
    data = _table(data, "[quotas]", {f.name for f in fields(Quotas)})
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"quotas.{key} must be a whole number of at least 0")
    return Quotas(**data)


def _limits(data: Any) -> Limits:
    data = _table(data, "[limits]", {f.name for f in fields(Limits)})
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"limits.{key} must be a whole number of at least 1")
    return Limits(**data)


def check_request(limit: str, asked: int, teacher: bool = False) -> None:
    """A ConfigError naming the class's `limit` (a field of Limits) if `asked` is over it; teachers, and
    cnnlab without a class config, are not capped."""
    config = active_class()
    cap = None if config is None or teacher else getattr(config.limits, limit)
    if cap is not None and asked > cap:
        raise ConfigError(f"{asked:,} {LIMIT_WORDS[limit]}: the class allows {cap:,} (limits.{limit} in the "
                          "class config)")


def _table(data: Any, where: str, known: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table of keys")
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown key {quoted(unknown[0])} in {where} (known: {', '.join(sorted(known))})")
    return data


def _kind(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "TOML"


_loaded: dict[tuple[str, float], ClassConfig] = {}


def active_class() -> ClassConfig | None:
    """The class config $CNNLAB_CLASS_CONFIG names (re-read when the file changes), None without one."""
    path = os.environ.get(CLASS_ENV)
    if not path:
        return None
    try:
        key = (path, Path(path).stat().st_mtime)
    except OSError as exc:
        raise ConfigError(f"{CLASS_ENV}: cannot read the class config {path}: {exc.strerror}") from exc
    if key not in _loaded:
        _loaded.clear()
        _loaded[key] = load_class_config(path)
    return _loaded[key]

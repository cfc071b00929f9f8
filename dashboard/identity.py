"""Who is using the dashboard. Without a class config, or with one that configures no identity: the user
the CLI would act as (cnnlab.access). In class mode with an identity (cnnlab.classroom): the st.login
(OIDC) user, or the user a trusted reverse proxy names in a header; anyone else is a visitor (None), who
sees only the config's visitor pages, read-only.

The proxy's header is trusted only when the server listens on loopback (so only a process on this
machine, the proxy, can reach it) and the request also carries the proxy's shared secret in
SECRET_HEADER; the same user header sent straight to the Streamlit port, without the secret, is ignored.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

import streamlit as st

from cnnlab import ConfigError
from cnnlab.access import Actor, actor_named, check_user_name, current_actor, may_see
from cnnlab.classroom import SECRET_HEADER, ClassConfig, active_class
from dashboard.text import literal

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def proxy_user(headers: Mapping[str, str], config: ClassConfig, server_address: str | None) -> str | None:
    """The user the trusted proxy names in `headers`, None when the request does not come from it (no
    proxy header configured, the server not on loopback, the secret missing or wrong). A hostile name is
    a ConfigError."""
    identity = config.identity
    if identity.proxy_header is None or identity.proxy_secret is None or server_address not in LOOPBACK:
        return None
    secret = headers.get(SECRET_HEADER)
    if secret is None or not hmac.compare_digest(secret.encode(), identity.proxy_secret.encode()):
        return None
    name = headers.get(identity.proxy_header)
    return None if name is None else check_user_name(name, f"the {identity.proxy_header} header")


def actor() -> Actor | None:
    """This session's actor; None for a visitor in class mode. Problems (a bad class config, a hostile
    user name, a proxy header the server may not trust) are shown with st.error."""
    try:
        config = active_class()
        if config is None:
            return current_actor()
        if config.identity.oidc:
            name = (st.user.get("email") or st.user.get("name")) if st.user.is_logged_in else None
            return None if name is None else actor_named(check_user_name(name, "the signed-in user"))
        if config.identity.proxy_header is None:  # no identity configured: the server's own user
            return current_actor()
        address = st.get_option("server.address")
        if config.identity.proxy_header and address not in LOOPBACK:
            st.error(literal(f"Class mode: the {config.identity.proxy_header} header is not trusted because "
                             f"the server listens on {address or 'every interface'}, not loopback."))
            return None
        name = proxy_user(st.context.headers, config, address)
    except ConfigError as exc:
        st.error(literal(exc))
        return None
    return None if name is None else actor_named(name)


class _Owned(Protocol):
    owner: str | None


Owned = TypeVar("Owned", bound=_Owned)


def visible(items: Sequence[Owned], user: Actor | None) -> list[Owned]:
    """The runs or sweeps `user` is shown: all of them without a class config; in class mode a
    teacher's all, a student's (and a visitor's) all or only their own as the config says."""
    config = active_class()
    if config is None:
        return list(items)
    if user is None:
        return list(items) if config.students_see_all else []
    return [item for item in items if may_see(user, item.owner, config.students_see_all)]

"""Who is acting, and what they may do: the one rule the store, the runner, the CLI and the dashboard share.

Every run and sweep records its `owner`. A student may cancel or delete only what they own; a teacher may
act on everything and pin runs for the class. The CLI and the Python API act as $CNNLAB_USER, else the
operating-system user; in class mode the dashboard acts as the visitor's identity (dashboard/identity.py).
Roles come from the class config (cnnlab/classroom.py): its `teachers` are teachers, everyone else a
student. A run recorded before owners existed belongs to whoever owned the store when it was migrated.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import Literal

from cnnlab.classroom import active_class
from cnnlab.errors import ConfigError
from cnnlab.usernames import check_user_name

USER_ENV = "CNNLAB_USER"
Role = Literal["student", "teacher"]
ROLES: tuple[Role, ...] = ("student", "teacher")


@dataclass(frozen=True)
class Actor:
    """A user acting on the store, with their role."""

    name: str
    role: Role = "student"

    @property
    def teacher(self) -> bool:
        return self.role == "teacher"


def current_user() -> str:
    """The user the CLI and the Python API act as: $CNNLAB_USER, else the operating-system user."""
    name = os.environ.get(USER_ENV)
    if name is not None:
        return check_user_name(name, USER_ENV)
    return check_user_name(getpass.getuser(), "the operating-system user")


def current_actor() -> Actor:
    """The CLI's and the Python API's actor: `current_user()`, a teacher if the class config says so."""
    return actor_named(current_user())


def actor_named(name: str) -> Actor:
    """The actor `name`: a teacher if the active class config lists them, else a student."""
    config = active_class()
    return Actor(name, "teacher" if config is not None and name in config.teachers else "student")


def may_act(actor: Actor, owner: str | None) -> bool:
    """Whether `actor` may cancel or delete what `owner` owns: its owner may, and a teacher may act on
    everything."""
    return actor.teacher or (owner is not None and owner == actor.name)


def check_may_act(actor: Actor, owner: str | None, verb: str, what: str) -> None:
    """ConfigError unless `actor` may `verb` `what` (e.g. 'cancel', 'run 4'), which `owner` owns
    (`may_act`)."""
    if may_act(actor, owner):
        return
    whose = f"belongs to {owner}" if owner else "has no recorded owner"
    raise ConfigError(f"{what} {whose}: {actor.name} may not {verb} it (only its owner or a teacher may)")


def check_may_pin(actor: Actor, what: str) -> None:
    """ConfigError unless `actor` is a teacher: only a teacher pins (or unpins) `what` for the class."""
    if not actor.teacher:
        raise ConfigError(f"only a teacher may pin or unpin {what} for the class; {actor.name} is a student")


def may_see(actor: Actor, owner: str | None, students_see_all: bool) -> bool:
    """Whether `actor` is shown a run or sweep of `owner`: everything for a teacher or when the class's
    students see all runs, else only their own."""
    return actor.teacher or students_see_all or owner == actor.name

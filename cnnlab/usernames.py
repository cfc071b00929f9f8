"""What a user name may be: the one check for $CNNLAB_USER, the operating-system user, a class config's
teachers and the dashboard's visitors."""

from __future__ import annotations

import re

from cnnlab.errors import ConfigError

MAX_USER_NAME = 64
# A user name: letters, digits and . _ @ + - (an e-mail address fits), at most MAX_USER_NAME characters.
USER_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._@+-]{{0,{MAX_USER_NAME - 1}}}")


def check_user_name(name: object, source: str = "user name") -> str:
    """`name` if it is a valid user name, else a ConfigError naming `source` (the name itself is not
    repeated: it may be hostile)."""
    if not isinstance(name, str) or not USER_NAME.fullmatch(name):
        length = len(name) if isinstance(name, str) else 0
        raise ConfigError(f"{source} is not a valid user name: use 1-{MAX_USER_NAME} letters, digits or "
                          f". _ @ + - (got {length} characters)")
    return name

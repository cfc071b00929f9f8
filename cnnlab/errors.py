"""The one exception type for bad user input, and how its messages quote what the user gave."""

import re
from collections.abc import Iterable


class ConfigError(ValueError):
    """A configuration, argument or file that cnnlab cannot use; the message names the culprit."""


class StoreWarning(UserWarning):
    """Something about the run store the user must know, though cnnlab can go on (e.g. an emptied file)."""


QUOTE_CHARS = 60  # of a user's value echoed in an error message
LISTED_NAMES = 5  # of unknown names listed in one


def quoted(value: object) -> str:
    """`value` as an error message echoes it: its repr, cut to its first QUOTE_CHARS characters when
    longer ('…' and the length follow), so a 10 MB string or a huge number stays one short line."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a whole number of {value.bit_length():,} bits"  # repr fails past 4,300 digits
    text = repr(value)
    if len(text) <= QUOTE_CHARS + 2:
        return text
    size = f"{len(value):,} characters" if isinstance(value, str) else f"{len(text):,} characters as text"
    return _cut(text, size)


def _cut(text: str, size: str) -> str:
    return f"{text[:QUOTE_CHARS]}… ({size})"


def shortened(message: str) -> str:
    """`message` with every word longer than QUOTE_CHARS cut as `quoted` cuts a value (for messages
    that echo input verbatim, such as argparse's)."""
    return re.sub(rf"\S{{{QUOTE_CHARS + 3},}}", lambda word: _cut(word[0], f"{len(word[0]):,} characters"),
                  message)


def listed(names: Iterable[object], most: int = LISTED_NAMES) -> str:
    """Up to `most` of `names` (each shortened like `quoted` when long) joined by commas, then how many
    more: 'a, b, c, d, e and 199,995 more'."""
    names = list(names)
    shown = ", ".join(name if isinstance(name, str) and len(name) <= QUOTE_CHARS else quoted(name)
                      for name in names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most:,} more"

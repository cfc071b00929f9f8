"""The one exception type for bad user input."""


class ConfigError(ValueError):
    """A configuration, argument or file that cnnlab cannot use; the message names the culprit."""


class StoreWarning(UserWarning):
    """Something about the run store the user must know, though cnnlab can go on (e.g. an emptied file)."""

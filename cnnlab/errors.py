"""The one exception type for bad user input."""


class ConfigError(ValueError):
    """A configuration, argument or file that cnnlab cannot use; the message names the culprit."""

"""The Compare page's parts: groups and sweeps with their band figures, class pins, the config diff."""

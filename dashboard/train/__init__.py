"""The Train page's parts: the option widgets, the sweep and repeats panel, the ETA countdown."""

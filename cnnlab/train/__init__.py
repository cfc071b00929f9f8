"""Training alone: run configs, options, the training loop and its callbacks, speed (recorded runs:
cnnlab.runs)."""

"""Training: run configs, the training loop, the runner and the run store."""

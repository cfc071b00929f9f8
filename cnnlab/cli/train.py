"""`cnnlab train` (not yet available)."""

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Registers nothing until the training engine lands."""

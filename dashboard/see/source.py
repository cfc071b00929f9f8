"""What the See page shows: the Build page's model, a trained run or an uploaded model, as a hashable key.

Defined in a module of its own, not in the page's script: Streamlit runs a page's script anew on each
rerun, and a class defined there is a new class each time, so a key made in one run never equals the same
key made in the next (a cancelled job would start again, a cached model be loaded again).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """What the cached loaders need to rebuild a subject: hashable."""

    config_json: str
    seed: int | None = None  # a fresh model with this seed, or
    run_id: int | None = None  # this run's weights (trained, or those it started from)
    trained: bool = True
    home: str = ""
    model_file: str = ""  # an uploaded model (dashboard/model_upload.py), with its file's name
    name: str = ""

    @property
    def label(self) -> str:
        if self.model_file:
            return f"{self.name}, its saved weights"
        if self.run_id is None:
            return f"initialised with seed {self.seed}"
        return f"run {self.run_id}, trained" if self.trained else f"run {self.run_id}, before training"

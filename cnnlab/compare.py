"""Two analyses side by side: the ratios B/A of their headline figures and their stages aligned.

A *stage* is a run of consecutive layers whose output has the same spatial resolution (every layer
after the last feature map forms the "head"); stage k of A is shown beside stage k of B.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnlab.analysis import Summary

# Headline figure -> how to read it from a Summary (the receptive field per side: the height's).
FIGURES = {
    "params": lambda s: s.totals.params,
    "macs": lambda s: s.totals.macs,
    "param_bytes": lambda s: s.totals.param_bytes,
    "activation_bytes": lambda s: s.totals.activation_bytes,
    "rf": lambda s: None if s.final_field is None else s.final_field.rf[0],
}


def figures(summary: Summary) -> dict[str, int | None]:
    """The headline figures compared: params, MACs, weight and activation bytes, final field (height)."""
    return {name: read(summary) for name, read in FIGURES.items()}


def ratios(a: Summary, b: Summary) -> dict[str, float | None]:
    """B/A of each headline figure; None where A's figure is 0 or either has no receptive field."""
    fa, fb = figures(a), figures(b)
    return {name: (fb[name] / fa[name] if fa[name] and fb[name] is not None else None) for name in FIGURES}


@dataclass(frozen=True)
class Stage:
    """Consecutive layers at one output resolution: their totals and the last layer's map and field."""

    first: str
    last: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    rf: tuple[int, int] | None
    jump: tuple[int, int] | None

    @property
    def name(self) -> str:
        return self.first if self.first == self.last else f"{self.first} … {self.last}"


def stages(summary: Summary) -> list[Stage]:
    """Group `summary`'s rows into stages; give it a level-1 summary (VGG: one stage per block)."""
    groups: list[list] = []
    for row in summary.layers:
        key = row.output_shape[1:] if len(row.output_shape) == 3 else None
        if groups and (groups[-1][0] == key or groups[-1][0] is None):
            groups[-1][1].append(row)
        else:
            groups.append([key, [row]])
    result = []
    for _, rows in groups:
        spatial = [r for r in rows if r.rf is not None]
        last = spatial[-1] if spatial else rows[-1]
        result.append(Stage(rows[0].name, rows[-1].name, rows[-1].output_shape,
                            sum(r.params for r in rows), sum(r.macs for r in rows), last.rf, last.jump))
    return result


def aligned_stages(a: Summary, b: Summary) -> list[tuple[Stage | None, Stage | None]]:
    """Stage k of A beside stage k of B; the shorter side padded with None."""
    sa, sb = stages(a), stages(b)
    count = max(len(sa), len(sb))
    return [(sa[i] if i < len(sa) else None, sb[i] if i < len(sb) else None) for i in range(count)]

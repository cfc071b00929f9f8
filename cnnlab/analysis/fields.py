"""Receptive-field arithmetic, one spatial axis pair (height, width) at a time.

Coordinates are input-pixel indices: input pixel `i` has its centre at `i`. For a feature map,
- `rf`: how many input pixels (per axis) one output unit sees, padding included (it may exceed the input);
- `jump`: distance in input pixels between adjacent output units (the product of strides);
- `start`: input coordinate of the centre of the first output unit's field.
"""

from __future__ import annotations

from dataclasses import dataclass

Pair = tuple[float, float]


@dataclass(frozen=True)
class Field:
    rf: Pair
    jump: Pair
    start: Pair

    @classmethod
    def identity(cls) -> Field:
        """The field of an input pixel: itself."""
        return cls((1, 1), (1, 1), (0.0, 0.0))

    def window(self, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair = (1, 1)) -> Field:
        """The field after a sliding window (convolution or pooling)."""
        rf, jump, start = [], [], []
        for a in range(2):
            span = (kernel[a] - 1) * dilation[a]
            rf.append(self.rf[a] + span * self.jump[a])
            jump.append(self.jump[a] * stride[a])
            start.append(self.start[a] + (span / 2 - padding[a]) * self.jump[a])
        return Field(tuple(rf), tuple(jump), tuple(start))

    def shifted(self, before: Pair) -> Field:
        """The field after padding `before` pixels on the top and left (indices move, the field doesn't)."""
        return Field(self.rf, self.jump, tuple(self.start[a] - before[a] * self.jump[a] for a in range(2)))


def union(fields: list[Field]) -> Field | None:
    """Field of a unit that merges several paths (residual add, concatenation): the union of their windows.

    Paths must agree on `jump`; if they don't, the merged map has no single field and None is returned.
    """
    if not fields:
        return None
    if len(fields) == 1 or all(f == fields[0] for f in fields[1:]):
        return fields[0]
    if any(f.jump != fields[0].jump for f in fields):
        return None
    rf, start = [], []
    for a in range(2):
        left = min(f.start[a] - (f.rf[a] - 1) / 2 for f in fields)
        right = max(f.start[a] + (f.rf[a] - 1) / 2 for f in fields)
        rf.append(right - left + 1)
        start.append((left + right) / 2)
    return Field(tuple(rf), fields[0].jump, tuple(start))

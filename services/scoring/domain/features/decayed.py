"""A count whose every addition halves in weight each half-life: the history's decayed evidence."""

from __future__ import annotations

from services.scoring.domain.features.catalogue import HALF_LIFE_DAYS


class Decayed:
    """sum_i w_i * 0.5 ** ((t - t_i) / half_life), kept as of its last change."""

    __slots__ = ("at", "half_life", "value")

    def __init__(self, half_life: float = HALF_LIFE_DAYS) -> None:
        self.half_life, self.value, self.at = half_life, 0.0, 0.0

    def add(self, day: float, weight: float = 1.0) -> None:
        self.value = self.at_day(day) + weight
        self.at = day

    def at_day(self, day: float) -> float:
        if self.value == 0.0:
            return 0.0
        return self.value * 0.5 ** (max(day - self.at, 0.0) / self.half_life)

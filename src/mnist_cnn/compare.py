"""Comparing training runs over several seeds: what the spread allows one to
say.

Used by the chapter "Training" (optimizers, schedules, batch norm on and off)
to decide which differences are larger than the seed-to-seed spread. A run's
result depends on its seed (the initial weights, the order of the images, the
validation split), so one run per setting cannot tell a real difference from
luck. With the same seeds for every setting, one setting is *clearly* better
than another when its worst seed beats the other's best seed; otherwise the
difference is reported as within the spread. A weaker, paired statement:
:func:`better_on_every_seed`, when it wins seed by seed (the same seed gives
both settings the same initial weights, order and validation split).

Tested against the standard library's ``statistics`` in
``tests/test_compare.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Spread",
    "spread",
    "clearly_above",
    "within_spread",
    "better_on_every_seed",
]


@dataclass(frozen=True)
class Spread:
    """A setting's results over its seeds."""

    mean: float
    sd: float  # the sample standard deviation (n - 1); 0 for one seed
    lo: float  # the worst seed
    hi: float  # the best seed
    n: int  # seeds

    def __str__(self) -> str:  # e.g. "98.41 ± 0.12 (98.30-98.55, 3 seeds)"
        return (
            f"{self.mean:.2f} ± {self.sd:.2f} "
            f"({self.lo:.2f}-{self.hi:.2f}, {self.n} seeds)"
        )


def spread(values: Sequence[float]) -> Spread:
    """Mean, sample standard deviation, minimum and maximum of ``values``."""
    n = len(values)
    if n == 0:
        raise ValueError("spread: no values; give one result per seed.")
    mean = math.fsum(values) / n
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0
    return Spread(mean, math.sqrt(var), min(values), max(values), n)


def clearly_above(a: Spread, b: Spread) -> bool:
    """True when every seed of ``a`` beats every seed of ``b``: the ranges
    do not overlap."""
    return a.lo > b.hi


def within_spread(a: Spread, b: Spread) -> bool:
    """True when neither is clearly above the other: the difference of the
    means is not larger than what the seeds alone produce."""
    return not clearly_above(a, b) and not clearly_above(b, a)


def better_on_every_seed(a: Sequence[float], b: Sequence[float]) -> bool:
    """True when ``a[i] > b[i]`` for every seed ``i`` (both in the same seed
    order): a paired comparison, weaker than :func:`clearly_above`."""
    if len(a) != len(b) or not a:
        raise ValueError(
            f"better_on_every_seed: {len(a)} and {len(b)} results; give one "
            "per seed, the same seeds in the same order, for both."
        )
    return all(x > y for x, y in zip(a, b))

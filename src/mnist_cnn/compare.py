"""Comparing training runs over several seeds: what the spread allows one to
say.

A run's result depends on its seed (the initial weights, the order of the
images, the validation split), so one run per setting cannot tell a real
difference from luck. The rule every comparative sentence of the chapters
"Training" and "Overfitting" follows is :func:`verdict`: the same seeds for
both settings, paired per-seed differences, a 95 % t interval of their mean
and a one-sided sign test. "Clearly better" needs both: the interval above 0
and the sign test's p at most 0.05, which takes at least five seeds (all five
ahead: p = 0.5**5 = 0.031). :func:`spread` summarises one setting's seeds.
The older, unpaired tests :func:`clearly_above` (every seed beats every
seed) and :func:`within_spread` are still used by the chapter "Fine-tuning",
which compares draws of data rather than seeds.

Tested against the standard library's ``statistics`` and against SciPy's
``ttest_rel`` and ``binomtest`` in ``tests/test_compare.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Spread",
    "spread",
    "clearly_above",
    "within_spread",
    "better_on_every_seed",
    "Verdict",
    "verdict",
    "T_975",
]

# the 97.5 % quantile of Student's t with df = 1 ... 30 degrees of freedom
# (two-sided 95 % intervals); tests/test_compare.py checks it against SciPy
T_975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622,
    2.2281, 2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009,
    2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518,
    2.0484, 2.0452, 2.0423,
)  # fmt: skip


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


Outcome = Literal["better", "worse", "undecided"]


@dataclass(frozen=True)
class Verdict:
    """How setting ``a`` compares with setting ``b`` over paired seeds."""

    outcome: Outcome  # "better"/"worse": clearly; else "undecided"
    diff: float  # the mean of a[i] - b[i]
    lo: float  # the 95 % t interval of that mean
    hi: float
    wins: int  # seeds where a > b
    losses: int  # seeds where a < b
    n: int
    p: float  # one-sided sign test for the direction of the mean

    @property
    def words(self) -> str:
        """The words the book uses for it (the box "How we compare runs" in
        the chapter "Training")."""
        if self.outcome != "undecided":
            return f"clearly {self.outcome}"
        one_side = self.wins == self.n or self.losses == self.n
        if one_side and self.p > 0.05:  # too few seeds for the sign test
            side = "ahead" if self.wins == self.n else "behind"
            return f"{side} on all {self.n} seeds, too few to tell"
        return "could not be distinguished"

    def __str__(self) -> str:
        """E.g. ``+0.42 [+0.32, +0.52], 5/5 seeds, p 0.031``."""
        return (
            f"{self.diff:+.2f} [{self.lo:+.2f}, {self.hi:+.2f}], "
            f"{max(self.wins, self.losses)}/{self.n} seeds, p {self.p:.3f}"
        )


def _sign_test(k: int, n: int) -> float:
    """P(at least k of n fair coin flips come up heads)."""
    return math.fsum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


def verdict(a: Sequence[float], b: Sequence[float]) -> Verdict:
    """Compare ``a`` with ``b`` seed by seed (``a[i]`` and ``b[i]`` share
    seed ``i``: the same initial weights, order and split). Clearly better
    when the 95 % t interval of the mean difference lies above 0 *and* the
    one-sided sign test gives p <= 0.05; clearly worse the other way round;
    otherwise undecided. Ties count for neither side in the sign test."""
    n = len(a)
    if n != len(b) or n < 2:
        raise ValueError(
            f"verdict: {len(a)} and {len(b)} results; give two or more per "
            "setting, one per seed, the same seeds in the same order."
        )
    if n - 1 > len(T_975):
        raise ValueError(f"verdict: {n} seeds; at most {len(T_975) + 1}.")
    d = [x - y for x, y in zip(a, b)]
    s = spread(d)
    half = T_975[n - 2] * s.sd / math.sqrt(n)
    wins = sum(x > 0 for x in d)
    losses = sum(x < 0 for x in d)
    p = _sign_test(wins if s.mean >= 0 else losses, wins + losses)
    outcome: Outcome = "undecided"
    if p <= 0.05 and s.mean - half > 0:
        outcome = "better"
    elif p <= 0.05 and s.mean + half < 0:
        outcome = "worse"
    return Verdict(
        outcome, s.mean, s.mean - half, s.mean + half, wins, losses, n, p
    )

"""Comparing training runs over several seeds: what the spread allows one to
say.

A run's result depends on its seed (the initial weights, the order of the
images, the validation split), so one run per setting cannot tell a real
difference from luck. The rule every comparative sentence of the chapters
"Training", "Overfitting" and "Fine-tuning" follows is :func:`verdict`: the
same seeds for both settings, paired per-seed differences, a 95 % t
interval of their mean and a one-sided sign test. "Clearly better" needs both: the interval above 0
and the sign test's p at most 0.05, which takes at least five seeds (all five
ahead: p = 0.5**5 = 0.031). :func:`spread` summarises one setting's seeds.
A tuning grid gives each setting its best shot only when its best value is
inside it: :func:`search_grid` extends a grid until :func:`best_inside`
finds it so.

Tested against the standard library's ``statistics`` and against SciPy's
``ttest_rel`` and ``binomtest`` in ``tests/test_compare.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Spread",
    "spread",
    "Verdict",
    "verdict",
    "WORDS_ZH",
    "T_975",
    "best_inside",
    "search_grid",
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


#: A verdict's words as the Chinese edition writes them (its terms table).
WORDS_ZH = {
    "clearly better": "明显更好",
    "clearly worse": "明显更差",
    "could not be distinguished": "无法区分",
}


def best_inside(scores: Mapping[float, float]) -> float:
    """The value with the highest score, where it lies strictly inside the
    grid: both ends of the grid score lower (of values tied for the best,
    the smallest). A best value at an end means the grid stopped too early
    (the setting is under-tuned), so that is an error."""
    values = sorted(scores)
    if len(values) < 3:
        raise ValueError(
            f"best_inside: {len(values)} values; give three or more."
        )
    best = max(scores.values())
    ends = [v for v in (values[0], values[-1]) if scores[v] == best]
    if ends:
        raise ValueError(
            f"best_inside: the best score {best:g} is at the grid's end "
            f"{ends[0]:g} (grid {values[0]:g} ... {values[-1]:g}); extend "
            "the grid past it (search_grid does) until the best is inside."
        )
    return max(values[1:-1], key=lambda v: scores[v])


def search_grid(
    score: Callable[[float], float], grid: Sequence[float], most: int = 9
) -> dict[float, float]:
    """Score every value of a geometric ``grid`` (e.g. learning rates
    ``10 ** -3.5``, ``10 ** -3``, ``10 ** -2.5``), then extend it by the
    same ratio past each end that holds the best score, until
    :func:`best_inside` finds the best strictly inside. Returns value ->
    score, in increasing order of value. Raises after ``most`` values
    without an inside best."""
    values = sorted(grid)
    ratios = [b / a for a, b in zip(values, values[1:])] if values else []
    if (
        len(values) < 3
        or values[0] <= 0
        or max(ratios) - min(ratios) > 1e-9 * max(ratios)
    ):
        raise ValueError(
            f"search_grid: grid {list(grid)}; give three or more positive "
            "values spaced by a constant ratio."
        )
    ratio = ratios[0]
    scores = {v: score(v) for v in values}
    while True:
        values = sorted(scores)
        best = max(scores.values())
        low, high = scores[values[0]] == best, scores[values[-1]] == best
        if not (low or high):
            return {v: scores[v] for v in values}
        if len(scores) >= most:
            best_inside(scores)  # raises, naming the end
        if low:
            scores[values[0] / ratio] = score(values[0] / ratio)
        if high:
            scores[values[-1] * ratio] = score(values[-1] * ratio)

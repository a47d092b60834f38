"""mnist_cnn.compare against the standard library's statistics module."""

from __future__ import annotations

import random
import statistics

import pytest

from mnist_cnn.compare import (
    better_on_every_seed,
    clearly_above,
    spread,
    within_spread,
)


@pytest.mark.parametrize("n", [2, 3, 7])
def test_spread_matches_statistics(n: int) -> None:
    rng = random.Random(n)
    values = [rng.uniform(90, 100) for _ in range(n)]
    s = spread(values)
    assert s.mean == pytest.approx(statistics.fmean(values), abs=1e-12)
    assert s.sd == pytest.approx(statistics.stdev(values), abs=1e-12)
    assert (s.lo, s.hi, s.n) == (min(values), max(values), n)


def test_one_seed_has_no_spread_and_none_is_an_error() -> None:
    assert spread([98.5]).sd == 0
    with pytest.raises(ValueError, match="one result per seed"):
        spread([])


def test_clearly_above_needs_ranges_that_do_not_overlap() -> None:
    low, high = spread([97.0, 97.5, 98.0]), spread([98.1, 98.4, 99.0])
    overlapping = spread([97.9, 98.6, 99.1])
    assert clearly_above(high, low) and not clearly_above(low, high)
    assert not within_spread(high, low)
    assert within_spread(overlapping, low) and within_spread(low, overlapping)
    # equal extremes overlap: not clearly different
    assert within_spread(spread([98.0, 99.0]), spread([97.0, 98.0]))


def test_str_gives_mean_sd_range_and_seeds() -> None:
    assert str(spread([1.0, 2.0, 3.0])) == "2.00 ± 1.00 (1.00-3.00, 3 seeds)"


def test_better_on_every_seed_is_paired() -> None:
    a, b = [98.2, 98.9, 98.5], [98.1, 98.8, 98.4]  # ranges overlap
    assert better_on_every_seed(a, b) and not better_on_every_seed(b, a)
    assert within_spread(spread(a), spread(b))
    assert not better_on_every_seed([99.0, 98.0], [98.5, 98.5])
    assert not better_on_every_seed([98.0], [98.0])  # a tie is no win
    with pytest.raises(ValueError, match="same seeds in the same order"):
        better_on_every_seed([1.0, 2.0], [1.0])

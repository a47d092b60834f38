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


def test_the_t_table_is_students() -> None:
    from scipy import stats

    from mnist_cnn.compare import T_975

    for df, q in enumerate(T_975, start=1):
        assert q == pytest.approx(stats.t.ppf(0.975, df), abs=1e-4), df


@pytest.mark.parametrize("n", [3, 5, 8, 12])
def test_verdict_against_scipy(n: int) -> None:
    from scipy import stats

    from mnist_cnn.compare import verdict

    rng = random.Random(n)
    for trial in range(20):
        b = [rng.uniform(97, 99) for _ in range(n)]
        a = [x + rng.gauss(0.2 * (trial % 3 - 1), 0.3) for x in b]
        v = verdict(a, b)
        ci = stats.ttest_rel(a, b).confidence_interval(0.95)
        assert (v.lo, v.hi) == pytest.approx((ci.low, ci.high), abs=1e-3)
        assert v.diff == pytest.approx(
            statistics.fmean(a) - statistics.fmean(b)
        )
        ahead = v.wins if v.diff >= 0 else v.losses
        sign = stats.binomtest(ahead, v.wins + v.losses, 0.5, "greater")
        assert v.p == pytest.approx(sign.pvalue, abs=1e-12)
        clear = v.p <= 0.05 and (ci.low > 0 or ci.high < 0)
        assert (v.outcome != "undecided") == clear
        if clear:
            assert v.outcome == ("better" if ci.low > 0 else "worse")


def test_verdict_words_follow_the_table() -> None:
    from mnist_cnn.compare import verdict

    three = verdict([98.5, 98.7, 98.6], [98.1, 98.2, 98.3])  # 3/3: p 0.125
    assert three.outcome == "undecided" and three.p == 0.125
    assert three.words == "ahead on all 3 seeds, too few to tell"
    five_a = [98.5, 98.7, 98.6, 98.9, 98.4]
    five_b = [98.1, 98.2, 98.3, 98.4, 98.0]
    five = verdict(five_a, five_b)
    assert five.p == 0.03125 and five.words == "clearly better"
    assert verdict(five_b, five_a).words == "clearly worse"
    # all five ahead (p 0.031) but the interval crosses 0: undecided
    wide = verdict(
        [x + d for x, d in zip(five_b, (0.01, 0.02, 0.01, 0.03, 5))], five_b
    )
    assert wide.outcome == "undecided" and wide.lo < 0 < wide.hi
    assert wide.words == "could not be distinguished"
    mixed = verdict([98.5, 98.0, 98.6, 98.1, 98.3], five_b)
    assert mixed.words == "could not be distinguished"
    # by hand: d = .4 .5 .3 .5 .4, mean .42, sd sqrt(.028 / 4) = .0837,
    # half-width 2.7764 * .0837 / sqrt(5) = .104
    assert str(five) == "+0.42 [+0.32, +0.52], 5/5 seeds, p 0.031"
    with pytest.raises(ValueError, match="same seeds in the same order"):
        verdict([1.0, 2.0], [1.0])

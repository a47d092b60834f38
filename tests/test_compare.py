"""mnist_cnn.compare against the standard library's statistics module."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from mnist_cnn.compare import (
    best_inside,
    search_grid,
    spread,
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


def test_str_gives_mean_sd_range_and_seeds() -> None:
    assert str(spread([1.0, 2.0, 3.0])) == "2.00 ± 1.00 (1.00-3.00, 3 seeds)"


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


def test_best_inside_refuses_a_best_at_either_end() -> None:
    assert best_inside({1.0: 0.5, 2.0: 0.9, 4.0: 0.7}) == 2.0
    for scores in (
        {1.0: 0.9, 2.0: 0.5, 4.0: 0.7},  # best at the low end
        {1.0: 0.5, 2.0: 0.7, 4.0: 0.9},  # at the high end
        {1.0: 0.5, 2.0: 0.9, 4.0: 0.9},  # tied with the end: not inside
    ):
        with pytest.raises(ValueError, match="at the grid's end"):
            best_inside(scores)
    with pytest.raises(ValueError, match="three or more"):
        best_inside({1.0: 0.5, 2.0: 0.9})


@pytest.mark.parametrize("peak", [1e-5, 3e-4, 1e-3, 3e-2, 1.0])
def test_search_grid_extends_until_the_peak_is_inside(peak: float) -> None:
    asked: list[float] = []

    def score(lr: float) -> float:  # highest at `peak`, in log space
        asked.append(lr)
        return -((math.log10(lr) - math.log10(peak)) ** 2)

    grid = [10**-3.5, 10**-3, 10**-2.5]  # half-decade steps: k = -7, -6, -5
    scores = search_grid(score, grid)
    # reference: the half-decade points from one step below the point
    # nearest the peak to one step above it, and at least the start grid
    k = round(2 * math.log10(peak))
    want = [10 ** (j / 2) for j in range(min(-7, k - 1), max(-5, k + 1) + 1)]
    assert list(scores) == pytest.approx(want, rel=1e-9)
    assert sorted(asked) == list(scores)  # each value scored once
    assert best_inside(scores) == pytest.approx(10 ** (k / 2), rel=1e-9)


def test_search_grid_stops_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at the grid's end 32"):
        search_grid(lambda lr: lr, [1.0, 2.0, 4.0], most=6)
    with pytest.raises(ValueError, match="constant ratio"):
        search_grid(lambda lr: lr, [1.0, 2.0, 5.0])


def test_every_verdict_of_five_seeds_has_its_chinese_words() -> None:
    """The Chinese edition glues compare.WORDS_ZH[v.words]: with five seeds
    every verdict is one of the three phrases it translates."""
    from mnist_cnn.compare import WORDS_ZH, verdict

    cases = (
        ([1, 2, 3, 4, 5], [0, 1, 2, 3, 4]),
        ([0, 1, 2, 3, 4], [1, 2, 3, 4, 5]),
    )
    words = {verdict(a, b).words for a, b in cases}
    words.add(verdict([1, 0, 1, 0, 1], [0, 1, 0, 1, 0]).words)
    assert words == set(WORDS_ZH)

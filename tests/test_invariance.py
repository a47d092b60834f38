"""mnist_cnn.invariance: the shift against a hand-indexed reference; the relative change against
its formula computed directly with torch.linalg.norm."""

from __future__ import annotations

import pytest
import torch

from mnist_cnn import invariance, ops


@pytest.mark.parametrize("dy, dx", [(0, 0), (1, 0), (0, 2), (-2, 1), (3, -3)])
def test_shift_moves_pixels_and_fills_zeros(dy: int, dx: int) -> None:
    x = torch.arange(1, 2 * 6 * 7 + 1, dtype=torch.float32).view(2, 6, 7)
    out = invariance.shift(x, dy, dx)
    ref = torch.zeros_like(x)
    for r in range(6):
        for c in range(7):
            if 0 <= r - dy < 6 and 0 <= c - dx < 7:
                ref[:, r, c] = x[:, r - dy, c - dx]
    assert torch.equal(out, ref)


def test_shift_rejects_shifts_as_large_as_the_image() -> None:
    with pytest.raises(
        ValueError, match=r"shift \(dy=6, dx=0\) is as large as the image 6x7"
    ):
        invariance.shift(torch.zeros(6, 7), 6, 0)


def test_relative_change_formula() -> None:
    x = torch.rand(3, 1, 10, 10)
    f = lambda t: ops.max_pool2d(t, 2)  # noqa: E731
    ref = torch.linalg.norm(
        f(invariance.shift(x, 1, 1)) - f(x)
    ) / torch.linalg.norm(f(x))
    assert invariance.relative_change(f, x, 1, 1) == pytest.approx(
        float(ref), rel=1e-6
    )
    assert invariance.relative_change(f, x, 0, 0) == 0.0
    with pytest.raises(ValueError, match="all zero"):
        invariance.relative_change(f, torch.zeros(1, 1, 4, 4), 1, 0)

"""mnist_cnn.augment.random_affine: the identity, and known maps — rotations by 90 degrees against
torch.rot90, a shift by whole pixels against torch.roll — with the random draws fixed."""

from __future__ import annotations

import pytest
import torch

from mnist_cnn import augment


def fixed_draws(
    monkeypatch: pytest.MonkeyPatch, *values: torch.Tensor
) -> None:
    """Make random_affine's calls of torch.rand return ``values`` in order: the angle (B,), the
    zoom (B,) and the shift (B, 2) draws, each in [0, 1)."""
    queue = list(values)

    def rand(*size: int, **kwargs: object) -> torch.Tensor:
        value = queue.pop(0)
        assert tuple(value.shape) == tuple(size)
        return value.clone()

    monkeypatch.setattr(augment.torch, "rand", rand)


def test_random_affine_identity_and_range() -> None:
    x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    same = augment.random_affine(
        x, degrees=0.0, translate=0.0, scale=(1.0, 1.0)
    )
    # identity transform, bilinear at pixel centres; float32 grid coordinates round to ~5e-6
    # of a pixel, which shows relative to the value (atol alone failed 1 run in 2 at 1e-5)
    torch.testing.assert_close(same, x, atol=1e-5, rtol=1e-5)
    moved = augment.random_affine(x, torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and not torch.allclose(moved, x)
    assert (
        moved.min() >= x.min() - 1e-6 and moved.max() <= x.max() + 1e-6
    )  # interpolation never overshoots


def test_random_affine_rotates_by_90_degrees_like_rot90(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Draw 1 is the largest angle (+degrees), draw 0 the smallest (-degrees); no zoom, no shift.
    Pixel centres of a square image land on pixel centres, so the whole image is exact."""
    x = torch.randn(2, 3, 28, 28, generator=torch.Generator().manual_seed(0))
    fixed_draws(
        monkeypatch,
        torch.tensor([1.0, 0.0]),  # angle: +90 and -90 degrees
        torch.tensor([0.5, 0.5]),  # zoom: any (scale (1, 1))
        torch.full((2, 2), 0.5),  # shift: none
    )
    out = augment.random_affine(x, degrees=90.0, scale=(1.0, 1.0))
    # +90: out[i, j] = x[j, 27 - i], torch.rot90 with k=1 (counter-clockwise as displayed)
    torch.testing.assert_close(
        out[0], torch.rot90(x[0], 1, (1, 2)), atol=1e-5, rtol=1e-5
    )
    torch.testing.assert_close(
        out[1], torch.rot90(x[1], -1, (1, 2)), atol=1e-5, rtol=1e-5
    )


def test_random_affine_shifts_by_whole_pixels_like_roll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """translate=0.25 shifts by up to 0.25 * 28 = 7 pixels; draw u shifts by (2u - 1) * 7. Here
    u = 5/7 in x and 5/14 in y: the output shows the input 3 pixels to the right and 2 above,
    i.e. the digit moves 3 pixels left and 2 down; the border pixels fill the rest."""
    x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    fixed_draws(
        monkeypatch,
        torch.tensor([0.5]),  # angle 0
        torch.tensor([0.5]),  # zoom 0.9 + 0.5 * 0.2 = 1
        torch.tensor([[5 / 7, 5 / 14]]),  # shift (x, y): +3 and -2 pixels
    )
    out = augment.random_affine(x, degrees=10.0, translate=0.25)
    rolled = torch.roll(x, shifts=(2, -3), dims=(2, 3))  # [i, j] = x[i-2, j+3]
    torch.testing.assert_close(
        out[..., 2:, :-3], rolled[..., 2:, :-3], atol=1e-5, rtol=1e-5
    )
    torch.testing.assert_close(  # border: the last column repeated
        out[..., 2:, -3:],
        x[..., :-2, -1:].expand(-1, -1, -1, 3),
        atol=1e-5,
        rtol=1e-5,
    )
    torch.testing.assert_close(  # border: the first row repeated
        out[..., :2, :-3],
        x[..., :1, 3:].expand(-1, -1, 2, -1),
        atol=1e-5,
        rtol=1e-5,
    )


def test_random_flip_mirrors_exactly_the_drawn_images() -> None:
    x = torch.randn(64, 1, 5, 7)
    assert torch.equal(augment.random_flip(x, p=1.0), torch.flip(x, [-1]))
    assert torch.equal(augment.random_flip(x, p=0.0), x)
    out = augment.random_flip(x, torch.Generator().manual_seed(3))
    drawn = torch.rand(64, generator=torch.Generator().manual_seed(3)) < 0.5
    for i in range(64):  # each image: mirrored iff its draw says so
        want = torch.flip(x[i], [-1]) if drawn[i] else x[i]
        assert torch.equal(out[i], want)
    assert 0 < int(drawn.sum()) < 64

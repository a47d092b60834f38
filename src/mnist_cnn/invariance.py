"""What pooling buys, measured: how much feature maps change when the digit
moves a little.

Explained in the chapter "Pooling" (``book/pooling.ipynb``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["shift", "relative_change"]


def shift(images: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Move ``images`` (..., H, W) by ``dy`` rows down and ``dx`` columns
    right, filling with zeros."""
    h, w = images.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(
            f"shift (dy={dy}, dx={dx}) is as large as the image {h}x{w}; "
            "nothing would remain."
        )
    # (..., H + |dy|, W + |dx|)
    padded = F.pad(images, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)))
    top, left = max(-dy, 0), max(-dx, 0)
    return padded[..., top : top + h, left : left + w]


def relative_change(
    features: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    dy: int,
    dx: int,
) -> float:
    """``||f(shift(x)) - f(x)|| / ||f(x)||`` over the batch: 0 means the
    features did not move at all."""
    before = features(images)
    after = features(shift(images, dy, dx))
    norm = before.norm()
    if norm == 0:
        raise ValueError(
            "features: all zero for these images; the relative change is "
            "undefined."
        )
    return float((after - before).norm() / norm)

"""Data augmentation: a random rotation, scale and shift per image, for a whole
batch at once; and random left-right flips, which the article recommends and
which are wrong for digits.

Explained in the chapter "Overfitting" (``book/overfitting.ipynb``); used by
:func:`mnist_cnn.training.fit` when ``TrainConfig(augment=True)``.

Sources: P. Y. Simard, D. Steinkraus, J. C. Platt, "Best practices for
convolutional neural networks applied to visual document analysis", ICDAR 2003
(affine distortions of MNIST); M. Jaderberg et al., "Spatial transformer
networks", NeurIPS 2015 (``affine_grid`` + ``grid_sample``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["random_affine", "random_flip"]


def random_affine(
    x: torch.Tensor,  # (B, C, H, W), normalised
    generator: torch.Generator | None = None,
    degrees: float = 10.0,
    translate: float = 0.1,
    scale: tuple[float, float] = (0.9, 1.1),
) -> torch.Tensor:
    """A random rotation, scale and shift per image: one ``affine_grid`` +
    ``grid_sample`` for the batch, on its device. Border pixels (background)
    fill the space the image moves away from; ``translate`` is a fraction of
    the size (0.1 = up to 2.8 pixels)."""
    b = x.shape[0]
    kwargs = {"device": x.device, "generator": generator}
    # (B,)
    angle = (torch.rand(b, **kwargs) * 2 - 1) * degrees * torch.pi / 180
    zoom = scale[0] + torch.rand(b, **kwargs) * (scale[1] - scale[0])  # (B,)
    # (B, 2) in grid units
    shift = (torch.rand(b, 2, **kwargs) * 2 - 1) * translate * 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    row0 = torch.stack([cos, -sin, shift[:, 0]], 1)  # (B, 3)
    row1 = torch.stack([sin, cos, shift[:, 1]], 1)  # (B, 3)
    # (B, 2, 3): output -> input
    theta = torch.stack([row0, row1], 1).to(x.dtype)
    # (B, H, W, 2)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    channels_last = x.is_contiguous(memory_format=torch.channels_last)
    keep = torch.channels_last if channels_last else torch.contiguous_format
    return out.contiguous(memory_format=keep)


def random_flip(
    x: torch.Tensor,  # (B, C, H, W)
    generator: torch.Generator | None = None,
    p: float = 0.5,
) -> torch.Tensor:
    """Mirror each image left-right with probability ``p`` (the article's
    section 9 "翻转"). A mirrored 2, 3, 4, 5 or 7 is no longer that digit,
    but keeps its label: the chapter "Overfitting" measures what that costs."""
    flip = torch.rand(x.shape[0], device=x.device, generator=generator) < p
    mask = flip.view(-1, 1, 1, 1)  # (B, 1, 1, 1)
    return torch.where(mask, x.flip(-1), x)

"""Figures the book draws, so every chapter plots the same way. See the chapter "Data"."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

__all__ = ["digit_grid", "class_counts"]


def digit_grid(
    images: torch.Tensor,  # (N, 28, 28) or (N, 1, 28, 28), any float or uint8
    labels: torch.Tensor | Sequence[int] | None = None,
    ncols: int = 10,
    size: float = 1.0,
) -> Figure:
    """A grid of digits, black on white, each titled with its label when ``labels`` is given."""
    if images.ndim == 4:
        images = images[:, 0]  # (N, 28, 28)
    n = images.shape[0]
    if n == 0:
        raise ValueError("images: nothing to show (0 images).")
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].detach().cpu(), cmap="gray_r")
            if labels is not None:
                ax.set_title(str(int(labels[i])), fontsize=9, pad=2)
    fig.tight_layout(pad=0.2)
    return fig


def class_counts(counts: dict[str, torch.Tensor], title: str = "Images per class") -> Figure:
    """Grouped bars of per-class counts, one group per split (e.g. {"train": ..., "test": ...})."""
    fig, ax = plt.subplots(figsize=(7, 3))
    width = 0.8 / max(len(counts), 1)
    for k, (name, c) in enumerate(counts.items()):
        xs = torch.arange(len(c)) + (k - (len(counts) - 1) / 2) * width
        ax.bar(xs.tolist(), c.tolist(), width=width, label=name)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.set_ylabel("images")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig

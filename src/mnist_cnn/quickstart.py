"""The whole book in a dozen lines: a small CNN and the plain training loop.

Explained in the chapter "Quick start" (``book/quickstart.ipynb``); every
line is opened up by a later chapter. The loop is the five steps of
:func:`mnist_cnn.training.train_one_epoch` without its options (mixed
precision, running sums, hooks); ``tests/test_quickstart.py`` checks that
both give the same weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["small_cnn", "train_epoch", "predict", "accuracy"]


def small_cnn() -> nn.Sequential:
    """Two convolution blocks and a linear layer: (N, 1, 28, 28) images to
    (N, 10) scores, one per digit."""
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1),  # (N, 16, 28, 28)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 16, 14, 14)
        nn.Conv2d(16, 32, kernel_size=3, padding=1),  # (N, 32, 14, 14)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 32, 7, 7)
        nn.Flatten(),  # (N, 1568)
        nn.Linear(32 * 7 * 7, 10),  # (N, 10) scores
    )


def train_epoch(
    model: nn.Module,
    images: torch.Tensor,  # (N, 1, 28, 28) normalised
    labels: torch.Tensor,  # (N,)
    optimizer: torch.optim.Optimizer,
    batch_size: int = 64,
) -> list[float]:
    """One pass over the images in random batches; returns each batch's
    loss."""
    losses = []
    order = torch.randperm(len(images))  # a new random order every epoch
    for batch in order.split(batch_size):
        x, y = images[batch], labels[batch]
        optimizer.zero_grad()  # 1. forget the last step's gradients
        scores = model(x)  # 2. forward: (B, 10) scores
        loss = F.cross_entropy(scores, y)  # 3. loss: one number
        loss.backward()  # 4. backward: d loss / d every weight
        optimizer.step()  # 5. step: every weight a little downhill
        losses.append(loss.item())
    return losses


@torch.no_grad()  # only reading: no gradients to keep
def predict(
    model: nn.Module,
    images: torch.Tensor,  # (N, 1, 28, 28) normalised
) -> torch.Tensor:
    """The network's guess for every image: the digit with the highest
    score, (N,)."""
    return torch.cat([model(x).argmax(1) for x in images.split(1000)])


def accuracy(
    model: nn.Module,
    images: torch.Tensor,  # (N, 1, 28, 28) normalised
    labels: torch.Tensor,  # (N,)
) -> float:
    """The share of images whose guess is the right digit."""
    return float((predict(model, images) == labels).float().mean())

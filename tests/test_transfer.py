"""mnist_cnn.transfer: the few-shot sampler, the 8x8 digits scaled to MNIST's box, and the
experiment's methods (a linear probe forgets nothing of MNIST)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mnist_cnn import data, finetune, models, transfer


def book(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return models.BookCNN().eval()


def test_few_shot_indices_and_digits() -> None:
    labels = torch.arange(10).repeat(7)
    idx = transfer.few_shot_indices(labels, 3, seed=0)
    assert torch.equal(torch.bincount(labels[idx]), torch.full((10,), 3))
    assert not torch.equal(idx, transfer.few_shot_indices(labels, 3, seed=1))
    assert transfer.few_shot_indices(labels, None, seed=0).numel() == 70
    images, targets = transfer.load_sklearn_digits()
    assert (
        images.shape == (1797, 28, 28)
        and images.dtype == torch.uint8
        and targets.shape == (1797,)
    )
    rows, cols = torch.nonzero(images[0] > 0, as_tuple=True)
    assert (
        rows.max() - rows.min() + 1 <= 21 and cols.max() - cols.min() + 1 <= 21
    )  # MNIST's 20x20 box


def test_transfer_linear_probe_forgets_nothing(mnist) -> None:
    """With a frozen backbone (and frozen batch-norm statistics), putting the original head back
    must give exactly the pretrained network's MNIST accuracy."""
    pretrained = book(1)
    images, labels = mnist.train_images[:600], mnist.train_labels[:600]
    splits = {
        "pool": (images[:400], labels[:400]),
        "val": (images[400:500], labels[400:500]),
        "test": (images[500:], labels[500:]),
    }
    mnist_eval = (
        data.normalize(mnist.test_images[:300], 0.13, 0.31),
        mnist.test_labels[:300],
    )
    reference = finetune.model_accuracy(pretrained, *mnist_eval)

    def run(method: str) -> transfer.TransferResult:
        args = (pretrained, splits, 5, 0, 1e-2, 0.13, 0.31, mnist_eval)
        return transfer.transfer(method, *args, steps=5)

    probe = run("linear probe")
    assert probe.mnist_acc == reference
    assert probe.trainable == 32 * 49 * 10 + 10
    full = run("full fine-tuning")
    assert full.trainable == sum(p.numel() for p in pretrained.parameters())
    # NaN: a scratch model has no MNIST head to put back
    assert math.isnan(run("from scratch").mnist_acc)
    with pytest.raises(ValueError, match="method='adapters'"):
        transfer.start_model("adapters", pretrained)

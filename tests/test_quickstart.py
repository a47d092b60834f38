"""mnist_cnn.quickstart: the chapter "Quick start"'s loop is the package's.

Reference: training.train_one_epoch (the loop `fit` runs) on the same
batches in the same order, from the same initial weights, and PyTorch's
own layers for the network's shapes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mnist_cnn import data, quickstart
from mnist_cnn.training import train_one_epoch


def test_the_small_cnn_maps_images_to_ten_scores() -> None:
    model = quickstart.small_cnn()
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    # 1*16*9+16, 16*32*9+32, 1568*10+10: the formula of "Model"
    assert sum(p.numel() for p in model.parameters()) == 160 + 4640 + 15690


def test_the_plain_loop_trains_exactly_like_the_packages(mnist) -> None:
    x = data.normalize(mnist.train_images[:640], 0.1307, 0.3081)
    y = mnist.train_labels[:640]
    torch.manual_seed(0)
    ours = quickstart.small_cnn()
    theirs = quickstart.small_cnn()
    theirs.load_state_dict(ours.state_dict())
    opt_ours = torch.optim.Adam(ours.parameters(), lr=1e-3)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=1e-3)
    torch.manual_seed(1)  # the order train_epoch draws
    losses = quickstart.train_epoch(ours, x, y, opt_ours, batch_size=64)
    torch.manual_seed(1)
    order = torch.randperm(len(x))
    batches = [(x[b], y[b]) for b in order.split(64)]
    train_one_epoch(theirs, batches, opt_theirs, F.cross_entropy)
    assert len(losses) == 10 and losses[-1] < losses[0]
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert torch.allclose(p, q, atol=1e-6), name
    acc = quickstart.accuracy(ours, x, y)
    want = float((ours(x).argmax(1) == y).float().mean())
    assert acc == want

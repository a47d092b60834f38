"""The explorers compute what they show; checked against torch.nn.functional (float32, atol 1e-5)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mnist_cnn import data, ops
from mnist_cnn.widgets import ConvExplorer, PoolExplorer


def digit(mnist: data.MNIST, i: int) -> torch.Tensor:
    return mnist.train_images[i].float().div(255).view(1, 1, 28, 28)


def test_conv_explorer_feature_map_follows_the_controls(mnist: data.MNIST) -> None:
    ex = ConvExplorer(mnist.train_images, mnist.train_labels, draw=False)
    ref = F.conv2d(digit(mnist, 0), ops.CLASSIC_KERNELS["sobel x"].view(1, 1, 3, 3), padding=1)[0, 0]
    torch.testing.assert_close(ex.feature_map, ref, atol=1e-5, rtol=0)
    ex.digit.value = 3
    ex.kernel.value = "laplacian"
    ref = F.conv2d(digit(mnist, 3), ops.CLASSIC_KERNELS["laplacian"].view(1, 1, 3, 3), padding=1)[0, 0]
    torch.testing.assert_close(ex.feature_map, ref, atol=1e-5, rtol=0)
    ex.cells[4].value = 2.0  # editing a number makes the kernel "custom"
    assert ex.kernel.value == "custom"
    custom = ops.CLASSIC_KERNELS["laplacian"].clone()
    custom[1, 1] = 2.0
    ref = F.conv2d(digit(mnist, 3), custom.view(1, 1, 3, 3), padding=1)[0, 0]
    torch.testing.assert_close(ex.feature_map, ref, atol=1e-5, rtol=0)


def test_pool_explorer_follows_the_controls(mnist: data.MNIST) -> None:
    ex = PoolExplorer(mnist.train_images, mnist.train_labels, draw=False)
    torch.testing.assert_close(ex.pooled, F.max_pool2d(digit(mnist, 0), 2)[0, 0], atol=0, rtol=0)
    ex.mode.value = "average"
    ex.size.value = 3
    ex.stride.value = 1
    assert ex.pooled.shape == (26, 26)
    torch.testing.assert_close(ex.pooled, F.avg_pool2d(digit(mnist, 0), 3, 1)[0, 0], atol=1e-6, rtol=0)

"""mnist_cnn.batchnorm against PyTorch: BatchNorm2d against nn.BatchNorm2d in
both modes (outputs, running statistics after several batches, gradients;
float64, 1e-10)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnist_cnn import batchnorm

TOL = {"rtol": 1e-10, "atol": 1e-10}


def pair(channels: int, momentum: float) -> tuple[nn.Module, nn.Module]:
    ours = batchnorm.BatchNorm2d(channels, momentum=momentum).double()
    reference = nn.BatchNorm2d(channels, momentum=momentum).double()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # the same non-trivial γ and β in both
        for m in (ours, reference):
            m.weight.copy_(
                torch.rand(channels, generator=g, dtype=torch.float64) + 0.5
            )
            g = torch.Generator().manual_seed(1 + channels)
            m.bias.copy_(
                torch.randn(channels, generator=g, dtype=torch.float64)
            )
            g = torch.Generator().manual_seed(1)
    return ours, reference


@pytest.mark.parametrize(
    "shape, momentum", [((8, 3, 5, 5), 0.1), ((2, 4, 7, 3), 0.3)]
)
def test_batch_norm_matches_torch_in_training_and_evaluation(
    shape: tuple[int, ...], momentum: float
) -> None:
    ours, reference = pair(shape[1], momentum)
    g = torch.Generator().manual_seed(0)
    for _ in range(4):  # training: batch statistics, running averages
        x = torch.randn(shape, generator=g, dtype=torch.float64) * 3 + 2
        xa = x.clone().requires_grad_(True)
        xb = x.clone().requires_grad_(True)
        ya, yb = ours(xa), reference(xb)
        torch.testing.assert_close(ya, yb, **TOL)
        w = torch.randn(shape, generator=g, dtype=torch.float64)
        (ya * w).sum().backward()
        (yb * w).sum().backward()
        torch.testing.assert_close(xa.grad, xb.grad, **TOL)
    torch.testing.assert_close(ours.weight.grad, reference.weight.grad, **TOL)
    torch.testing.assert_close(ours.bias.grad, reference.bias.grad, **TOL)
    torch.testing.assert_close(
        ours.running_mean, reference.running_mean, **TOL
    )
    torch.testing.assert_close(ours.running_var, reference.running_var, **TOL)
    ours.eval()
    reference.eval()
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    torch.testing.assert_close(ours(x), reference(x), **TOL)
    # evaluation: one image's output does not depend on the rest of the batch
    torch.testing.assert_close(ours(x[:1]), ours(x)[:1], **TOL)


def test_batch_norm_in_training_normalises_each_channel() -> None:
    bn = batchnorm.BatchNorm2d(3).double()
    x = torch.randn(16, 3, 4, 4, dtype=torch.float64) * 5 + 7
    y = bn(x)  # γ = 1, β = 0: mean 0 and variance 1 per channel
    torch.testing.assert_close(
        y.mean(dim=(0, 2, 3)),
        torch.zeros(3, dtype=torch.float64),
        atol=1e-12,
        rtol=0,
    )
    var = y.var(dim=(0, 2, 3), unbiased=False)
    torch.testing.assert_close(
        var, torch.full((3,), 1.0, dtype=torch.float64), atol=1e-5, rtol=0
    )

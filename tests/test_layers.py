"""mnist_cnn.layers against PyTorch: BatchNorm2d against nn.BatchNorm2d in both
modes (outputs, running statistics after several batches, gradients; float64,
1e-10), dropout against F.dropout (the same kept values give the same output)
and against its own definition (the kept fraction within 4 standard errors)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_cnn import layers

TOL = {"rtol": 1e-10, "atol": 1e-10}


def pair(channels: int, momentum: float) -> tuple[nn.Module, nn.Module]:
    ours = layers.BatchNorm2d(channels, momentum=momentum).double()
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
    bn = layers.BatchNorm2d(3).double()
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


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_matches_f_dropout_given_the_same_kept_values(
    p: float,
) -> None:
    x = torch.randn(4, 6, 5, 5)
    torch.manual_seed(0)
    reference = F.dropout(x, p, training=True)
    torch.manual_seed(0)  # the same draw: which values F.dropout keeps
    keep = F.dropout(torch.ones_like(x), p, training=True) != 0
    torch.testing.assert_close(layers.dropout(x, p, keep=keep), reference)
    assert torch.equal(layers.dropout(x, p, training=False), x)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_keeps_a_fraction_one_minus_p_and_the_mean(p: float) -> None:
    n = 200_000
    x = torch.ones(n)
    y = layers.dropout(x, p, generator=torch.Generator().manual_seed(0))
    kept = float((y != 0).float().mean())
    stderr = math.sqrt(p * (1 - p) / n)
    assert abs(kept - (1 - p)) < 4 * stderr
    values = torch.unique(y).tolist()
    assert values[0] == 0.0 and values[1:] == [pytest.approx(1 / (1 - p))]
    assert abs(float(y.mean()) - 1.0) < 4 * stderr / (1 - p)
    with pytest.raises(ValueError, match="p=1"):
        layers.dropout(x, 1)

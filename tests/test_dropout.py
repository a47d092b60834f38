"""mnist_cnn.dropout against PyTorch: dropout against F.dropout (the same kept
values give the same output) and against its own definition (the kept
fraction within 4 standard errors)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from mnist_cnn.dropout import dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_matches_f_dropout_given_the_same_kept_values(
    p: float,
) -> None:
    x = torch.randn(4, 6, 5, 5)
    torch.manual_seed(0)
    reference = F.dropout(x, p, training=True)
    torch.manual_seed(0)  # the same draw: which values F.dropout keeps
    keep = F.dropout(torch.ones_like(x), p, training=True) != 0
    torch.testing.assert_close(dropout(x, p, keep=keep), reference)
    assert torch.equal(dropout(x, p, training=False), x)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_keeps_a_fraction_one_minus_p_and_the_mean(p: float) -> None:
    n = 200_000
    x = torch.ones(n)
    y = dropout(x, p, generator=torch.Generator().manual_seed(0))
    kept = float((y != 0).float().mean())
    stderr = math.sqrt(p * (1 - p) / n)
    assert abs(kept - (1 - p)) < 4 * stderr
    values = torch.unique(y).tolist()
    assert values[0] == 0.0 and values[1:] == [pytest.approx(1 / (1 - p))]
    assert abs(float(y.mean()) - 1.0) < 4 * stderr / (1 - p)
    with pytest.raises(ValueError, match="p=1"):
        dropout(x, 1)

"""Batch normalisation, written from its formula.

Explained in the chapter "Model" (``book/model.ipynb``). For a batch of
feature maps ``x`` ``(N, C, H, W)``, batch normalisation in training mode uses
each channel's statistics over the batch and the positions,

    μ_c = mean(x[:, c]),  σ²_c = mean((x[:, c] − μ_c)²),
    y = γ_c (x − μ_c) / √(σ²_c + ε) + β_c,

and keeps running averages for evaluation: ``r ← (1 − m) r + m · stat`` with
momentum ``m`` (the running variance uses the unbiased ``σ² · n / (n − 1)``).
In evaluation mode it uses the running averages instead, so one image's output
no longer depends on the rest of its batch.

Tested against ``nn.BatchNorm2d`` in ``tests/test_batchnorm.py``.

Source: S. Ioffe, C. Szegedy, "Batch normalization", ICML 2015.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BatchNorm2d"]


class BatchNorm2d(nn.Module):
    """Batch normalisation of ``(N, C, H, W)`` feature maps, per channel."""

    def __init__(
        self, channels: int, eps: float = 1e-5, momentum: float = 0.1
    ) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(channels))  # γ
        self.bias = nn.Parameter(torch.zeros(channels))  # β
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W)
        if self.training:
            mean = x.mean(dim=(0, 2, 3))  # (C,) μ over batch and positions
            var = x.var(dim=(0, 2, 3), unbiased=False)  # (C,) σ²
            n = x.numel() / x.shape[1]  # values per channel
            with torch.no_grad():  # the running averages are not learned
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        shape = (1, -1, 1, 1)  # broadcast a (C,) vector over (N, C, H, W)
        x_hat = (x - mean.view(shape)) / (var.view(shape) + self.eps).sqrt()
        return self.weight.view(shape) * x_hat + self.bias.view(shape)

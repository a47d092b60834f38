"""Dropout, written from its definition.

Explained in the chapter "Model" (``book/model.ipynb``). Dropout zeroes each
value with probability ``p`` in training and scales the survivors by
``1 / (1 − p)``, so the expected value is unchanged; in evaluation it does
nothing.

Tested against ``F.dropout`` in ``tests/test_dropout.py``.

Source: N. Srivastava et al., "Dropout", JMLR 2014.
"""

from __future__ import annotations

import torch

__all__ = ["dropout"]


def dropout(
    x: torch.Tensor,
    p: float,
    training: bool = True,
    generator: torch.Generator | None = None,
    keep: torch.Tensor | None = None,  # a given mask of kept values (bool)
) -> torch.Tensor:
    """Zero each value with probability ``p`` and scale the rest by
    ``1 / (1 − p)`` (in training); the identity in evaluation."""
    if not 0 <= p < 1:
        raise ValueError(f"p={p}: the drop probability must be in [0, 1).")
    if not training or p == 0:
        return x
    if keep is None:
        keep = torch.rand(x.shape, generator=generator, device=x.device) >= p
    return x * keep / (1 - p)

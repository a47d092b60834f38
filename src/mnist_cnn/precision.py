"""Mixed precision: steps 2 to 5 of the training loop in float32, bfloat16 or
float16.

Measured in the chapter "Applications and outlook" (section "Efficient
training on this CPU"). With ``"off"`` (the book's default) nothing changes:
:meth:`MixedPrecision.backward` is ``loss.backward()`` and
:meth:`MixedPrecision.step` is ``optimizer.step()``. With ``"bf16"`` or
``"fp16"`` the forward pass runs under ``torch.autocast``; float16's narrow
range also needs the loss scaled up before the backward pass (so that small
gradients do not round to zero) and the gradients scaled back before the step,
which ``torch.amp.GradScaler`` does.
"""

from __future__ import annotations

import contextlib

import torch

from mnist_cnn.config import Precision

__all__ = ["MixedPrecision"]


class MixedPrecision:
    """Autocast, loss scaling and the optimizer step for one precision."""

    def __init__(self, amp: Precision, device: torch.device) -> None:
        if amp == "fp16" and device.type != "cuda":
            raise ValueError(
                f"amp='fp16' needs a CUDA device, not {device.type}; use "
                "amp='bf16' or amp='off'."
            )
        self.amp, self.device_type = amp, device.type
        self.scaler = torch.amp.GradScaler(enabled=amp == "fp16")

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        """The context for steps 2 and 3: ``torch.autocast`` or nothing."""
        if self.amp == "off":
            return torch.autocast(self.device_type, enabled=False)
        dtype = torch.float16 if self.amp == "fp16" else torch.bfloat16
        return torch.autocast(self.device_type, dtype=dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """Step 4: ``loss.backward()``, on the scaled loss for float16."""
        self.scaler.scale(loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Step 5: ``optimizer.step()``; for float16 the gradients are
        unscaled first and a step with an overflow is skipped."""
        self.scaler.step(optimizer)
        self.scaler.update()

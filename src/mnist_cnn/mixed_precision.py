"""Mixed precision: the training loop's forward pass and loss in bfloat16 or
float16, without changing the loop.

Measured in the chapter "Applications and outlook" (section "Efficient
training on this CPU"). :meth:`MixedPrecision.wrap` hands the loop of
:func:`mnist_cnn.training.train_one_epoch` its network, loss and optimizer
for one precision. With ``"off"`` (the book's default) they come back as they
were. With ``"bf16"`` or ``"fp16"`` the network and the loss run under
``torch.autocast``. Float16's narrow range also needs the gradients scaled
up during the backward pass (so that small ones do not round to zero) and
scaled back before the step, which ``torch.amp.GradScaler`` does: here the
loss's backward multiplies by the scale and the optimizer's step unscales,
skips a step whose gradients overflowed and updates the scale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from mnist_cnn.config import Precision

__all__ = ["MixedPrecision", "Autocast", "ScaledStep", "scaled_loss"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Autocast(nn.Module):
    """``net`` with its forward pass under ``torch.autocast``."""

    def __init__(
        self, net: nn.Module, device_type: str, dtype: torch.dtype
    ) -> None:
        super().__init__()
        self.net, self.device_type, self.dtype = net, device_type, dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device_type, dtype=self.dtype):
            return self.net(x)


class _ScaleGrad(torch.autograd.Function):
    """The loss unchanged on the way forward; its gradient times the
    scaler's scale on the way back (``scaler.scale(loss).backward()``)."""

    @staticmethod
    def forward(ctx: Any, loss: torch.Tensor, scaler: Any) -> torch.Tensor:
        ctx.scaler = scaler
        return loss.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return ctx.scaler.scale(grad).reshape(grad.shape), None


class ScaledStep:
    """An optimizer whose ``step`` is ``scaler.step`` and ``scaler.update``:
    the gradients are unscaled, a step with an overflow is skipped."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler
    ) -> None:
        self.optimizer, self.scaler = optimizer, scaler

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        self.scaler.step(self.optimizer)
        self.scaler.update()


def scaled_loss(loss_fn: LossFn, scaler: torch.amp.GradScaler) -> LossFn:
    """``loss_fn`` whose backward pass is scaled by ``scaler``."""
    return lambda logits, y: _ScaleGrad.apply(loss_fn(logits, y), scaler)


class MixedPrecision:
    """The network, loss and optimizer of the training loop in one
    precision, and the float16 loss scaler (saved with a run's state)."""

    def __init__(self, amp: Precision, device: torch.device) -> None:
        if amp == "fp16" and device.type != "cuda":
            raise ValueError(
                f"amp='fp16' needs a CUDA device, not {device.type}; use "
                "amp='bf16' or amp='off'."
            )
        self.amp, self.device_type = amp, device.type
        self.scaler = torch.amp.GradScaler(enabled=amp == "fp16")

    def wrap(
        self,
        net: nn.Module,
        loss_fn: LossFn,
        optimizer: torch.optim.Optimizer,
    ) -> tuple[nn.Module, LossFn, Any]:
        """``net``, ``loss_fn`` and ``optimizer`` for this precision: as
        they are for ``"off"``."""
        if self.amp == "off":
            return net, loss_fn, optimizer
        dtype = torch.float16 if self.amp == "fp16" else torch.bfloat16
        autocast_net = Autocast(net, self.device_type, dtype)

        def autocast_loss(logits: torch.Tensor, y: torch.Tensor) -> Any:
            with torch.autocast(self.device_type, dtype=dtype):
                return loss_fn(logits, y)

        if self.amp == "bf16":
            return autocast_net, autocast_loss, optimizer
        return (
            autocast_net,
            scaled_loss(autocast_loss, self.scaler),
            ScaledStep(optimizer, self.scaler),
        )

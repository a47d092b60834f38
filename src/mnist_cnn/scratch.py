"""Backpropagation, assembled: a whole network's forward and backward passes
written by hand, with no autograd.

Explained in the chapter "Backpropagation, assembled"
(``book/scratch.ipynb``). Each layer keeps what its forward pass saw and its
``backward`` turns dL/d(output) into dL/d(input), storing dL/d(parameter) in
each parameter's ``.grad`` -- the chain rule, one layer at a time, from the
loss back to the image. The convolution and pooling gradients are those
derived in the chapters "Convolution" and "Pooling" (:mod:`mnist_cnn.ops`);
ReLU, flatten, linear and softmax-cross-entropy are derived here.

Everything runs on plain tensors inside ``torch.no_grad()``: no tensor asks
for gradients, so autograd records nothing, and every gradient the optimizer
uses was computed by the code below. Tested against autograd on the same
networks in ``tests/test_scratch.py``.
"""

from __future__ import annotations

import torch
from torch import nn

from mnist_cnn import models, ops, optim

__all__ = [
    "Conv2d",
    "ReLU",
    "MaxPool2d",
    "Flatten",
    "Linear",
    "softmax_cross_entropy",
    "Network",
    "from_torch",
    "train_step",
]


class Conv2d:
    """y = conv(x, W) + b; backward: dL/dx, dL/dW (ops) and dL/db."""

    def __init__(
        self,
        weight: torch.Tensor,  # (C_out, C_in, k, k)
        bias: torch.Tensor,  # (C_out,)
        padding: int,
        input_grad: bool = True,  # False for the first layer: x is the image
    ) -> None:
        self.weight, self.bias, self.padding = weight, bias, padding
        self.params, self.input_grad = [self.weight, self.bias], input_grad

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C_in, H, W)
        self.x = x
        return ops.conv2d(x, self.weight, self.bias, padding=self.padding)

    def backward(self, g: torch.Tensor) -> torch.Tensor | None:
        # g: (N, C_out, H', W')
        k, p = self.weight.shape[2], self.padding
        self.weight.grad = ops.conv2d_weight_grad(self.x, g, k, padding=p)
        self.bias.grad = g.sum(dim=(0, 2, 3))  # b is added at every position
        if not self.input_grad:
            return None
        hw = tuple(self.x.shape[2:])
        return ops.conv2d_input_grad(g, self.weight, hw, padding=p)


class ReLU:
    """y = max(0, x); dL/dx = dL/dy where x > 0, else 0."""

    params: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.positive = x > 0
        return x * self.positive

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        return g * self.positive


class MaxPool2d:
    """2x2 max pooling; dL/dx goes to each window's arg-max (ops)."""

    params: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W)
        self.x = x
        return ops.max_pool2d(x, 2)  # (N, C, H/2, W/2)

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        return ops.max_pool2d_input_grad(g, self.x, 2)


class Flatten:
    """(N, C, H, W) -> (N, C*H*W); backward reshapes back."""

    params: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, g: torch.Tensor) -> torch.Tensor:
        return g.reshape(self.shape)


class Linear:
    """y = x Wᵀ + b; dL/dW = gᵀ x, dL/db = Σ_n g, dL/dx = g W."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        self.weight, self.bias = weight, bias  # (out, in), (out,)
        self.params = [self.weight, self.bias]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, in)
        self.x = x
        return x @ self.weight.T + self.bias  # (N, out)

    def backward(self, g: torch.Tensor) -> torch.Tensor:  # (N, out)
        self.weight.grad = g.T @ self.x  # (out, in)
        self.bias.grad = g.sum(dim=0)  # (out,)
        return g @ self.weight  # (N, in)


def softmax_cross_entropy(
    logits: torch.Tensor,  # (N, K)
    labels: torch.Tensor,  # (N,) class indices
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean cross-entropy and its gradient, (softmax(z) − onehot(y)) / N."""
    loss = ops.cross_entropy(logits, labels)
    onehot = torch.zeros_like(logits)
    onehot[torch.arange(len(labels)), labels] = 1
    return loss, (ops.softmax(logits, dim=1) - onehot) / len(labels)


class Network:
    """Layers in a row: ``forward`` left to right, ``backward`` right to
    left, each layer's dL/d(input) being the next one's dL/d(output)."""

    def __init__(self, layers: list) -> None:
        self.layers = layers

    def parameters(self) -> list[torch.Tensor]:
        return [p for layer in self.layers for p in layer.params]

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    @torch.no_grad()
    def backward(self, grad_logits: torch.Tensor) -> None:
        g = grad_logits
        for layer in reversed(self.layers):
            g = layer.backward(g)


def _copy(layer: nn.Conv2d | nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    return layer.weight.detach().clone(), layer.bias.detach().clone()


def from_torch(model: nn.Module) -> Network:
    """Our layers with a copy of the weights of the fixed article model
    (``ArticleSimpleCNN``) or of its diagram's two-convolution network
    (``ArticleCNN`` without dropout), so both can be trained side by side."""
    if isinstance(model, models.ArticleSimpleCNN):
        return Network(
            [
                Conv2d(*_copy(model.conv1), padding=0, input_grad=False),
                ReLU(),
                MaxPool2d(),  # (N, 8, 13, 13)
                Flatten(),  # (N, 1352)
                Linear(*_copy(model.fc1)),  # (N, 10)
            ]
        )
    if isinstance(model, models.ArticleCNN) and model.drop1.p == 0:
        return Network(
            [
                Conv2d(*_copy(model.conv1), padding=1, input_grad=False),
                ReLU(),
                MaxPool2d(),  # (N, c1, 14, 14)
                Conv2d(*_copy(model.conv2), padding=1),
                ReLU(),
                MaxPool2d(),  # (N, c2, 7, 7)
                Flatten(),  # (N, c2 * 49)
                Linear(*_copy(model.fc1)),
                ReLU(),
                Linear(*_copy(model.fc2)),  # (N, 10)
            ]
        )
    raise ValueError(
        f"from_torch: {type(model).__name__} is not supported; give an "
        "ArticleSimpleCNN or an ArticleCNN without dropout."
    )


def train_step(
    net: Network,
    x: torch.Tensor,  # (N, 1, 28, 28)
    y: torch.Tensor,  # (N,)
    optimizer: optim.SGD,  # or any optimizer that reads .grad
) -> float:
    """The five steps, by hand: forward, loss and its gradient, backward
    through every layer, update. Returns the batch's loss."""
    logits = net.forward(x)  # (N, 10)
    loss, grad_logits = softmax_cross_entropy(logits, y)
    net.backward(grad_logits)  # fills every parameter's .grad
    optimizer.step()  # the .grad just computed, never autograd's
    return float(loss)

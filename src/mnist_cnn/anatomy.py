"""Looking inside a model: shapes, parameters, multiply-accumulates, receptive
fields, activations.

Explained in the chapter "Model" (``book/model.ipynb``). Every count here comes
from a formula and is tested against PyTorch: parameters against
``sum(p.numel())``, FLOPs against ``torch.utils.flop_counter.FlopCounterMode``,
receptive fields against the input region where the gradient of one output unit
is non-zero.

Sources: A. Araujo, W. Norris, J. Sim, "Computing receptive fields of
convolutional neural networks", Distill 2019; K. He et al., "Delving deep into
rectifiers", ICCV 2015 (initialisation).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from mnist_cnn import models

__all__ = [
    "LayerInfo",
    "shape_trace",
    "Stage",
    "stages",
    "param_count",
    "macs",
    "ReceptiveField",
    "receptive_fields",
    "empirical_receptive_field",
    "reinit_normal",
    "activation_stats",
]


@dataclass(frozen=True)
class LayerInfo:
    name: str  # the module's attribute path, e.g. "features.0"
    kind: str  # its class name, e.g. "Conv2d"
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    params: int  # from the formula, see param_count
    macs: int  # multiply-accumulates for this input, see macs


def _pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def param_count(layer: nn.Module) -> int:
    """Parameters of one layer from its formula (its own, not its
    children's)."""
    if isinstance(layer, nn.Conv2d):
        kh, kw = layer.kernel_size
        return layer.out_channels * (
            layer.in_channels // layer.groups
        ) * kh * kw + (layer.out_channels if layer.bias is not None else 0)
    if isinstance(layer, nn.Linear):
        return layer.out_features * layer.in_features + (
            layer.out_features if layer.bias is not None else 0
        )
    if isinstance(layer, nn.BatchNorm2d):
        # scale and shift per channel
        return 2 * layer.num_features if layer.affine else 0
    if any(True for _ in layer.parameters(recurse=False)):
        raise ValueError(
            f"layer: no parameter formula for {type(layer).__name__}."
        )
    return 0


def macs(
    layer: nn.Module, in_shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> int:
    """Multiply-accumulates of one conv or linear layer for one forward pass
    (others: 0).

    Conv2d: every output element is a dot product of length C_in/groups * kH *
    kW, so N * C_out * H_out * W_out * (C_in/groups) * kH * kW. Linear: N *
    out * in. One MAC is two FLOPs (a multiply and an add); bias additions,
    pooling, ReLU and batch norm are left out, as PyTorch's FlopCounterMode
    does.
    """
    if isinstance(layer, nn.Conv2d):
        kh, kw = layer.kernel_size
        return (
            math.prod(out_shape)
            * (layer.in_channels // layer.groups)
            * kh
            * kw
        )
    if isinstance(layer, nn.Linear):
        return math.prod(out_shape) * layer.in_features
    return 0


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [
        (name, m)
        for name, m in model.named_modules()
        if name and not any(True for _ in m.children())
    ]


def shape_trace(
    model: nn.Module, input_shape: tuple[int, ...] = (1, 1, 28, 28)
) -> list[LayerInfo]:
    """Run one zero batch through ``model`` and record every leaf layer in
    execution order."""
    records: list[LayerInfo] = []
    handles = []
    for name, layer in _leaves(model):

        def hook(
            module: nn.Module,
            inputs: tuple[torch.Tensor, ...],
            output: torch.Tensor,
            name: str = name,
        ) -> None:
            in_shape, out_shape = tuple(inputs[0].shape), tuple(output.shape)
            records.append(
                LayerInfo(
                    name,
                    type(module).__name__,
                    in_shape,
                    out_shape,
                    param_count(module),
                    macs(module, in_shape, out_shape),
                )
            )

        handles.append(layer.register_forward_hook(hook))
    try:
        with models.eval_mode(model), torch.no_grad():
            model(torch.zeros(input_shape))
    finally:
        for h in handles:
            h.remove()
    return records


# the words a figure writes for a layer's class
SHORT_NAMES = {
    "Conv2d": "conv",
    "MaxPool2d": "max pool",
    "AvgPool2d": "avg pool",
    "BatchNorm2d": "BN",
    "ReLU": "ReLU",
    "Flatten": "flatten",
    "Dropout": "dropout",
    "Linear": "linear",
}


@dataclass(frozen=True)
class Stage:
    ops: tuple[str, ...]  # the layers that made this tensor, short names
    shape: tuple[int, ...]  # one image's tensor, e.g. (16, 28, 28)


def stages(trace: list[LayerInfo]) -> list[Stage]:
    """The tensors an image becomes, from the input on: a new one after
    every layer with weights to multiply (convolution, linear) or a new
    shape (pooling, flatten); the layers between that keep the shape
    (batch norm, ReLU, dropout) join the ops of the stage before them."""
    found = [Stage((), trace[0].in_shape[1:])]
    for info in trace:
        name = SHORT_NAMES.get(info.kind, info.kind)
        shape = info.out_shape[1:]  # without the batch dimension
        if info.kind in ("Conv2d", "Linear") or shape != found[-1].shape:
            found.append(Stage((name,), shape))
        else:
            found[-1] = Stage(found[-1].ops + (name,), shape)
    return found


@dataclass(frozen=True)
class ReceptiveField:
    name: str
    # side of the input window one output unit sees; None: the whole input
    size: int | None
    jump: int  # input pixels between neighbouring output units
    # input coordinate of the first pixel seen by output unit 0 (negative:
    # padding)
    start: int

    def window(self, unit: int, input_size: int) -> range:
        """Input rows (or columns) seen by output unit ``unit``, clipped to the image."""
        if self.size is None:
            return range(0, input_size)
        first = self.start + unit * self.jump
        return range(max(first, 0), min(first + self.size, input_size))


def receptive_fields(
    model: nn.Module, input_shape: tuple[int, ...] = (1, 1, 28, 28)
) -> list[ReceptiveField]:
    """Receptive field of every leaf layer's output, from r_out = r_in + (k-1)
    d j_in, j_out = j_in s.

    Square kernels and inputs are assumed (true for all the book's models);
    element-wise layers keep the field; a linear layer after flattening sees
    the whole input.
    """
    size: int | None = 1
    jump, start = 1, 0
    fields = []
    for info in shape_trace(model, input_shape):
        layer = model.get_submodule(info.name)
        if (
            isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))
            and size is not None
        ):
            k, s, p = (
                _pair(layer.kernel_size)[0],
                _pair(layer.stride)[0],
                _pair(layer.padding)[0],
            )
            d = _pair(getattr(layer, "dilation", 1))[0]
            size = size + (k - 1) * d * jump
            start = start - p * jump
            jump = jump * s
        elif isinstance(layer, nn.Linear):
            size = None
        fields.append(ReceptiveField(info.name, size, jump, start))
    return fields


def empirical_receptive_field(
    model: nn.Module, layer_name: str, input_size: int = 28
) -> tuple[range, range]:
    """Rows and columns of the input where the gradient of the centre unit of
    ``layer_name`` is non-zero.

    A copy of the model is made "transparent" so that no gradient is lost by
    accident: ReLU and dropout become identities, max pooling becomes average
    pooling over the same windows, batch norm an identity, and every weight the
    positive 1/fan-in (so nothing cancels); tanh stays, its slope is positive
    everywhere.
    """
    m = copy.deepcopy(model).double().eval()
    for name, layer in list(m.named_modules()):
        replacement: nn.Module | None = None
        if isinstance(layer, (nn.ReLU, nn.Dropout, nn.BatchNorm2d)):
            replacement = nn.Identity()
        elif isinstance(layer, nn.MaxPool2d):
            replacement = nn.AvgPool2d(
                layer.kernel_size, layer.stride, layer.padding
            )
        elif isinstance(layer, (nn.Conv2d, nn.Linear)):
            with torch.no_grad():
                layer.weight.fill_(1.0 / layer.weight[0].numel())
                if layer.bias is not None:
                    layer.bias.zero_()
        if replacement is not None:
            m.set_submodule(name, replacement)
    captured: list[torch.Tensor] = []
    handle = m.get_submodule(layer_name).register_forward_hook(
        lambda _m, _i, out: captured.append(out)
    )
    x = torch.full(
        (1, 1, input_size, input_size),
        0.5,
        dtype=torch.float64,
        requires_grad=True,
    )
    try:
        m(x)
    finally:
        handle.remove()
    out = captured[0]  # (1, C, H, W) or (1, F)
    unit = (
        out[0, 0, out.shape[2] // 2, out.shape[3] // 2]
        if out.ndim == 4
        else out[0, 0]
    )
    (grad,) = torch.autograd.grad(unit, x)
    rows = torch.nonzero(grad[0, 0].abs().sum(1)).flatten()
    cols = torch.nonzero(grad[0, 0].abs().sum(0)).flatten()
    return range(int(rows.min()), int(rows.max()) + 1), range(
        int(cols.min()), int(cols.max()) + 1
    )


def reinit_normal(
    model: nn.Module, std: float | str | None, seed: int = 0
) -> nn.Module:
    """Re-draw every conv/linear weight from N(0, std^2), biases 0.

    ``std=None`` keeps PyTorch's default; ``std="he"`` uses He et al.'s sqrt(2
    / fan_in), which keeps the variance of ReLU activations constant from layer
    to layer.
    """
    if std is None:
        return model
    if isinstance(std, str) and std != "he":
        raise ValueError(f"std={std!r}: expected a number, 'he' or None.")
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                fan_in = layer.weight[0].numel()
                scale = math.sqrt(2.0 / fan_in) if std == "he" else float(std)
                layer.weight.copy_(
                    torch.randn(layer.weight.shape, generator=g) * scale
                )
                if layer.bias is not None:
                    layer.bias.zero_()
    return model


def activation_stats(
    model: nn.Module, x: torch.Tensor
) -> list[tuple[str, float, float]]:
    """(name, mean, std) of the output of every conv and linear layer for the
    batch ``x``."""
    stats: list[tuple[str, float, float]] = []
    handles = [
        layer.register_forward_hook(
            lambda _m, _i, out, name=name: stats.append(
                (name, float(out.mean()), float(out.std()))
            )
        )
        for name, layer in model.named_modules()
        if isinstance(layer, (nn.Conv2d, nn.Linear))
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return stats

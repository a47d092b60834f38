"""Convolution and pooling written from their formulas, forwards and backwards.

Explained in the chapters "Convolution" (``book/convolution.ipynb``) and
"Pooling" (``book/pooling.ipynb``). Shapes follow PyTorch: inputs ``(N, C, H,
W)``, convolution weights ``(C_out, C_in, kH, kW)``. What deep learning calls
convolution is cross-correlation (the kernel is not flipped):

    out[n, k, i, j] = b[k] + sum_{c, m, q} W[k, c, m, q] * x_pad[n, c, i*s + m*d, j*s + q*d]

with stride ``s``, dilation ``d`` and ``x_pad`` the input zero-padded by ``p``
on each side. Every function here is tested against ``torch.nn.functional``
(values and gradients) in ``tests/test_ops.py``.

Sources: the article's section 4.1-4.2 (corrected); V. Dumoulin, F. Visin, "A
guide to convolution arithmetic for deep learning", 2016; PyTorch's
``Conv2d``/``MaxPool2d`` docs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "conv_output_size",
    "pool_output_size",
    "corr2d",
    "conv2d_loop",
    "im2col",
    "conv2d",
    "conv2d_input_grad",
    "conv2d_weight_grad",
    "max_pool2d",
    "avg_pool2d",
    "max_pool2d_input_grad",
    "max_pool2x2",
    "avg_pool2x2",
    "max_pool2x2_grad",
    "im2col_simple",
    "conv2d_simple",
    "conv2d_input_grad_simple",
    "conv2d_weight_grad_simple",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "CLASSIC_KERNELS",
]

Pair = int | tuple[int, int]


def _pair(value: Pair, name: str, minimum: int) -> tuple[int, int]:
    """``value`` as a (height, width) pair of ints >= ``minimum``, or a
    ValueError naming it."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in pair
    ):
        raise ValueError(
            f"{name}={value!r}: expected an int or a pair of ints."
        )
    if min(pair) < minimum:
        raise ValueError(f"{name}={value!r}: must be >= {minimum}.")
    return pair  # type: ignore[return-value]


def conv_output_size(
    n: int, k: int, s: int = 1, p: int = 0, d: int = 1
) -> int:
    """Output length of a convolution along one axis: ``floor((n + 2p -
    d(k-1) - 1) / s) + 1``."""
    for name, value, minimum in (
        ("n", n, 1),
        ("k", k, 1),
        ("s", s, 1),
        ("p", p, 0),
        ("d", d, 1),
    ):
        if value < minimum:
            raise ValueError(f"{name}={value}: must be >= {minimum}.")
    span = d * (k - 1) + 1  # how many input positions one window covers
    if span > n + 2 * p:
        raise ValueError(
            f"k={k} (dilated to {span}) is larger than the padded input n + "
            f"2p = {n + 2 * p}."
        )
    return (n + 2 * p - span) // s + 1


def pool_output_size(
    n: int, k: int, s: int | None = None, p: int = 0, d: int = 1
) -> int:
    """Output length of a pooling window along one axis; the stride defaults to
    the window size."""
    if p * 2 > k:
        raise ValueError(
            f"p={p}: padding must be at most half the window k={k} (as in "
            "PyTorch)."
        )
    return conv_output_size(n, k, k if s is None else s, p, d)


def _check_conv(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
) -> None:
    if x.ndim != 4:
        raise ValueError(
            f"x: expected (N, C, H, W), got shape {tuple(x.shape)}."
        )
    if weight.ndim != 4:
        raise ValueError(
            "weight: expected (C_out, C_in, kH, kW), got shape "
            f"{tuple(weight.shape)}."
        )
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight: has {weight.shape[1]} input channels but x has "
            f"{x.shape[1]} "
            f"(weight {tuple(weight.shape)}, x {tuple(x.shape)})."
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(
            f"bias: expected shape ({weight.shape[0]},), got "
            f"{tuple(bias.shape)}."
        )


def _out_hw(
    x: torch.Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[int, int]:
    """(H_out, W_out), with a ValueError naming ``kernel`` when it does not fit
    the padded input."""
    try:
        return tuple(  # type: ignore[return-value]
            conv_output_size(
                x.shape[2 + a], kernel[a], stride[a], padding[a], dilation[a]
            )
            for a in range(2)
        )
    except ValueError as exc:
        raise ValueError(
            f"kernel {kernel} does not fit input {tuple(x.shape[2:])} with "
            f"padding {padding}: {exc}"
        ) from None


def corr2d(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """The sliding window at its simplest: one channel, stride 1, no padding.

    ``x`` (H, W) and ``k`` (kH, kW) give (H - kH + 1, W - kW + 1); the
    chapter "Convolution" computes it by hand. :func:`conv2d_loop` adds
    batches, channels, a bias, stride, padding and dilation."""
    fits = x.dim() == k.dim() == 2 and all(
        a <= b for a, b in zip(k.shape, x.shape)
    )
    if not fits:
        raise ValueError(
            f"corr2d: expected a 2-D image and a 2-D kernel no larger than "
            f"it, got {tuple(x.shape)} and {tuple(k.shape)}; for batches "
            f"and channels use conv2d_loop."
        )
    kh, kw = k.shape
    y = x.new_zeros(x.shape[0] - kh + 1, x.shape[1] - kw + 1)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            y[i, j] = (x[i : i + kh, j : j + kw] * k).sum()
    return y


def conv2d_loop(
    x: torch.Tensor,  # (N, C_in, H, W)
    weight: torch.Tensor,  # (C_out, C_in, kH, kW)
    bias: torch.Tensor | None = None,  # (C_out,)
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
) -> torch.Tensor:
    """The formula, one output position at a time. Slow: for teaching and small
    inputs."""
    stride, padding, dilation = (
        _pair(stride, "stride", 1),
        _pair(padding, "padding", 0),
        _pair(dilation, "dilation", 1),
    )
    _check_conv(x, weight, bias)
    kh, kw = weight.shape[2:]
    h_out, w_out = _out_hw(x, (kh, kw), stride, padding, dilation)
    # (N, C_in, H + 2p, W + 2p)
    xp = F.pad(x, (padding[1], padding[1], padding[0], padding[0]))
    rows = []
    for i in range(h_out):
        row = []
        for j in range(w_out):
            top, left = i * stride[0], j * stride[1]
            # the input values under the kernel: x_pad[n, c, i*s + m*d, j*s +
            # q*d] for all m, q
            # (N, C_in, kH, kW)
            window = xp[
                :,
                :,
                top : top + dilation[0] * (kh - 1) + 1 : dilation[0],
                left : left + dilation[1] * (kw - 1) + 1 : dilation[1],
            ]
            # sum over c, m, q -> (N, C_out)
            row.append(torch.einsum("ncmq,kcmq->nk", window, weight))
        rows.append(torch.stack(row, dim=-1))  # (N, C_out, W_out)
    out = torch.stack(rows, dim=-2)  # (N, C_out, H_out, W_out)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def im2col(
    x: torch.Tensor,  # (N, C, H, W)
    kernel_size: Pair,
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
) -> torch.Tensor:
    """Every window of ``x`` as a column: ``(N, C*kH*kW, H_out*W_out)``, the
    layout of ``F.unfold``.

    Built from views (``Tensor.unfold`` makes strided windows without copying);
    only the final ``reshape`` copies, and that copy is the memory cost of
    im2col: kH*kW times the input.
    """
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride, padding, dilation = (
        _pair(stride, "stride", 1),
        _pair(padding, "padding", 0),
        _pair(dilation, "dilation", 1),
    )
    if x.ndim != 4:
        raise ValueError(
            f"x: expected (N, C, H, W), got shape {tuple(x.shape)}."
        )
    h_out, w_out = _out_hw(x, kernel, stride, padding, dilation)
    n, c = x.shape[:2]
    # (N, C, H + 2p, W + 2p)
    xp = F.pad(x, (padding[1], padding[1], padding[0], padding[0]))
    span_h, span_w = (
        dilation[0] * (kernel[0] - 1) + 1,
        dilation[1] * (kernel[1] - 1) + 1,
    )
    # (N, C, H_out, W_out, span_h, span_w)
    windows = xp.unfold(2, span_h, stride[0]).unfold(3, span_w, stride[1])
    # (N, C, H_out, W_out, kH, kW)
    windows = windows[..., :: dilation[0], :: dilation[1]]
    return windows.permute(0, 1, 4, 5, 2, 3).reshape(
        n, c * kernel[0] * kernel[1], h_out * w_out
    )


def conv2d(
    x: torch.Tensor,  # (N, C_in, H, W)
    weight: torch.Tensor,  # (C_out, C_in, kH, kW)
    bias: torch.Tensor | None = None,  # (C_out,)
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
) -> torch.Tensor:
    """The same formula as one matrix multiply:
    ``W (C_out, C_in*kH*kW) @ im2col(x)``."""
    stride, padding, dilation = (
        _pair(stride, "stride", 1),
        _pair(padding, "padding", 0),
        _pair(dilation, "dilation", 1),
    )
    _check_conv(x, weight, bias)
    h_out, w_out = _out_hw(
        x, tuple(weight.shape[2:]), stride, padding, dilation
    )
    # (N, C_in*kH*kW, L)
    cols = im2col(x, tuple(weight.shape[2:]), stride, padding, dilation)
    out = weight.reshape(weight.shape[0], -1) @ cols  # (N, C_out, L)
    if bias is not None:
        out = out + bias.view(1, -1, 1)
    # (N, C_out, H_out, W_out)
    return out.view(x.shape[0], weight.shape[0], h_out, w_out)


def conv2d_input_grad(
    grad_out: torch.Tensor,  # (N, C_out, H_out, W_out)
    weight: torch.Tensor,  # (C_out, C_in, kH, kW)
    input_hw: tuple[int, int],
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
) -> torch.Tensor:
    """dL/dx, derived: a *full* convolution of dL/dy with the flipped kernel.

    Each x_pad[c, u, v] fed out[k, i, j] with weight W[k, c, m, q] wherever u =
    i*s + m*d, so dL/dx_pad[c, u, v] = sum W[k, c, m, q] dL/dy[k, i, j] over
    those (k, i, j, m, q). Spreading dL/dy out by inserting s-1 zeros between
    its entries, padding it by d(k-1) and correlating it with the kernel
    flipped in both axes (input and output channels swapped) computes exactly
    that sum; the rows the forward window never reached get zero, and cropping
    the padding p gives dL/dx.
    """
    stride, padding, dilation = (
        _pair(stride, "stride", 1),
        _pair(padding, "padding", 0),
        _pair(dilation, "dilation", 1),
    )
    n, c_out, h_out, w_out = grad_out.shape
    kh, kw = weight.shape[2:]
    spread = grad_out.new_zeros(
        n, c_out, (h_out - 1) * stride[0] + 1, (w_out - 1) * stride[1] + 1
    )
    spread[:, :, :: stride[0], :: stride[1]] = (
        grad_out  # (N, C_out, (H_out-1)s+1, (W_out-1)s+1)
    )
    flipped = weight.flip(2, 3).transpose(0, 1)  # (C_in, C_out, kH, kW)
    full = conv2d(
        spread,
        flipped,
        padding=(dilation[0] * (kh - 1), dilation[1] * (kw - 1)),
        dilation=dilation,
    )
    # `full` covers the padded input up to the last row/column a window
    # reached; the rest got no gradient.
    hp, wp = input_hw[0] + 2 * padding[0], input_hw[1] + 2 * padding[1]
    # (N, C_in, H + 2p, W + 2p)
    grad_padded = F.pad(full, (0, wp - full.shape[3], 0, hp - full.shape[2]))
    return grad_padded[
        :,
        :,
        padding[0] : padding[0] + input_hw[0],
        padding[1] : padding[1] + input_hw[1],
    ]


def conv2d_weight_grad(
    x: torch.Tensor,  # (N, C_in, H, W)
    grad_out: torch.Tensor,  # (N, C_out, H_out, W_out)
    kernel_size: Pair,
    stride: Pair = 1,
    padding: Pair = 0,
    dilation: Pair = 1,
) -> torch.Tensor:
    """dL/dW[k, c, m, q] = sum over n, i, j of dL/dy[n, k, i, j] * x_pad[n, c,
    i*s + m*d, j*s + q*d]."""
    kernel = _pair(kernel_size, "kernel_size", 1)
    cols = im2col(x, kernel, stride, padding, dilation)  # (N, C_in*kH*kW, L)
    # (N, C_out, L)
    g = grad_out.reshape(grad_out.shape[0], grad_out.shape[1], -1)
    # (C_out, C_in, kH, kW)
    return (
        (g @ cols.transpose(1, 2))
        .sum(0)
        .view(grad_out.shape[1], x.shape[1], *kernel)
    )


def _pool_windows(
    x: torch.Tensor,
    kernel_size: Pair,
    stride: Pair | None,
    padding: Pair,
    fill: float,
) -> torch.Tensor:
    """Windows of ``x`` padded with ``fill``:
    ``(N, C, H_out, W_out, kH*kW)``."""
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, "stride", 1)
    padding = _pair(padding, "padding", 0)
    if x.ndim != 4:
        raise ValueError(
            f"x: expected (N, C, H, W), got shape {tuple(x.shape)}."
        )
    if any(2 * padding[a] > kernel[a] for a in range(2)):
        raise ValueError(
            f"padding={padding}: must be at most half of "
            f"kernel_size={kernel} (as in PyTorch)."
        )
    _out_hw(x, kernel, stride, padding, (1, 1))
    # (N, C, H + 2p, W + 2p)
    xp = F.pad(x, (padding[1], padding[1], padding[0], padding[0]), value=fill)
    # (N, C, H_out, W_out, kH, kW)
    windows = xp.unfold(2, kernel[0], stride[0]).unfold(
        3, kernel[1], stride[1]
    )
    return windows.flatten(-2)


def max_pool2d(
    x: torch.Tensor,
    kernel_size: Pair,
    stride: Pair | None = None,
    padding: Pair = 0,
) -> torch.Tensor:
    """``pool(x)[n, c, i, j] = max over (m, q) of x_pad[n, c, i*s + m, j*s +
    q]``, padding with -inf."""
    # (N, C, H_out, W_out)
    return _pool_windows(x, kernel_size, stride, padding, float("-inf")).amax(
        -1
    )


def avg_pool2d(
    x: torch.Tensor,
    kernel_size: Pair,
    stride: Pair | None = None,
    padding: Pair = 0,
) -> torch.Tensor:
    """The mean of each window, padding with zeros that count (PyTorch's
    ``count_include_pad=True``)."""
    # (N, C, H_out, W_out)
    return _pool_windows(x, kernel_size, stride, padding, 0.0).mean(-1)


def max_pool2d_input_grad(
    grad_out: torch.Tensor,  # (N, C, H_out, W_out)
    x: torch.Tensor,  # (N, C, H, W), the forward input
    kernel_size: Pair,
    stride: Pair | None = None,
    padding: Pair = 0,
) -> torch.Tensor:
    """dL/dx of max pooling: each window passes its gradient to its arg-max
    only (zero elsewhere)."""
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride_hw = kernel if stride is None else _pair(stride, "stride", 1)
    padding_hw = _pair(padding, "padding", 0)
    n, c, h, w = x.shape
    wp = w + 2 * padding_hw[1]
    # the flat position in the padded input of every element of every window
    positions = torch.arange(
        (h + 2 * padding_hw[0]) * wp, device=x.device, dtype=torch.float64
    ).view(1, 1, h + 2 * padding_hw[0], wp)
    # (1, 1, H_out, W_out, kH*kW)
    position_windows = _pool_windows(positions, kernel, stride_hw, (0, 0), 0.0)
    # (N, C, H_out, W_out, 1)
    winner = _pool_windows(
        x, kernel, stride_hw, padding_hw, float("-inf")
    ).argmax(-1, keepdim=True)
    # (N, C, H_out, W_out)
    target = (
        position_windows.expand(n, c, -1, -1, -1)
        .gather(-1, winner)
        .squeeze(-1)
        .long()
    )
    grad_padded = grad_out.new_zeros(n, c, (h + 2 * padding_hw[0]) * wp)
    # windows that overlap add up
    grad_padded.scatter_add_(2, target.flatten(2), grad_out.flatten(2))
    grad_padded = grad_padded.view(n, c, h + 2 * padding_hw[0], wp)
    return grad_padded[
        :,
        :,
        padding_hw[0] : padding_hw[0] + h,
        padding_hw[1] : padding_hw[1] + w,
    ]


# --- Pooling and the backward passes at their simplest (chapters "Pooling"
# and "Backpropagation, assembled"): 2 x 2 windows; stride 1, no padding,
# square kernels. Each equals the general function above on that case
# (tests/test_ops.py); the layers use those.


def max_pool2x2(x: torch.Tensor) -> torch.Tensor:
    """2 x 2 max pooling at its simplest (chapter "Pooling"): ``x`` (N, C, H,
    W), H and W even, gives (N, C, H/2, W/2). :func:`max_pool2d` handles any
    window, stride and padding."""
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))


def avg_pool2x2(x: torch.Tensor) -> torch.Tensor:
    """2 x 2 average pooling, as :func:`max_pool2x2`; :func:`avg_pool2d` is
    the general one."""
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).mean(dim=(3, 5))


def max_pool2x2_grad(g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The gradient of 2 x 2 max pooling: each window's ``g`` (N, C, H/2,
    W/2) goes to the largest of its four inputs in ``x`` (N, C, H, W), H and
    W even; a tie goes to the first. :func:`max_pool2d_input_grad` handles
    any window, stride and padding."""
    n, c, h, w = x.shape
    # (N, C, H/2, W/2, 4): each window's four values, row by row
    windows = x.view(n, c, h // 2, 2, w // 2, 2).transpose(3, 4)
    windows = windows.reshape(n, c, h // 2, w // 2, 4)
    winner = F.one_hot(windows.argmax(-1), 4).to(g.dtype)
    routed = winner * g.unsqueeze(-1)  # g at each window's winner, 0 elsewhere
    routed = routed.view(n, c, h // 2, w // 2, 2, 2).transpose(3, 4)
    return routed.reshape(n, c, h, w)


def im2col_simple(x: torch.Tensor, k: int) -> torch.Tensor:
    """Every k x k window of ``x`` (N, C, H, W) as a column: (N, C k k, L),
    L = (H - k + 1)(W - k + 1) windows, row by row. :func:`im2col` adds
    stride, padding and dilation."""
    n, c = x.shape[:2]
    windows = x.unfold(2, k, 1).unfold(3, k, 1)  # (N, C, H', W', k, k)
    return windows.permute(0, 1, 4, 5, 2, 3).reshape(n, c * k * k, -1)


def conv2d_simple(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> torch.Tensor:
    """A convolution as one matrix product: ``x`` (N, C, H, W), ``w`` (O, C,
    k, k) and ``b`` (O,) give (N, O, H - k + 1, W - k + 1)."""
    n, _, h, width = x.shape
    o, _, k, _ = w.shape
    y = w.reshape(o, -1) @ im2col_simple(x, k) + b.view(1, o, 1)  # (N, O, L)
    return y.view(n, o, h - k + 1, width - k + 1)


def conv2d_input_grad_simple(g: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """dL/dx of :func:`conv2d_simple` from ``g`` = dL/dy (N, O, H', W'): the
    full correlation of ``g`` with the kernel flipped and its input and
    output channels swapped. Gives (N, C, H' + k - 1, W' + k - 1)."""
    k = w.shape[-1]
    padded = F.pad(g, (k - 1,) * 4)  # windows that only partly overlap count
    flipped = w.flip(2, 3).transpose(0, 1)  # (C, O, k, k)
    return conv2d_simple(padded, flipped, g.new_zeros(flipped.shape[0]))


def conv2d_weight_grad_simple(
    x: torch.Tensor, g: torch.Tensor
) -> torch.Tensor:
    """dL/dw of :func:`conv2d_simple`: each weight's input values times the
    output gradient, summed over the batch and the positions (O, C, k, k)."""
    n, o = g.shape[:2]
    c, k = x.shape[1], x.shape[-1] - g.shape[-1] + 1
    cols = im2col_simple(x, k)  # (N, C k k, L)
    dw = g.reshape(n, o, -1) @ cols.transpose(1, 2)  # (N, O, C k k)
    return dw.sum(0).view(o, c, k, k)


def softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``exp(z_i) / sum_j exp(z_j)``, computed as ``exp(z_i - max z) / sum_j
    exp(z_j - max z)``.

    Subtracting the maximum changes nothing mathematically (it cancels) but
    keeps ``exp`` from overflowing for large logits. Explained in the chapter
    "Model".
    """
    shifted = logits - logits.amax(dim, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim, keepdim=True)


def log_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``z_i - log sum_j exp(z_j)`` with the same max shift (the log-sum-exp
    trick)."""
    shifted = logits - logits.amax(dim, keepdim=True)
    return shifted - shifted.exp().sum(dim, keepdim=True).log()


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-log softmax(z)[y]``: logits ``(N, C)``,
    integer targets ``(N,)``."""
    if logits.ndim != 2:
        raise ValueError(
            f"logits: expected (N, C), got shape {tuple(logits.shape)}."
        )
    if target.shape != logits.shape[:1] or target.dtype not in (
        torch.int64,
        torch.int32,
    ):
        raise ValueError(
            f"target: expected {logits.shape[0]} integer class indices, got "
            f"{target.dtype} {tuple(target.shape)}."
        )
    if target.numel() and (
        int(target.min()) < 0 or int(target.max()) >= logits.shape[1]
    ):
        raise ValueError(
            f"target: class indices must lie in [0, {logits.shape[1] - 1}], "
            f"got {int(target.min())}..{int(target.max())}."
        )
    return (
        -log_softmax(logits, dim=1).gather(1, target.long().view(-1, 1)).mean()
    )


def _classic_kernels() -> dict[str, torch.Tensor]:
    gauss = torch.tensor([1.0, 2.0, 1.0])
    return {
        "identity": torch.tensor([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]),
        "box blur": torch.full((3, 3), 1 / 9),
        "gaussian blur": torch.outer(gauss, gauss) / 16,
        "sharpen": torch.tensor([[0.0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        # responds to vertical edges
        "sobel x": torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        # responds to horizontal edges
        "sobel y": torch.tensor([[-1.0, -2, -1], [0, 0, 0], [1, 2, 1]]),
        # responds to edges in any direction
        "laplacian": torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    }


# Hand-designed 3x3 kernels from image processing, (3, 3) float32; a CNN learns
# kernels like these.
CLASSIC_KERNELS: dict[str, torch.Tensor] = _classic_kernels()

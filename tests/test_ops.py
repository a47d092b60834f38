"""mnist_cnn.ops against torch.nn.functional: values, gradients (gradcheck in float64) and shapes.

Tolerances: float64 comparisons use rtol=1e-10, atol=1e-10 (the same sums in another order);
gradcheck uses its float64 defaults (eps=1e-6, atol=1e-5, rtol=1e-3).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mnist_cnn import ops

TOL = {"rtol": 1e-10, "atol": 1e-10}


@st.composite
def conv_cases(draw: st.DrawFn, max_size: int = 9) -> dict:
    """A random valid convolution: batch, channels, input size, kernel, stride, padding, dilation."""
    case = {
        "n": draw(st.integers(1, 3)),
        "c_in": draw(st.integers(1, 3)),
        "c_out": draw(st.integers(1, 4)),
        "h": draw(st.integers(1, max_size)),
        "w": draw(st.integers(1, max_size)),
        "kh": draw(st.integers(1, 4)),
        "kw": draw(st.integers(1, 4)),
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "padding": (draw(st.integers(0, 2)), draw(st.integers(0, 2))),
        "dilation": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "bias": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }
    span_h = case["dilation"][0] * (case["kh"] - 1) + 1
    span_w = case["dilation"][1] * (case["kw"] - 1) + 1
    assume(
        span_h <= case["h"] + 2 * case["padding"][0]
        and span_w <= case["w"] + 2 * case["padding"][1]
    )
    return case


def tensors(
    case: dict,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    g = torch.Generator().manual_seed(case["seed"])
    x = torch.randn(
        case["n"],
        case["c_in"],
        case["h"],
        case["w"],
        generator=g,
        dtype=torch.float64,
    )
    weight = torch.randn(
        case["c_out"],
        case["c_in"],
        case["kh"],
        case["kw"],
        generator=g,
        dtype=torch.float64,
    )
    bias = (
        torch.randn(case["c_out"], generator=g, dtype=torch.float64)
        if case["bias"]
        else None
    )
    return x, weight, bias


def geometry(case: dict) -> dict:
    return {
        "stride": case["stride"],
        "padding": case["padding"],
        "dilation": case["dilation"],
    }


@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_conv2d_equals_torch(case: dict) -> None:
    x, weight, bias = tensors(case)
    ref = F.conv2d(x, weight, bias, **geometry(case))
    torch.testing.assert_close(
        ops.conv2d(x, weight, bias, **geometry(case)), ref, **TOL
    )
    torch.testing.assert_close(
        ops.conv2d_loop(x, weight, bias, **geometry(case)), ref, **TOL
    )


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 9), st.integers(1, 9), st.integers(1, 4), st.integers(1, 4)
)
def test_corr2d_equals_torch(h: int, w: int, kh: int, kw: int) -> None:
    """The teaching version (one channel, stride 1, no padding) is
    F.conv2d on a (1, 1, H, W) batch."""
    kh, kw = min(kh, h), min(kw, w)
    x = torch.randn(h, w, dtype=torch.float64)
    k = torch.randn(kh, kw, dtype=torch.float64)
    ref = F.conv2d(x.view(1, 1, h, w), k.view(1, 1, kh, kw))[0, 0]
    torch.testing.assert_close(ops.corr2d(x, k), ref, **TOL)


@pytest.mark.parametrize(
    "x, k", [((3, 3), (4, 1)), ((1, 3, 3), (2, 2)), ((5, 5), (1, 2, 2))]
)
def test_corr2d_refuses_what_it_cannot_slide(
    x: tuple[int, ...], k: tuple[int, ...]
) -> None:
    with pytest.raises(ValueError, match=r"corr2d: .* use conv2d_loop"):
        ops.corr2d(torch.zeros(x), torch.zeros(k))


@settings(max_examples=100, deadline=None)
@given(conv_cases())
def test_im2col_equals_unfold(case: dict) -> None:
    x, _, _ = tensors(case)
    ref = F.unfold(x, (case["kh"], case["kw"]), **geometry(case))
    assert torch.equal(
        ops.im2col(x, (case["kh"], case["kw"]), **geometry(case)), ref
    )


@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_output_size_equals_the_shape_nn_conv2d_produces(case: dict) -> None:
    layer = torch.nn.Conv2d(
        case["c_in"], case["c_out"], (case["kh"], case["kw"]), **geometry(case)
    )
    out = layer(torch.zeros(case["n"], case["c_in"], case["h"], case["w"]))
    s, p, d = case["stride"], case["padding"], case["dilation"]
    assert out.shape[2] == ops.conv_output_size(
        case["h"], case["kh"], s[0], p[0], d[0]
    )
    assert out.shape[3] == ops.conv_output_size(
        case["w"], case["kw"], s[1], p[1], d[1]
    )


@settings(max_examples=150, deadline=None)
@given(conv_cases())
def test_hand_derived_backward_equals_autograd(case: dict) -> None:
    x, weight, bias = tensors(case)
    x.requires_grad_(True)
    weight.requires_grad_(True)
    out = F.conv2d(x, weight, bias, **geometry(case))
    grad_out = torch.randn(
        out.shape,
        dtype=torch.float64,
        generator=torch.Generator().manual_seed(case["seed"] + 1),
    )
    ref_dx, ref_dw = torch.autograd.grad(out, (x, weight), grad_out)
    dx = ops.conv2d_input_grad(
        grad_out, weight.detach(), (case["h"], case["w"]), **geometry(case)
    )
    dw = ops.conv2d_weight_grad(
        x.detach(), grad_out, (case["kh"], case["kw"]), **geometry(case)
    )
    torch.testing.assert_close(dx, ref_dx, **TOL)
    torch.testing.assert_close(dw, ref_dw, **TOL)


@settings(max_examples=25, deadline=None)
@given(conv_cases(max_size=6))
def test_gradcheck_through_both_convolutions(case: dict) -> None:
    x, weight, bias = tensors(case)
    inputs = [
        t.requires_grad_(True)
        for t in (x, weight) + ((bias,) if bias is not None else ())
    ]

    def vectorised(*args: torch.Tensor) -> torch.Tensor:
        return ops.conv2d(
            args[0],
            args[1],
            args[2] if len(args) > 2 else None,
            **geometry(case),
        )

    def loop(*args: torch.Tensor) -> torch.Tensor:
        return ops.conv2d_loop(
            args[0],
            args[1],
            args[2] if len(args) > 2 else None,
            **geometry(case),
        )

    assert torch.autograd.gradcheck(vectorised, inputs)
    assert torch.autograd.gradcheck(loop, inputs)


@st.composite
def pool_cases(draw: st.DrawFn) -> dict:
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    case = {
        "n": draw(st.integers(1, 3)),
        "c": draw(st.integers(1, 3)),
        "h": draw(st.integers(1, 10)),
        "w": draw(st.integers(1, 10)),
        "kernel": (kh, kw),
        "stride": draw(
            st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3))
        ),
        "padding": (
            draw(st.integers(0, kh // 2)),
            draw(st.integers(0, kw // 2)),
        ),
        "seed": draw(st.integers(0, 2**16)),
    }
    assume(
        kh <= case["h"] + 2 * case["padding"][0]
        and kw <= case["w"] + 2 * case["padding"][1]
    )
    return case


def pool_input(case: dict) -> torch.Tensor:
    g = torch.Generator().manual_seed(case["seed"])
    return torch.randn(
        case["n"],
        case["c"],
        case["h"],
        case["w"],
        generator=g,
        dtype=torch.float64,
    )


def pool_geometry(case: dict) -> dict:
    return {
        "kernel_size": case["kernel"],
        "stride": case["stride"],
        "padding": case["padding"],
    }


@settings(max_examples=150, deadline=None)
@given(pool_cases())
def test_pooling_equals_torch(case: dict) -> None:
    x = pool_input(case)
    torch.testing.assert_close(
        ops.max_pool2d(x, **pool_geometry(case)),
        F.max_pool2d(x, **pool_geometry(case)),
        **TOL,
    )
    torch.testing.assert_close(
        ops.avg_pool2d(x, **pool_geometry(case)),
        F.avg_pool2d(x, **pool_geometry(case)),
        **TOL,
    )


@settings(max_examples=150, deadline=None)
@given(pool_cases())
def test_pool_output_size_equals_nn_maxpool2d(case: dict) -> None:
    out = torch.nn.MaxPool2d(**pool_geometry(case))(pool_input(case))
    stride = case["stride"] or case["kernel"]
    assert out.shape[2] == ops.pool_output_size(
        case["h"], case["kernel"][0], stride[0], case["padding"][0]
    )
    assert out.shape[3] == ops.pool_output_size(
        case["w"], case["kernel"][1], stride[1], case["padding"][1]
    )


@settings(max_examples=150, deadline=None)
@given(pool_cases())
def test_max_pool_gradient_routing_equals_autograd(case: dict) -> None:
    x = pool_input(case).requires_grad_(True)
    out = F.max_pool2d(x, **pool_geometry(case))
    grad_out = torch.randn(
        out.shape,
        dtype=torch.float64,
        generator=torch.Generator().manual_seed(case["seed"] + 1),
    )
    (ref,) = torch.autograd.grad(out, x, grad_out)
    ours = ops.max_pool2d_input_grad(
        grad_out, x.detach(), **pool_geometry(case)
    )
    torch.testing.assert_close(ours, ref, **TOL)


@settings(max_examples=25, deadline=None)
@given(pool_cases())
def test_gradcheck_through_pooling(case: dict) -> None:
    x = pool_input(case).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda t: ops.max_pool2d(t, **pool_geometry(case)), (x,)
    )
    assert torch.autograd.gradcheck(
        lambda t: ops.avg_pool2d(t, **pool_geometry(case)), (x,)
    )


# --- invalid arguments: a ValueError naming the argument, before any computation ----------------

X = torch.zeros(1, 2, 5, 5)
W = torch.zeros(3, 2, 3, 3)


@pytest.mark.parametrize("fn", [ops.conv2d, ops.conv2d_loop])
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"weight": torch.zeros(3, 2, 7, 7)},
            r"kernel \(7, 7\) does not fit input \(5, 5\)",
        ),
        (
            {"weight": torch.zeros(3, 2, 3, 3), "dilation": 3},
            r"does not fit input",
        ),
        ({"stride": 0}, r"stride=0: must be >= 1"),
        ({"stride": -2}, r"stride=-2: must be >= 1"),
        ({"padding": -1}, r"padding=-1: must be >= 0"),
        ({"dilation": 0}, r"dilation=0: must be >= 1"),
        (
            {"stride": (1, 2, 3)},
            r"stride=\(1, 2, 3\): expected an int or a pair",
        ),
        (
            {"weight": torch.zeros(3, 4, 3, 3)},
            r"weight: has 4 input channels but x has 2",
        ),
        ({"bias": torch.zeros(2)}, r"bias: expected shape \(3,\)"),
        ({"x": torch.zeros(2, 5, 5)}, r"x: expected \(N, C, H, W\)"),
    ],
)
def test_conv_rejects_bad_arguments(fn, kwargs: dict, match: str) -> None:
    args = {"x": X, "weight": W} | kwargs
    with pytest.raises(ValueError, match=match):
        fn(**args)


@pytest.mark.parametrize("fn", [ops.max_pool2d, ops.avg_pool2d])
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kernel_size": 7}, r"kernel \(7, 7\) does not fit input \(5, 5\)"),
        ({"kernel_size": 2, "stride": 0}, r"stride=0: must be >= 1"),
        ({"kernel_size": 0}, r"kernel_size=0: must be >= 1"),
        (
            {"kernel_size": 2, "padding": 2},
            r"padding=\(2, 2\): must be at most half",
        ),
    ],
)
def test_pool_rejects_bad_arguments(fn, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fn(X, **kwargs)


@pytest.mark.parametrize(
    "args, match",
    [
        (
            (5, 7),
            r"k=7 \(dilated to 7\) is larger than the padded input n \+ 2p = 5",
        ),
        ((5, 3, 0), "s=0"),
        ((5, 3, 1, -1), "p=-1"),
        ((0, 1), "n=0"),
    ],
)
def test_output_size_rejects_bad_arguments(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ops.conv_output_size(*args)


def test_output_size_of_the_article_layers() -> None:
    """The article's 5.2 model: 28 -> conv 3x3 -> 26 -> max pool 2x2 -> 13, so 8*13*13 features."""
    assert (
        ops.conv_output_size(28, 3) == 26 and ops.pool_output_size(26, 2) == 13
    )
    assert (
        ops.conv_output_size(28, 3, p=1) == 28
        and ops.pool_output_size(28, 2) == 14
    )


# --- softmax and cross-entropy (chapter "Model") -------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 8),
    c=st.integers(1, 12),
    scale=st.sampled_from([1.0, 30.0, 1000.0]),
    seed=st.integers(0, 2**16),
)
def test_softmax_and_cross_entropy_equal_torch(
    n: int, c: int, scale: float, seed: int
) -> None:
    """Large scales check the max shift: exp(1000) overflows without it."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g, dtype=torch.float64) * scale
    target = torch.randint(0, c, (n,), generator=g)
    torch.testing.assert_close(
        ops.softmax(logits), F.softmax(logits, dim=-1), **TOL
    )
    torch.testing.assert_close(
        ops.log_softmax(logits), F.log_softmax(logits, dim=-1), **TOL
    )
    torch.testing.assert_close(
        ops.cross_entropy(logits, target),
        F.cross_entropy(logits, target),
        **TOL,
    )


def test_cross_entropy_gradient_is_softmax_minus_one_hot() -> None:
    logits = torch.randn(5, 10, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0, 3, 9, 3, 1])
    assert torch.autograd.gradcheck(
        lambda z: ops.cross_entropy(z, target), (logits,)
    )
    (grad,) = torch.autograd.grad(ops.cross_entropy(logits, target), logits)
    expected = (F.softmax(logits.detach(), dim=1) - F.one_hot(target, 10)) / 5
    torch.testing.assert_close(grad, expected, **TOL)


@pytest.mark.parametrize(
    "logits, target, match",
    [
        (
            torch.zeros(3, 10),
            torch.tensor([0, 1, 10]),
            r"class indices must lie in \[0, 9\]",
        ),
        (
            torch.zeros(3, 10),
            torch.tensor([0.0, 1.0, 2.0]),
            "integer class indices",
        ),
        (torch.zeros(3, 10), torch.tensor([0, 1]), "expected 3 integer"),
        (torch.zeros(10), torch.tensor([0]), r"logits: expected \(N, C\)"),
    ],
)
def test_cross_entropy_rejects_bad_targets(
    logits: torch.Tensor, target: torch.Tensor, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        ops.cross_entropy(logits, target)


# --- the classic kernels (chapter "Convolution") ----------------------------------------------


def test_classic_kernels_have_their_textbook_properties() -> None:
    k = ops.CLASSIC_KERNELS
    for name in ("identity", "box blur", "gaussian blur", "sharpen"):
        assert float(k[name].sum()) == pytest.approx(
            1.0
        )  # keep the mean brightness
    for name in ("sobel x", "sobel y", "laplacian"):
        assert float(k[name].sum()) == 0.0  # no response on a flat area
    assert torch.equal(k["sobel y"], k["sobel x"].T)


def correlate(image: torch.Tensor, name: str) -> torch.Tensor:
    """F.conv2d (cross-correlation, as conv layers and the chapter compute it), valid part only."""
    kernel = ops.CLASSIC_KERNELS[name].double().view(1, 1, 3, 3)
    return F.conv2d(image.double().view(1, 1, *image.shape), kernel)[0, 0]


def test_classic_kernels_respond_with_the_books_signs() -> None:
    """On images with a known answer. A ramp rising to the right (slope 1 per pixel): Sobel x
    gives (1 + 2 + 1) * (f(x+1) - f(x-1)) = +8 (positive: dark-to-bright from left to right, red
    in the chapter's figure), Sobel y gives 0; the same ramp rising downwards swaps them. The
    paraboloid x^2 + y^2: the Laplacian [[0, 1, 0], [1, -4, 1], [0, 1, 0]] gives the sum of the
    second differences, 2 + 2 = +4, everywhere; on a flat image every edge kernel gives 0."""
    rows, cols = torch.meshgrid(
        torch.arange(9.0), torch.arange(11.0), indexing="ij"
    )
    right, down = cols, rows
    full = lambda v: torch.full((7, 9), float(v), dtype=torch.float64)  # noqa: E731
    torch.testing.assert_close(correlate(right, "sobel x"), full(8))
    torch.testing.assert_close(correlate(right, "sobel y"), full(0))
    torch.testing.assert_close(correlate(down, "sobel y"), full(8))
    torch.testing.assert_close(correlate(down, "sobel x"), full(0))
    torch.testing.assert_close(
        correlate(3 * right - 2 * down, "sobel x"), full(24)
    )  # linear in the image: slope 3 to the right
    torch.testing.assert_close(
        correlate(3 * right - 2 * down, "sobel y"), full(-16)
    )
    bowl = (rows - 4) ** 2 + (cols - 5) ** 2
    torch.testing.assert_close(correlate(bowl, "laplacian"), full(4))
    for name in ("sobel x", "sobel y", "laplacian"):
        torch.testing.assert_close(
            correlate(full(5)[:3, :3], name)[0, 0],
            torch.tensor(0.0, dtype=torch.float64),
        )
    for name in ("identity", "box blur", "gaussian blur", "sharpen"):
        torch.testing.assert_close(  # a linear ramp is kept as it is
            correlate(right, name), right[1:-1, 1:-1].double()
        )


def test_the_simple_backward_passes_equal_the_general_ones_and_autograd() -> (
    None
):
    """The chapter "Backpropagation" shows the minimal versions (stride 1,
    no padding); each equals the general function on that case, and
    autograd's gradient (float64)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, 8, 10, dtype=torch.float64, generator=g)
    w = torch.randn(4, 2, 3, 3, dtype=torch.float64, generator=g)
    b = torch.randn(4, dtype=torch.float64, generator=g)
    assert torch.equal(ops.im2col_simple(x, 3), ops.im2col(x, 3))
    y = ops.conv2d_simple(x, w, b)  # (3, 4, 6, 8)
    torch.testing.assert_close(y, F.conv2d(x, w, b))
    torch.testing.assert_close(y, ops.conv2d(x, w, b))
    dy = torch.randn(y.shape, dtype=torch.float64, generator=g)
    xa, wa = x.clone().requires_grad_(), w.clone().requires_grad_()
    dx, dw = torch.autograd.grad(F.conv2d(xa, wa, b), (xa, wa), dy)
    torch.testing.assert_close(ops.conv2d_input_grad_simple(dy, w), dx)
    torch.testing.assert_close(ops.conv2d_weight_grad_simple(x, dy), dw)
    torch.testing.assert_close(
        ops.conv2d_input_grad_simple(dy, w),
        ops.conv2d_input_grad(dy, w, (8, 10)),
    )
    torch.testing.assert_close(
        ops.conv2d_weight_grad_simple(x, dy), ops.conv2d_weight_grad(x, dy, 3)
    )
    # max pooling: ties included (a constant window goes to its first input)
    x[0, 0, :2, :2] = 1.0
    pooled = torch.randn(3, 2, 4, 5, dtype=torch.float64, generator=g)
    xa = x.clone().requires_grad_()
    (auto,) = torch.autograd.grad(F.max_pool2d(xa, 2), xa, pooled)
    routed = ops.max_pool2x2_grad(pooled, x)
    torch.testing.assert_close(routed, auto)
    torch.testing.assert_close(routed, ops.max_pool2d_input_grad(pooled, x, 2))


def test_the_simple_pools_equal_the_general_ones_and_torch() -> None:
    x = torch.randn(2, 3, 6, 8, generator=torch.Generator().manual_seed(1))
    assert torch.equal(ops.max_pool2x2(x), F.max_pool2d(x, 2))
    assert torch.equal(ops.max_pool2x2(x), ops.max_pool2d(x, 2))
    torch.testing.assert_close(ops.avg_pool2x2(x), F.avg_pool2d(x, 2))
    torch.testing.assert_close(ops.avg_pool2x2(x), ops.avg_pool2d(x, 2))

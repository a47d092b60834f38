"""Checks for the exercises at the end of the chapters.

Every chapter ends with exercises whose solutions are hidden behind a toggle.
A solution calls one of these functions, so a wrong solution fails the book's
tests (nbval executes it) and is never published; a reader's own attempt calls
the same function. Each check compares the answer with a reference computed
independently (the data files, PyTorch, scikit-learn or the book's package)
and returns a one-line confirmation, or raises :class:`WrongAnswer` naming
the exercise, what is wrong and what to look at.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from sklearn import metrics as skm
from torch import nn

from mnist_cnn import (
    anatomy,
    data,
    explain,
    finetune,
    models,
    ops,
    optim,
    quickstart,
)
from mnist_cnn.run_state import EpochRecord, Progress

__all__ = [
    "WrongAnswer",
    "NotAttempted",
    "check_reckless_lr",
    "check_first_layer_parameters",
    "check_overfit_one_batch",
    "check_idx_file_size",
    "check_normalised_background",
    "check_mean_images",
    "check_strided_output_size",
    "check_conv_parameters",
    "check_dilated_padding",
    "check_composed_kernel",
    "check_stride_shifts",
    "check_pool_13",
    "check_pool_composition",
    "check_pool3_change",
    "check_classifier_parameters",
    "check_max_pool_routing",
    "check_parameter_count",
    "check_stacked_receptive_field",
    "check_small_cnn",
    "check_initial_loss",
    "check_steps_per_epoch",
    "check_momentum_step",
    "check_cosine_lr",
    "check_flatten_shapes",
    "check_layer_backward",
    "check_constant_accuracy",
    "check_precision_recall",
    "check_top_k_accuracy",
    "check_smoothed_target",
    "check_weight_decay_factor",
    "check_early_stopping",
    "check_probe_parameters",
    "check_lora_parameters",
    "check_probe",
    "check_shard",
    "check_resume_step",
    "check_bfloat16_step",
    "check_saliency",
    "check_inverted",
    "check_shift_right",
]


class WrongAnswer(AssertionError):
    """An answer to an exercise is wrong; the message says what and why."""


class NotAttempted(WrongAnswer):
    """The answer is still the course version's placeholder: ``...``, or a
    function whose body raises ``NotImplementedError``."""


def _expect(ok: bool, exercise: str, what: str, hint: str) -> None:
    if not ok:
        raise WrongAnswer(f"Exercise {exercise}: {what}. {hint}")


def _number(answer: Any, exercise: str) -> float:
    ok = isinstance(answer, (int, float)) and not isinstance(answer, bool)
    if not ok and isinstance(answer, torch.Tensor) and answer.numel() == 1:
        return float(answer)
    _expect(
        ok,
        exercise,
        f"expected a number, got {type(answer).__name__} {answer!r}",
        "Pass the number itself (an int or a float).",
    )
    return float(answer)


def _expect_number(
    answer: Any,
    want: float,
    exercise: str,
    what: str,  # formatted with the answer, e.g. "{got:g} is not the gap"
    hint: str,
    tol: float = 0.0,
) -> None:
    """Raise :class:`WrongAnswer` unless the answer is a number within
    ``tol`` of ``want``."""
    got = _number(answer, exercise)
    _expect(abs(got - want) <= tol, exercise, what.format(got=got), hint)


def _call(fn: Callable[..., Any], exercise: str, *args: Any) -> Any:
    try:
        return fn(*args)
    except WrongAnswer:
        raise
    except NotImplementedError as exc:  # the course version's placeholder
        raise NotAttempted(
            f"Exercise {exercise}: not attempted yet (your code still raises "
            "NotImplementedError). Write it and run the cell again."
        ) from exc
    except Exception as exc:  # the reader's code failed: say where
        raise WrongAnswer(
            f"Exercise {exercise}: your function raised "
            f"{type(exc).__name__}: {exc}. Run it on the example in the "
            "question first."
        ) from exc


def _close(
    got: Any, want: torch.Tensor, exercise: str, name: str, atol: float
) -> None:
    got = torch.as_tensor(got, dtype=want.dtype)
    _expect(
        tuple(got.shape) == tuple(want.shape),
        exercise,
        f"{name} has shape {tuple(got.shape)}, expected {tuple(want.shape)}",
        "Check which dimension you reduced over.",
    )
    worst = float((got - want).abs().max()) if want.numel() else 0.0
    _expect(
        worst <= atol,
        exercise,
        f"{name} differs from the reference by up to {worst:.3g} "
        f"(allowed {atol:g})",
        "Compare a small case by hand.",
    )


# --- Chapter "Quick start" --------------------------------------------------


def check_reckless_lr(accuracy: Any) -> str:
    """quickstart.1: the test accuracy (a fraction) of the quick start's
    network after one epoch on 10,000 images with Adam at learning rate 1.0:
    near chance, whatever it learned on the way."""
    got = _number(accuracy, "quickstart.1")
    _expect(
        0 <= got <= 1,
        "quickstart.1",
        f"{got:g} is not a fraction between 0 and 1",
        "Give the accuracy as quickstart.accuracy returns it (0.1, not 10).",
    )
    _expect(
        got < 0.5,
        "quickstart.1",
        f"an accuracy of {got:.3f} is what a sensible learning rate gives",
        "Build the optimizer with lr=1.0 and train a fresh network.",
    )
    return f"correct: {got:.3f}, near the 0.1 of guessing"


def check_first_layer_parameters(answer: Any) -> str:
    """quickstart.2: weights and biases of ``Conv2d(1, 16, kernel_size=3)``,
    the quick start's first layer."""
    want = sum(p.numel() for p in quickstart.small_cnn()[0].parameters())
    _expect_number(
        answer,
        want,
        "quickstart.2",
        "{got:g} is not the first layer's parameter count",
        "Each of the 16 filters has 1 x 3 x 3 weights and one bias.",
    )
    return f"correct: {want} parameters"


def check_overfit_one_batch(
    train: Callable[[nn.Module, torch.Tensor, torch.Tensor], Any],
) -> str:
    """quickstart.3: ``train(model, images, labels)`` trains ``model`` on one
    batch of 64 normalised training images until it knows them by heart:
    the loss on that batch, measured here afterwards, ends below 0.05."""
    mnist = data.load_mnist()
    mean, std = data.compute_mean_std(mnist.train_images)
    x = data.normalize(mnist.train_images[:64], mean, std)  # (64, 1, 28, 28)
    y = mnist.train_labels[:64]
    torch.manual_seed(0)
    model = quickstart.small_cnn()
    with torch.no_grad():
        before = float(F.cross_entropy(model(x), y))
    _call(train, "quickstart.3", model, x.clone(), y.clone())
    with torch.no_grad():
        after = float(F.cross_entropy(model(x), y))
    _expect(
        after < 0.05,
        "quickstart.3",
        f"the loss on the batch went from {before:.3f} to {after:.3f}",
        "Train the network you are given (its parameters) for about 100 "
        "steps with Adam at lr 0.001, on the same batch every step.",
    )
    return (
        f"correct: the loss on the batch fell from {before:.3f} to {after:.4f}"
    )


# --- Chapter "Data" ---------------------------------------------------------


def check_idx_file_size(n_bytes: Any) -> str:
    """data.1: bytes of ``train-images-idx3-ubyte`` once decompressed."""
    path = data._find(data.default_root(), "train-images-idx3-ubyte")
    if path is None:
        raise FileNotFoundError(
            f"train-images-idx3-ubyte(.gz) is not in {data.default_root()}; "
            "run data.load_mnist() once first."
        )
    want = len(data._read_bytes(path))
    _expect_number(
        n_bytes,
        want,
        "data.1",
        "{got:,.0f} bytes is not the file's size",
        "Count the header (magic number and one 4-byte size per dimension) "
        "and one byte per pixel.",
    )
    return f"correct: {want:,} bytes"


def _training_part_mean_std() -> tuple[float, float]:
    """The mean and standard deviation of the training part: MNIST's
    training images without the validation images of
    :func:`mnist_cnn.data.train_val_split`, as the chapter "Data" splits."""
    images = data.load_mnist().train_images
    train_idx, _ = data.train_val_split(images.shape[0])
    return data.compute_mean_std(images[train_idx])


def check_normalised_background(value: Any) -> str:
    """data.2: a black pixel (0) after normalising with the mean and
    standard deviation of the training part (the validation images of
    :func:`mnist_cnn.data.train_val_split` left out)."""
    mean, std = _training_part_mean_std()
    want = float(
        data.normalize(torch.zeros(1, 1, 1, dtype=torch.uint8), mean, std)
    )
    _expect_number(
        value,
        want,
        "data.2",
        "{got:.4f} is not what a black pixel becomes",
        "Scale to [0, 1] first, then subtract the mean and divide by the "
        "standard deviation.",
        tol=1e-3,
    )
    return f"correct: {want:.4f}"


def check_mean_images(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> str:
    """data.3: ``fn(images, labels)`` -> ``(10, 28, 28)`` mean image of each
    digit, pixels in [0, 1]."""
    mnist = data.load_mnist()
    images, labels = mnist.train_images, mnist.train_labels  # (N, 28, 28)
    want = torch.stack(
        [images[labels == k].double().mean(0) / 255 for k in range(10)]
    )  # (10, 28, 28)
    before = images[:8].clone()
    got = _call(fn, "data.3", images, labels)
    _expect(
        torch.equal(images[:8], before),
        "data.3",
        "your function changed the images it was given",
        "Convert a copy (.float() makes one) instead of working in place.",
    )
    _close(got, want, "data.3", "the mean images", 1e-4)
    return "correct: ten mean images, each within 1e-4 of the reference"


def check_test_standardised(answer: Any) -> str:
    """data.4: the mean and standard deviation of MNIST's 10,000 test images
    normalised with the mean and standard deviation of the training part."""
    mean, std = _training_part_mean_std()
    # (10000, 1, 28, 28)
    x = data.normalize(data.load_mnist().test_images, mean, std).double()
    want = (float(x.mean()), float(x.std()))
    _expect(
        isinstance(answer, (tuple, list)) and len(answer) == 2,
        "data.4",
        f"{answer!r} is not a pair",
        "Give (test_mean, test_std), two numbers.",
    )
    for got, ref, what in zip(answer, want, ("mean", "standard deviation")):
        _expect_number(
            got,
            ref,
            "data.4",
            "{got:.4f} is not the test images' " + what,
            "Normalise the test images with the training part's mean and "
            "std (data.normalize), then take .mean() and .std().",
            tol=1e-3,
        )
    return f"correct: mean {want[0]:.4f}, standard deviation {want[1]:.4f}"


# --- Chapter "Convolution" --------------------------------------------------


def _five_by_five(
    answer: Any, dtype: torch.dtype, exercise: str, what: str, hint: str
) -> torch.Tensor:
    """The answer as a tensor of 25 numbers, or WrongAnswer saying what it
    should have been."""
    got = torch.as_tensor(answer, dtype=dtype)
    _expect(
        got.numel() == 25,
        exercise,
        f"expected {what}, got shape {tuple(got.shape)}",
        hint,
    )
    return got


def _size_of(layer: nn.Module, n: int = 28) -> int:
    return int(layer(torch.zeros(1, 1, n, n)).shape[-1])


def check_strided_output_size(size: Any) -> str:
    """convolution.1: the output width of a 3x3 convolution, stride 2,
    padding 1, on a 28 x 28 image, from ``nn.Conv2d``."""
    want = _size_of(nn.Conv2d(1, 1, 3, stride=2, padding=1))
    _expect_number(
        size,
        want,
        "convolution.1",
        "{got:g} is not the output width",
        "floor((n + 2p - k) / s) + 1: the stride divides.",
    )
    return f"correct: {want} x {want}"


def check_conv_parameters(answer: Any) -> str:
    """convolution.2: parameters of ``nn.Conv2d(16, 32, kernel_size=5)``."""
    want = sum(p.numel() for p in nn.Conv2d(16, 32, 5).parameters())
    _expect_number(
        answer,
        want,
        "convolution.2",
        "{got:,.0f} is not its parameter count",
        "Each of the 32 filters spans all 16 input channels (16 x 5 x 5 "
        "weights) and has one bias.",
    )
    return f"correct: {want:,} parameters"


def check_dilated_padding(padding: Any) -> str:
    """convolution.3: the padding that keeps 28 x 28 at 28 x 28 under a
    5x5 kernel with dilation 2 and stride 1, tried with ``nn.Conv2d``."""
    p = _number(padding, "convolution.3")
    _expect(
        p == int(p) and 0 <= p <= 14,
        "convolution.3",
        f"{p:g} is not a padding between 0 and 14 pixels",
        "Padding is a whole number of pixels on each side.",
    )
    got = _size_of(nn.Conv2d(1, 1, 5, padding=int(p), dilation=2))
    _expect(
        got == 28,
        "convolution.3",
        f"padding {int(p)} makes the output {got} x {got}",
        "The dilated kernel covers d(k - 1) + 1 pixels; pad half of one "
        "less than that on each side.",
    )
    return f"correct: padding {int(p)} keeps 28 x 28"


def check_composed_kernel(kernel: Any) -> str:
    """convolution.4: the 5x5 kernel of ``ops.CLASSIC_KERNELS["sobel x"]``
    followed by ``["gaussian blur"]`` (cross-correlations, no padding),
    checked on 8 training digits against the two 3x3 layers (float64)."""
    k1 = ops.CLASSIC_KERNELS["sobel x"].double().view(1, 1, 3, 3)
    k2 = ops.CLASSIC_KERNELS["gaussian blur"].double().view(1, 1, 3, 3)
    got = _five_by_five(
        kernel, torch.float64, "convolution.4", "25 weights (5 x 5)",
        "Two 3 x 3 layers see 5 x 5 pixels.",
    )  # fmt: skip
    x = data.load_mnist().train_images[:8].double().div(255).unsqueeze(1)
    want = F.conv2d(F.conv2d(x, k1), k2)  # (8, 1, 24, 24)
    _close(
        F.conv2d(x, got.reshape(1, 1, 5, 5)),
        want,
        "convolution.4",
        "one 5 x 5 layer",
        1e-10,
    )
    return "correct: one 5x5 layer equals the two 3x3 layers on 8 digits"


def check_stride_shifts(answer: Any) -> str:
    """convolution.5: the shifts of 1 to 4 pixels to the right after which
    a convolution with stride 2 gives a shifted copy of its output."""
    generator = torch.Generator().manual_seed(0)
    image = torch.zeros(1, 1, 28, 28, dtype=torch.float64)
    image[..., 6:22, 6:22] = torch.rand(
        16, 16, dtype=torch.float64, generator=generator
    )
    weight = torch.randn(1, 1, 3, 3, dtype=torch.float64, generator=generator)

    def output(k: int) -> torch.Tensor:  # (14, 14)
        moved = F.pad(image[..., : 28 - k], (k, 0))  # k pixels to the right
        return F.conv2d(moved, weight, stride=2, padding=1)[0, 0]

    want = [
        k
        for k in range(1, 5)
        if any(
            torch.allclose(output(k)[:, j:], output(0)[:, : 14 - j])
            for j in range(1, k + 1)  # at most k positions
        )
    ]
    _expect(
        isinstance(answer, Sequence)
        and [int(_number(k, "convolution.5")) for k in answer] == want,
        "convolution.5",
        f"{answer!r} are not the shifts the output follows",
        "A stride-2 output moves by k/2 positions when the input moves k "
        "pixels; only a whole number of positions gives a shifted copy.",
    )
    return f"correct: {want}"


# --- Chapter "Pooling" ------------------------------------------------------


def check_pool_13(size: Any, unread: Any) -> str:
    """pooling.1: the output width of ``nn.MaxPool2d(2)`` on 13 x 13, and
    the rows (the same as the columns) it never reads: lighting such a row
    changes no output."""
    pool = nn.MaxPool2d(2)
    out = pool(torch.zeros(1, 1, 13, 13))
    want_rows = set()
    for i in range(13):
        probe = torch.zeros(1, 1, 13, 13)
        probe[..., i, :] = 1.0
        if not pool(probe).any():
            want_rows.add(i)
    _expect_number(
        size,
        out.shape[-1],
        "pooling.1",
        "{got:g} is not the output width",
        "floor((13 - 2) / 2) + 1.",
    )
    rows = {unread} if isinstance(unread, int) else unread
    ok = (
        isinstance(rows, (set, list, tuple))
        and {int(r) for r in rows if isinstance(r, (int, float))} == want_rows
    )
    _expect(
        ok,
        "pooling.1",
        f"{unread!r}: not the rows (and columns) no window reads",
        "Windows start at rows 0, 2, 4, ...: which row has no partner?",
    )
    rows_text = ", ".join(str(r) for r in sorted(want_rows))
    n = out.shape[-1]
    return f"correct: {n} x {n}; row and column {rows_text} never read"


def check_pool_composition(max_same: Any, avg_same: Any) -> str:
    """pooling.2: whether two 2x2 max pools equal one 4x4 max pool, and the
    same for average pooling, decided on 32 training digits."""
    x = data.load_mnist().train_images[:32].double().div(255).unsqueeze(1)
    want = (
        torch.equal(F.max_pool2d(F.max_pool2d(x, 2), 2), F.max_pool2d(x, 4)),
        torch.allclose(
            F.avg_pool2d(F.avg_pool2d(x, 2), 2), F.avg_pool2d(x, 4)
        ),
    )
    got = (max_same, avg_same)
    _expect(
        all(isinstance(g, bool) for g in got),
        "pooling.2",
        f"expected two booleans, got {got!r}",
        "Answer True or False for each.",
    )
    _expect(
        got == want,
        "pooling.2",
        f"{got} is not right for (max, average)",
        "Try it: compare the two results on a few digits with torch.equal.",
    )
    return f"correct: max {want[0]}, average {want[1]}"


def check_classifier_parameters(flatten: Any, global_average: Any) -> str:
    """pooling.3: parameters of a 10-class linear layer after flattening
    16 maps of 7 x 7, and after global average pooling them."""
    want = [
        sum(p.numel() for p in nn.Linear(n, 10).parameters())
        for n in (16 * 7 * 7, 16)
    ]
    for got, w, where in zip(
        (flatten, global_average), want, ("flattening", "pooling")
    ):
        _expect_number(
            got,
            w,
            "pooling.3",
            "{got:,.0f} is not the count after " + where,
            "A linear layer from n inputs to 10 has 10 n weights and 10 "
            "biases; global average pooling leaves one number per map.",
        )
    return f"correct: {want[0]:,} after flattening, {want[1]} after pooling"


def check_pool3_change(answer: Any) -> str:
    """pooling.4: the relative change of the feature maps of the first
    1,000 test digits (four classic kernels, ReLU, a 3 x 3 max pool with
    stride 1 and padding 1) when the digits move one pixel to the right."""
    images = data.load_mnist().test_images[:1000]  # (1000, 28, 28) uint8
    x = images.float().div(255).unsqueeze(1)  # (1000, 1, 28, 28)
    names = ("sobel x", "sobel y", "laplacian", "gaussian blur")
    bank = torch.stack([ops.CLASSIC_KERNELS[n] for n in names]).unsqueeze(1)

    def pooled(t: torch.Tensor) -> torch.Tensor:  # PyTorch's own layers
        maps = F.conv2d(t, bank, padding=1).relu()
        return F.max_pool2d(maps, 3, stride=1, padding=1)

    moved = F.pad(x[..., :-1], (1, 0))  # one pixel to the right
    want = float((pooled(moved) - pooled(x)).norm() / pooled(x).norm())
    _expect_number(
        answer,
        want,
        "pooling.4",
        "{got:.4f} is not the relative change",
        "Measure ||f(shift(x)) - f(x)|| / ||f(x)|| with "
        "invariance.relative_change(pool3, x_test, 0, 1).",
        tol=1e-4,
    )
    return f"correct: {want:.3f}"


# --- Chapter "Model" --------------------------------------------------------


def check_parameter_count(answer: Any) -> str:
    """model.1: parameters of ``BookCNN(c1=8, c2=16, c3=16)``."""
    model = models.BookCNN(c1=8, c2=16, c3=16)
    want = sum(p.numel() for p in model.parameters())
    _expect_number(
        answer,
        want,
        "model.1",
        "{got:,.0f} is not its parameter count",
        "Each convolution has C_out * C_in * 3 * 3 weights and no bias "
        "(batch norm's shift replaces it), each batch norm 2 * C_out "
        "parameters, the head 16 * 7 * 7 * 10 + 10.",
    )
    return f"correct: {want:,} parameters"


def check_stacked_receptive_field(answer: Any) -> str:
    """model.2: receptive field of three stacked 3x3 convolutions."""
    stack = nn.Sequential(*(nn.Conv2d(1, 1, 3, padding=1) for _ in range(3)))
    want = anatomy.receptive_fields(stack)[-1].size
    _expect_number(
        answer,
        want,
        "model.2",
        "{got:g} pixels is not the receptive field",
        "Each 3 x 3 convolution widens the field by k - 1 = 2 pixels.",
    )
    return f"correct: {want} x {want} pixels"


def check_small_cnn(model: Any, budget: int = 20_000) -> str:
    """model.3: a network under ``budget`` parameters, ``(N, 1, 28, 28)`` ->
    ``(N, 10)``, every parameter reached by the gradient."""
    _expect(
        isinstance(model, nn.Module),
        "model.3",
        f"expected an nn.Module, got {type(model).__name__}",
        "Pass an instance (MyNet()), not the class.",
    )
    n = sum(p.numel() for p in model.parameters())
    _expect(
        0 < n <= budget,
        "model.3",
        f"it has {n:,} parameters (budget {budget:,})",
        "Use fewer channels or pool earlier before the linear layer.",
    )
    model.train()
    for batch in (1, 5):
        out = _call(model, "model.3", torch.randn(batch, 1, 28, 28))
        _expect(
            isinstance(out, torch.Tensor) and out.shape == (batch, 10),
            "model.3",
            f"a batch of {batch} gives {getattr(out, 'shape', out)}, "
            f"expected ({batch}, 10)",
            "End with a linear layer to 10 logits and flatten per image.",
        )
    out.sum().backward()
    dead = [k for k, p in model.named_parameters() if p.grad is None]
    _expect(
        not dead,
        "model.3",
        f"no gradient reaches {dead}",
        "Every layer you create must be used in forward().",
    )
    return f"correct: {n:,} parameters, output (N, 10)"


def check_initial_loss(answer: Any) -> str:
    """model.4: the cross-entropy loss to expect from an untrained network
    whose softmax gives each of the 10 classes a probability of 1/10."""
    want = float(F.cross_entropy(torch.zeros(1, 10), torch.tensor([3])))
    _expect_number(
        answer,
        want,
        "model.4",
        "{got:g} is not the loss of a uniform guess",
        "The loss is -log of the right class's probability, here 1/10.",
        tol=1e-3,
    )
    return f"correct: log 10 = {want:.4f}"


# --- Chapter "Training" -----------------------------------------------------


def check_steps_per_epoch(answer: Any) -> str:
    """training.1: ``(steps, unused images)`` for 55,000 images in batches of
    128 with the last partial batch dropped."""
    batches = list(
        data.batch_indices(torch.arange(55_000), 128, drop_last=True)
    )
    want = (len(batches), 55_000 - sum(len(b) for b in batches))
    ok = isinstance(answer, Sequence) and len(answer) == 2
    _expect(
        ok, "training.1", f"expected a pair, got {answer!r}", "Pass (a, b)."
    )
    got = tuple(_number(a, "training.1") for a in answer)
    _expect(
        got == want,
        "training.1",
        f"{answer} is not (steps, unused images)",
        "Divide with floor division; the remainder is never trained on "
        "in that epoch.",
    )
    return f"correct: {want[0]} steps, {want[1]} images left out"


def check_momentum_step(
    step: Callable[..., tuple[torch.Tensor, torch.Tensor]],
) -> str:
    """training.2: ``step(w, v, g, lr, momentum)`` -> ``(w, v)``, PyTorch's
    SGD with (heavy-ball) momentum, checked for 5 steps."""
    gen = torch.Generator().manual_seed(0)
    w0 = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    grads = torch.randn(5, 3, 4, generator=gen, dtype=torch.float64)
    ref = nn.Parameter(w0.clone())
    opt = torch.optim.SGD([ref], lr=0.1, momentum=0.9)
    w, v = w0.clone(), torch.zeros_like(w0)
    for t, g in enumerate(grads):
        ref.grad = g.clone()
        opt.step()
        out = _call(step, "training.2", w, v, g.clone(), 0.1, 0.9)
        _expect(
            isinstance(out, tuple) and len(out) == 2,
            "training.2",
            f"expected (w, v), got {type(out).__name__}",
            "Return the new weights and the new velocity.",
        )
        w, v = out
        _close(w, ref.detach(), "training.2", f"w after step {t + 1}", 1e-10)
    return "correct: 5 steps equal torch.optim.SGD(momentum=0.9)"


def check_cosine_lr(fn: Callable[[int, int, float], float]) -> str:
    """training.3: ``fn(step, total, peak)``, cosine decay from ``peak`` to 0
    over ``total`` steps, against ``CosineAnnealingLR``."""
    total, peak = 20, 0.05
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=peak)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    for t in range(total + 1):
        want = opt.param_groups[0]["lr"]
        got = _number(_call(fn, "training.3", t, total, peak), "training.3")
        _expect(
            math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12),
            "training.3",
            f"at step {t} of {total} you give {got:.6g}, expected {want:.6g}",
            "lr = peak * (1 + cos(pi * step / total)) / 2.",
        )
        opt.step()
        sched.step()
    return "correct: equal to CosineAnnealingLR at all 21 steps"


def check_descent_lr_one(answer: Any) -> str:
    """training.4: where gradient descent on ``L(w) = (w - 3) ** 2`` from
    ``w = 0`` with learning rate 1 leaves ``w`` after 10 and after 11 steps,
    as ``(w10, w11)``; computed by :func:`mnist_cnn.optim.descend`."""
    visited = optim.descend(1.0, steps=11)  # w after 0, 1, ..., 11 steps
    want = (visited[10], visited[11])
    ok = isinstance(answer, Sequence) and len(answer) == 2
    _expect(
        ok, "training.4", f"expected a pair, got {answer!r}", "Pass (a, b)."
    )
    got = tuple(_number(a, "training.4") for a in answer)
    _expect(
        all(abs(g - v) < 1e-9 for g, v in zip(got, want, strict=True)),
        "training.4",
        f"{answer} is not where w stands after 10 and 11 steps",
        "Each step multiplies the distance to 3 by 1 - 2 * lr; with lr = 1 "
        "that is -1.",
    )
    return f"correct: w jumps between {want[0]:g} and {want[1]:g} forever"


# --- Chapter "Backpropagation, assembled" -----------------------------------


def check_flatten_shapes(arriving: Any, handed_on: Any) -> str:
    """scratch.1: in ``ArticleCNN`` for a batch of 32, the shape of the
    gradient arriving at the flatten layer and of the one it hands to the
    second max pooling, read from autograd's hooks."""
    torch.manual_seed(0)
    model = models.ArticleCNN()
    shapes: dict[str, tuple[int, ...]] = {}
    x = torch.randn(32, 1, 28, 28)
    pooled = model.pool2(
        F.relu(model.conv2(model.pool1(F.relu(model.conv1(x)))))
    )
    flat = torch.flatten(pooled, 1)

    def keep(key: str) -> Callable[[torch.Tensor], None]:
        return lambda g: shapes.__setitem__(key, tuple(g.shape))

    pooled.register_hook(keep("handed"))
    flat.register_hook(keep("arriving"))
    model.fc2(F.relu(model.fc1(flat))).sum().backward()
    for got, key, name in (
        (arriving, "arriving", "the gradient arriving at flatten"),
        (handed_on, "handed", "the gradient flatten hands on"),
    ):
        ok = (
            isinstance(got, (tuple, list, torch.Size))
            and tuple(got) == shapes[key]
        )
        _expect(
            ok,
            "scratch.1",
            f"{got!r} is not the shape of {name}",
            "Flatten keeps the batch and joins channels, height and width; "
            "its backward only reshapes.",
        )
    return f"correct: {shapes['arriving']} arrives, {shapes['handed']} leaves"


def check_layer_backward(
    layer: Any,
    reference: Callable[[torch.Tensor], torch.Tensor],
    input_shapes: tuple[tuple[int, ...], ...] = ((4, 3, 8, 8), (2, 3, 7, 9)),
    exercise: str = "scratch",
) -> str:
    """``layer.forward`` equals ``reference`` and ``layer.backward(g)`` equals
    autograd's ``dL/dx`` through ``reference`` for ``dL/dy = g`` (float64),
    for each of ``input_shapes`` (by default an even and an odd height and
    width: 2x2 pooling drops an odd last row, which still needs gradient
    0)."""
    gen = torch.Generator().manual_seed(0)
    for shape in input_shapes:
        x = torch.randn(shape, generator=gen, dtype=torch.float64)
        x.requires_grad_(True)
        y = reference(x)
        g = torch.randn(y.shape, generator=gen, dtype=torch.float64)
        (y * g).sum().backward()  # x.grad = dL/dx for dL/dy = g
        with torch.no_grad():
            ours = _call(layer.forward, exercise, x.detach().clone())
            _close(ours, y.detach(), exercise, f"forward of {shape}", 1e-10)
            back = _call(layer.backward, exercise, g.clone())
            _close(back, x.grad, exercise, f"backward for {shape}", 1e-10)
    return "correct: forward and backward equal autograd's (float64)"


def check_max_pool_routing(grad: Any) -> str:
    """scratch.4: the gradient a 5 x 5 image with one bright centre pixel
    receives from 3x3 max pooling with stride 1, for output gradient 1
    everywhere, against autograd."""
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0
    x.requires_grad_(True)
    F.max_pool2d(x, 3, stride=1).sum().backward()
    got = _five_by_five(
        grad, torch.float32, "scratch.4", "the 5 x 5 gradient",
        "The gradient has the input's shape.",
    )  # fmt: skip
    _close(got.reshape(1, 1, 5, 5), x.grad, "scratch.4", "the gradient", 0.0)
    return f"correct: the centre receives {float(x.grad[0, 0, 2, 2]):g}"


# --- Chapter "Evaluation" ---------------------------------------------------


def check_constant_accuracy(answer: Any) -> str:
    """evaluation.1: test accuracy (a fraction) of always answering 1."""
    labels = data.load_mnist().test_labels
    want = float((labels == 1).double().mean())
    got = _number(answer, "evaluation.1")
    _expect(
        got <= 1,
        "evaluation.1",
        f"{got:g} is more than 1",
        "Give a fraction between 0 and 1, not a percentage.",
    )
    _expect(
        abs(got - want) < 1e-9,
        "evaluation.1",
        f"{got:g} is not that accuracy",
        "It is the share of 1s among the test labels.",
    )
    return f"correct: {want:.4f}"


def _random_predictions() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 10, (500,), generator=gen)  # (500,)
    noise = torch.randint(0, 10, (500,), generator=gen)
    keep = torch.rand(500, generator=gen) < 0.6
    return labels, torch.where(keep, labels, noise)  # 60 % right + chance


def check_precision_recall(
    fn: Callable[[Any, int], tuple[float, float]],
) -> str:
    """evaluation.2: ``fn(confusion, k)`` -> ``(precision, recall)`` of class
    ``k``, rows of ``confusion`` being the true classes."""
    labels, predicted = _random_predictions()
    confusion = skm.confusion_matrix(labels, predicted, labels=range(10))
    for k in range(10):
        want = (
            skm.precision_score(labels, predicted, labels=[k], average=None)[
                0
            ],
            skm.recall_score(labels, predicted, labels=[k], average=None)[0],
        )
        got = _call(fn, "evaluation.2", confusion.copy(), k)
        ok = isinstance(got, Sequence) and len(got) == 2
        _expect(ok, "evaluation.2", f"got {got!r}", "Return (p, r).")
        close = all(abs(float(a) - b) < 1e-9 for a, b in zip(got, want))
        _expect(
            close,
            "evaluation.2",
            f"class {k}: you give {tuple(map(float, got))}, scikit-learn "
            f"{tuple(map(float, want))}",
            "Precision divides by a column sum (predicted k), recall by a "
            "row sum (truly k).",
        )
    return "correct: all ten classes equal scikit-learn's"


def check_top_k_accuracy(
    fn: Callable[[torch.Tensor, torch.Tensor, int], float],
) -> str:
    """evaluation.3: ``fn(logits, labels, k)``, the share of images whose
    label is among the ``k`` largest logits."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(300, 10, generator=gen)  # (300, 10)
    labels = torch.randint(0, 10, (300,), generator=gen)
    for k in (1, 2, 5):
        want = skm.top_k_accuracy_score(labels, logits, k=k, labels=range(10))
        got = _number(
            _call(fn, "evaluation.3", logits, labels, k), "evaluation.3"
        )
        _expect(
            abs(got - want) < 1e-6,
            "evaluation.3",
            f"k={k}: you give {got:.4f}, scikit-learn {want:.4f}",
            "torch.topk(logits, k).indices holds each image's k best classes.",
        )
    return "correct: k = 1, 2, 5 equal scikit-learn's top_k_accuracy_score"


def check_confident_share(probs: torch.Tensor, answer: Any) -> str:
    """evaluation.4: the share of the images whose largest probability in
    ``probs`` ``(N, 10)`` is at least 0.99."""
    want = float((probs.max(1).values >= 0.99).double().mean())
    _expect_number(
        answer,
        want,
        "evaluation.4",
        "{got:.4f} is not the share of answers given with at least 0.99",
        "Count the images with probs.max(1).values >= 0.99 and divide by "
        "the number of images (a share between 0 and 1, not a count).",
        tol=1e-4,
    )
    return f"correct: {want:.2%} of the images"


# --- Chapter "Overfitting" --------------------------------------------------


def check_smoothed_target(answer: Any) -> str:
    """overfitting.1: the target probability of the true class under label
    smoothing 0.1 with 10 classes, read off PyTorch's gradient."""
    logits = torch.zeros(1, 10, dtype=torch.float64, requires_grad=True)
    F.cross_entropy(logits, torch.tensor([3]), label_smoothing=0.1).backward()
    # dL/dz = p - q, and p = 1/10 at zero logits
    want = float(0.1 - logits.grad[0, 3])
    _expect_number(
        answer,
        want,
        "overfitting.1",
        "{got:g} is not the smoothed target",
        "Smoothing mixes the one-hot target with the uniform one: "
        "(1 - eps) * onehot + eps / K, and the uniform part includes the "
        "true class too.",
        tol=1e-9,
    )
    return f"correct: {want:.2f}"


def check_weight_decay_factor(c: Any) -> str:
    """overfitting.2: the ``c`` for which ``weight_decay=λ`` takes the step of
    the penalty ``c λ ‖w‖²``."""
    got = _number(c, "overfitting.2")
    gen = torch.Generator().manual_seed(0)
    w0 = torch.randn(5, generator=gen, dtype=torch.float64)
    lam, lr = 0.01, 0.1
    decayed = nn.Parameter(w0.clone())
    decayed.grad = torch.zeros(5, dtype=torch.float64)
    torch.optim.SGD([decayed], lr=lr, weight_decay=lam).step()
    penalised = nn.Parameter(w0.clone())
    (got * lam * penalised.pow(2).sum()).backward()
    torch.optim.SGD([penalised], lr=lr).step()
    _expect(
        torch.allclose(decayed, penalised, atol=1e-12),
        "overfitting.2",
        f"with c = {got:g} the penalised step differs from weight_decay's",
        "Differentiate c λ ‖w‖² with respect to w and compare with λ w.",
    )
    return f"correct: c = {got:g}"


def check_early_stopping(
    fn: Callable[[Sequence[float], int], tuple[int, int]],
) -> str:
    """overfitting.3: ``fn(val_losses, patience)`` -> ``(kept, last)``: the
    epoch whose weights are kept and the last epoch trained (from 1), as
    :func:`mnist_cnn.training.fit` decides them."""
    cases = [
        ([0.5, 0.4, 0.45, 0.41, 0.39, 0.5, 0.6, 0.7], 2),
        ([0.5, 0.4, 0.45, 0.41, 0.39, 0.5, 0.6, 0.7], 3),
        ([0.3, 0.3, 0.3], 1),
        ([0.9, 0.8, 0.7], 5),
    ]
    for losses, patience in cases:
        state, last = Progress(), 0
        for epoch, loss in enumerate(losses, start=1):
            record = EpochRecord(epoch, 0.0, 0.0, loss, 0.0, 0.0, 0.0)
            state.record(record, nn.Linear(1, 1), keep=False)
            last = epoch
            if state.out_of_patience(patience):
                break
        want = (state.best_epoch, last)
        got = _call(fn, "overfitting.3", list(losses), patience)
        _expect(
            tuple(got) == want,
            "overfitting.3",
            f"losses {losses}, patience {patience}: you give {tuple(got)}, "
            f"training.fit gives {want}",
            "Only a strictly lower loss counts as progress; stop after "
            "`patience` epochs in a row without it.",
        )
    return "correct: the same epochs as training.fit on 4 histories"


# --- Chapter "Fine-tuning" --------------------------------------------------


def _probe(model: nn.Module) -> nn.Module:
    return finetune.freeze_except(model, [finetune.head_name(model)])


def check_probe_parameters(answer: Any) -> str:
    """finetune.1: parameters a linear probe trains on the book's network with
    a new 10-class head."""
    model = _probe(finetune.replace_head(models.BookCNN(), 10))
    want = finetune.count_trainable(model)
    _expect_number(
        answer,
        want,
        "finetune.1",
        "{got:,.0f} is not the number of trained parameters",
        "Only the head trains: 32 * 7 * 7 inputs, 10 outputs, 10 biases.",
    )
    return f"correct: {want:,} parameters"


def check_lora_parameters(answer: Any) -> str:
    """finetune.2: parameters LoRA of rank 4 trains on the head
    ``nn.Linear(1568, 10)``."""
    lora = finetune.LoRALinear(nn.Linear(32 * 7 * 7, 10), r=4)
    want = finetune.count_trainable(lora)
    _expect_number(
        answer,
        want,
        "finetune.2",
        "{got:,.0f} is not what LoRA trains",
        "A is (r, in) and B is (out, r); W and b stay frozen.",
    )
    return f"correct: {want:,} parameters (the head itself has 15,690)"


def check_probe(fn: Callable[[nn.Module], nn.Module]) -> str:
    """finetune.3: ``fn(model)`` freezes every parameter of the book's network
    except those of its last linear layer, ``head.fc``."""
    torch.manual_seed(0)
    model = _call(fn, "finetune.3", models.BookCNN())
    _expect(
        isinstance(model, nn.Module),
        "finetune.3",
        f"your function returned {type(model).__name__}",
        "Return the model.",
    )
    trained = {k for k, p in model.named_parameters() if p.requires_grad}
    head = {"head.fc.weight", "head.fc.bias"}
    _expect(
        trained == head,
        "finetune.3",
        f"trainable: {sorted(trained)}, expected {sorted(head)}",
        "Set requires_grad to False on every other parameter.",
    )
    return "correct: only head.fc.weight and head.fc.bias train"


# --- Chapter "Applications and outlook" -------------------------------------


def check_saliency(
    fn: Callable[[nn.Module, torch.Tensor, int], torch.Tensor],
) -> str:
    """applications.1: ``fn(model, x, c)`` -> ``(N, 28, 28)`` saliency
    ``|dz_c/dx|``, against :func:`mnist_cnn.explain.saliency`."""
    torch.manual_seed(0)
    model = models.BookCNN().eval()
    x = torch.randn(3, 1, 28, 28)
    for c in (0, 7):
        want = explain.saliency(model, x, c)
        got = _call(fn, "applications.1", model, x.clone(), c)
        _close(got, want, "applications.1", f"saliency for class {c}", 1e-6)
    return "correct: equal to explain.saliency for classes 0 and 7"


def _digits(seed: int) -> torch.Tensor:
    """Three random ``uint8`` images of MNIST's size, (3, 28, 28)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(
        0, 256, (3, 28, 28), dtype=torch.uint8, generator=generator
    )


def _same_images(got: Any, want: torch.Tensor, exercise: str) -> None:
    _expect(
        isinstance(got, torch.Tensor)
        and got.dtype == want.dtype
        and got.shape == want.shape,
        exercise,
        f"expected a {want.dtype} tensor of shape {tuple(want.shape)}, got "
        f"{got.dtype if isinstance(got, torch.Tensor) else type(got).__name__}"
        f" of shape {tuple(getattr(got, 'shape', ()))}",
        "Return images of the same shape and type as the input.",
    )


def check_inverted(fn: Callable[[torch.Tensor], torch.Tensor]) -> str:
    """applications.2: ``fn(images)`` -> the ``uint8`` digits ``(N, 28,
    28)`` with their colours inverted, as dark ink on light paper."""
    images = _digits(0)
    got = _call(fn, "applications.2", images.clone())
    want = 255 - images
    _same_images(got, want, "applications.2")
    _expect(
        torch.equal(got, want),
        "applications.2",
        "the colours are not inverted",
        "Ink 255 becomes 0 and background 0 becomes 255: 255 - x.",
    )
    return "correct: 255 - x, still uint8"


def check_shift_right(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> str:
    """applications.3: ``fn(images, k)`` -> the digits ``(N, 28, 28)``
    moved ``k`` pixels to the right, zeros coming in from the left."""
    images = _digits(1)
    for k in (1, 3, 6):
        got = _call(fn, "applications.3", images.clone(), k)
        want = F.pad(images[:, :, :-k], (k, 0))  # k zero columns, left
        _same_images(got, want, "applications.3")
        _expect(
            torch.equal(got, want),
            "applications.3",
            f"the images moved {k} pixels are not the expected ones",
            "Column j of the result is column j - k of the image; the first "
            "k columns are 0 (torch.roll would wrap the right edge around).",
        )
    return "correct: moved right by 1, 3 and 6 pixels, zeros on the left"


# --- Appendix "Under the hood" -----------------------------------------------


def check_shard(answer: Any) -> str:
    """engineering.1: indices process 1 of 2 takes from a global batch of
    images 0..11."""
    order = torch.arange(12)
    (want,) = data.batch_indices(order, 12, rank=1, world_size=2)
    _expect(
        isinstance(answer, Sequence),
        "engineering.1",
        f"expected a list of indices, got {answer!r}",
        "Pass a list such as [0, 2].",
    )
    got = [int(_number(i, "engineering.1")) for i in answer]
    _expect(
        got == want.tolist(),
        "engineering.1",
        f"{got} is not process 1's shard",
        "Each process takes every world_size-th image, starting at its rank.",
    )
    return f"correct: {want.tolist()}"


def check_bfloat16_step(answer: Any) -> str:
    """engineering.2: the gap between 1 and the next bfloat16 number."""
    one = torch.tensor(1.0, dtype=torch.bfloat16)
    want = float(torch.nextafter(one, torch.tensor(2.0, dtype=torch.bfloat16)))
    want -= 1.0
    _expect_number(
        answer,
        want,
        "engineering.2",
        "{got:g} is not the gap",
        "bfloat16 stores 7 bits after the binary point.",
    )
    return f"correct: {want} = 2**-7"


def check_resume_step(first_step: Any, steps_per_epoch: Any) -> str:
    """engineering.3: the first step of a run stopped after step 55 and
    resumed, its state written after every 25th step of an epoch and at
    the end of each epoch (``steps_per_epoch`` steps an epoch)."""
    per_epoch = int(_number(steps_per_epoch, "engineering.3"))
    stop, every = 55, 25
    saved = {
        epoch * per_epoch + step
        for epoch in range(stop // per_epoch + 1)
        for step in [*range(every, per_epoch, every), per_epoch]
    }
    want = max((s for s in saved if s <= stop), default=0) + 1
    _expect_number(
        first_step,
        want,
        "engineering.3",
        "{got:g} is not where the resumed run starts",
        "It starts after the last state written at or before step 55; an "
        "epoch's end writes one too.",
    )
    return f"correct: step {want}"


def _placeholder(value: Any) -> bool:
    """``...``, alone or inside a tuple or list: an answer not given yet."""
    if isinstance(value, (tuple, list)):
        return any(v is Ellipsis for v in value)
    return value is Ellipsis


def _refusing_placeholders(check: Callable[..., str]) -> Callable[..., str]:
    """``check``, raising :class:`NotAttempted` when an answer is ``...``
    (what the course version's cells hold until the student answers)."""

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        if any(_placeholder(a) for a in (*args, *kwargs.values())):
            doc = (check.__doc__ or "").split(":")[0].strip()
            exercise = doc if " " not in doc else check.__name__
            raise NotAttempted(
                f"Exercise {exercise}: not attempted yet (the answer is still "
                "...). Replace the ... with your answer and run the cell again."
            )
        return check(*args, **kwargs)

    return wrapper


# every check refuses the placeholder ... with NotAttempted
for _name in __all__:
    if _name.startswith("check_"):
        globals()[_name] = _refusing_placeholders(globals()[_name])

"""The exercise checks: a right answer passes, a wrong one raises WrongAnswer
naming the exercise; and every chapter has at least three checked exercises."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_cnn import exercises as ex
from mnist_cnn import finetune, ops, scratch

BOOK = Path(__file__).resolve().parents[1] / "book"
QUESTION = re.compile(r"^\*\*(\d+)\.\*\*", re.MULTILINE)


def chapters() -> list[Path]:
    return sorted(BOOK.glob("*.ipynb"))


def exercises_in(path: Path) -> list[tuple[str, str]]:
    """(question, solution) pairs after the heading "## Exercises"."""
    cells = json.loads(path.read_text())["cells"]
    start = next(
        (
            i
            for i, c in enumerate(cells)
            if "## Exercises" in "".join(c["source"])
        ),
        len(cells),
    )
    pairs, question = [], None
    for cell in cells[start:]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            found = QUESTION.findall(text)
            question = found[-1] if found else question
        elif question and "hide-cell" in cell["metadata"].get("tags", []):
            pairs.append((question, text))
            question = None
    return pairs


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.name)
def test_every_chapter_has_three_exercises_with_hidden_checked_solutions(
    path: Path,
) -> None:
    pairs = exercises_in(path)
    checked = [
        q
        for q, code in pairs
        if "assert" in code or "exercises.check_" in code
    ]
    assert len(checked) >= 3, (
        f"{path.name}: {len(checked)} exercises with a hidden solution that "
        "checks itself (a 'hide-cell' code cell with an assert or an "
        "exercises.check_ call after a question '**N.**'); need 3"
    )


def test_the_exercise_counter_sees_a_missing_solution(tmp_path: Path) -> None:
    nb = json.loads((BOOK / "model.ipynb").read_text())
    for cell in nb["cells"]:
        cell["metadata"].pop("tags", None)  # the toggles gone
    broken = tmp_path / "model.ipynb"
    broken.write_text(json.dumps(nb))
    assert (
        len(exercises_in(broken))
        == 0
        < len(exercises_in(BOOK / "model.ipynb"))
    )


def mean_images(images, labels):
    return torch.stack(
        [images[labels == k].float().mean(0) / 255 for k in range(10)]
    )


def momentum(w, v, g, lr, mu):
    v = mu * v + g
    return w - lr * v, v


def precision_recall(c, k):
    return c[k, k] / c[:, k].sum(), c[k, k] / c[k, :].sum()


def top_k(logits, labels, k):
    hit = (logits.topk(k, dim=1).indices == labels[:, None]).any(1)
    return hit.float().mean().item()


def early(losses, patience):
    best, kept, stale = math.inf, 0, 0
    for epoch, loss in enumerate(losses, start=1):
        best, kept, stale = (
            (loss, epoch, 0) if loss < best else (best, kept, stale + 1)
        )
        if stale >= patience:
            break
    return kept, epoch


def saliency(model, x, c):
    x = x.requires_grad_(True)
    model(x)[:, c].sum().backward()
    return x.grad.abs().amax(1)


class AvgPool:
    def forward(self, x):
        self.shape = x.shape
        return F.avg_pool2d(x, 2)

    def backward(self, g):
        spread = g.repeat_interleave(2, 2).repeat_interleave(2, 3) / 4
        h, w = self.shape[2:]  # an odd last row or column: gradient 0
        return F.pad(spread, (0, w - spread.shape[3], 0, h - spread.shape[2]))


class EvenAvgPool(AvgPool):  # right for even sizes only
    def backward(self, g):
        return g.repeat_interleave(2, 2).repeat_interleave(2, 3) / 4


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 7 * 7, 10)
        self.unused = nn.Linear(3, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 4)  # (N, 8, 7, 7)
        return self.fc(x.flatten(1))


class UsedTinyNet(TinyNet):
    def __init__(self) -> None:
        super().__init__()
        del self.unused


def probe(model):
    return finetune.freeze_except(model, ["head.fc"])


def overfit(model, images, labels, lr=1e-3):
    adam = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(100):
        adam.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        adam.step()


def routed_gradient():
    g = torch.zeros(5, 5)
    g[2, 2] = 9.0  # the centre is the maximum of all nine windows
    return g


def composed_kernel():
    k1 = ops.CLASSIC_KERNELS["sobel x"].double()
    k2 = ops.CLASSIC_KERNELS["gaussian blur"].double()
    full = F.pad(k1, (2, 2, 2, 2)).view(1, 1, 7, 7)
    return ops.conv2d(full, k2.flip(0, 1).view(1, 1, 3, 3))


# four images' probabilities: sure (0.995), sure (0.999), unsure (0.6), sure
# (0.992)
SURE_PROBS = torch.tensor(
    [
        [0.005, 0.995, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0.999, 0.001, 0, 0, 0, 0, 0, 0],
        [0, 0, 0.4, 0.6, 0, 0, 0, 0, 0, 0],
        [0.992, 0, 0, 0, 0, 0, 0, 0, 0.008, 0],
    ]
)

CASES = {
    "reckless_lr": (ex.check_reckless_lr, 0.098, 0.97),
    "first_layer_parameters": (ex.check_first_layer_parameters, 160, 144),
    "overfit_one_batch": (
        ex.check_overfit_one_batch,
        overfit,
        lambda m, x, y: overfit(m, x, y, lr=1e-7),
    ),
    "strided_output_size": (ex.check_strided_output_size, 14, 13),
    "conv_parameters": (ex.check_conv_parameters, 12_832, 12_800),
    "dilated_padding": (ex.check_dilated_padding, 4, 2),
    "composed_kernel": (
        ex.check_composed_kernel,
        composed_kernel(),
        composed_kernel().transpose(-1, -2),
    ),
    "pool_13": (lambda a: ex.check_pool_13(*a), (6, 12), (6, 0)),
    "pool_13_size": (lambda a: ex.check_pool_13(*a), (6, [12]), (7, [12])),
    "pool_composition": (
        lambda a: ex.check_pool_composition(*a),
        (True, True),
        (True, False),
    ),
    "classifier_parameters": (
        lambda a: ex.check_classifier_parameters(*a),
        (7_850, 170),
        (7_840, 170),
    ),
    "max_pool_routing": (
        ex.check_max_pool_routing,
        routed_gradient(),
        routed_gradient().clamp(max=1),
    ),
    "flatten_shapes": (
        lambda a: ex.check_flatten_shapes(*a),
        ((32, 1568), (32, 32, 7, 7)),
        ((32, 1568), (32, 1568)),
    ),
    "idx_file_size": (ex.check_idx_file_size, 16 + 60_000 * 784, 60_000 * 784),
    "normalised_background": (
        ex.check_normalised_background,
        -0.1306 / 0.3081,  # the training part (Data prints both)
        0.0,
    ),
    "test_standardised": (
        ex.check_test_standardised,
        (0.0061, 1.0077),  # the test images are not the training part
        (0.0, 1.0),
    ),
    "confident_share": (
        lambda a: ex.check_confident_share(SURE_PROBS, a),
        0.75,  # rows 0, 1 and 3 are sure
        3,  # a count, not a share
    ),
    "mean_images": (
        ex.check_mean_images,
        mean_images,
        lambda im, lab: mean_images(im, lab) * 255,
    ),
    "parameter_count": (ex.check_parameter_count, 11_458, 11_458 + 40),
    "receptive_field": (ex.check_stacked_receptive_field, 7, 9),
    "small_cnn": (ex.check_small_cnn, UsedTinyNet(), TinyNet()),
    "steps_per_epoch": (ex.check_steps_per_epoch, (429, 88), (430, 0)),
    "momentum_step": (
        ex.check_momentum_step,
        momentum,
        lambda w, v, g, lr, mu: momentum(w, v, g, lr, mu * 0.99),
    ),
    "descent_lr_one": (ex.check_descent_lr_one, (0, 6), (3, 3)),
    "cosine_lr": (
        ex.check_cosine_lr,
        lambda t, n, p: p * (1 + math.cos(math.pi * t / n)) / 2,
        lambda t, n, p: p * math.cos(math.pi * t / n / 2),
    ),
    "layer_backward": (
        lambda layer: ex.check_layer_backward(
            layer, lambda x: F.avg_pool2d(x, 2)
        ),
        AvgPool(),
        scratch.MaxPool2d(),
    ),
    "layer_backward_odd": (
        lambda layer: ex.check_layer_backward(
            layer, lambda x: F.avg_pool2d(x, 2)
        ),
        AvgPool(),
        EvenAvgPool(),
    ),
    "constant_accuracy": (ex.check_constant_accuracy, 0.1135, 11.35),
    "precision_recall": (
        ex.check_precision_recall,
        precision_recall,
        lambda c, k: precision_recall(c.T, k),
    ),
    "top_k_accuracy": (
        ex.check_top_k_accuracy,
        top_k,
        lambda lo, la, k: top_k(lo, la, 1),
    ),
    "smoothed_target": (ex.check_smoothed_target, 0.91, 0.9),
    "weight_decay": (ex.check_weight_decay_factor, 0.5, 1.0),
    "early_stopping": (
        ex.check_early_stopping,
        early,
        lambda losses, patience: early(losses, patience + 1),
    ),
    "probe_parameters": (ex.check_probe_parameters, 15_690, 15_680),
    "lora_parameters": (ex.check_lora_parameters, 6_312, 4 * 1568),
    "probe": (
        ex.check_probe,
        probe,
        lambda m: finetune.freeze_except(m, ["block3", "head"]),
    ),
    "shard": (ex.check_shard, [1, 3, 5, 7, 9, 11], [6, 7, 8, 9, 10, 11]),
    "bfloat16_step": (ex.check_bfloat16_step, 2**-7, 2**-8),
    "initial_loss": (ex.check_initial_loss, 2.303, 0.1),
    "pool3_change": (ex.check_pool3_change, 0.4412, 0.5552),
    "stride_shifts": (ex.check_stride_shifts, [2, 4], [1, 2, 3, 4]),
    "resume_step": (lambda a: ex.check_resume_step(*a), (40, 39), (51, 39)),
    # a state written at step 55 itself: the run resumes right after it
    "resume_step_on_a_save": (
        lambda a: ex.check_resume_step(*a),
        (56, 30),
        (31, 30),
    ),
    "inverted": (ex.check_inverted, lambda x: 255 - x, lambda x: 256 - x),
    "inverted_type": (
        ex.check_inverted,
        lambda x: 255 - x,
        lambda x: 1 - x / 255,
    ),
    "shift_right": (
        ex.check_shift_right,
        lambda x, k: torch.nn.functional.pad(x[:, :, :-k], (k, 0)),
        lambda x, k: torch.roll(x, k, dims=2),
    ),
    "saliency": (
        ex.check_saliency,
        saliency,
        lambda m, x, c: saliency(m, x, c).square(),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_a_right_answer_passes_and_a_wrong_one_is_named(name: str) -> None:
    check, right, wrong = CASES[name]
    assert check(right).startswith("correct")
    with pytest.raises(ex.WrongAnswer, match=r"^Exercise [a-z]+"):
        check(wrong)


def test_a_function_that_raises_is_reported_as_the_readers_error() -> None:
    with pytest.raises(ex.WrongAnswer, match="your function raised KeyError"):
        ex.check_cosine_lr(lambda t, n, p: {}["lr"])


def test_a_wrong_type_says_what_was_expected() -> None:
    with pytest.raises(ex.WrongAnswer, match="expected a number, got str"):
        ex.check_parameter_count("11458")


def test_the_placeholder_is_not_attempted_not_wrong() -> None:
    with pytest.raises(ex.NotAttempted, match="convolution.1: not attempted"):
        ex.check_strided_output_size(...)
    with pytest.raises(ex.NotAttempted, match="training.1: not attempted"):
        ex.check_steps_per_epoch((..., ...))

    def stub(step, total, peak):
        raise NotImplementedError("your code here")

    with pytest.raises(ex.NotAttempted, match="NotImplementedError"):
        ex.check_cosine_lr(stub)


def test_every_check_names_its_exercise_in_its_docstring() -> None:
    """The placeholder message and the teacher's guide read the exercise
    from the docstring's first word (``pooling.2:``)."""
    for name in ex.__all__:
        if name.startswith("check_") and name != "check_layer_backward":
            doc = getattr(ex, name).__doc__ or ""
            assert re.match(r"[a-z]+\.\d: ", doc), name

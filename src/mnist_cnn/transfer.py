"""The chapter "Fine-tuning"'s experiment: six ways to adapt the MNIST network
to a new task.

Explained in the chapter "Fine-tuning" (``book/finetune.ipynb``). Targets:
scikit-learn's 8x8 digits (another scanner, a similar task) and Fashion-MNIST
(clothing, a dissimilar task). The tools it combines (freezing, new heads,
LoRA) are :mod:`mnist_cnn.finetune`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mnist_cnn import compare, data, parallel, preprocess, training
from mnist_cnn.config import TrainConfig
from mnist_cnn.finetune import (
    apply_lora,
    count_trainable,
    freeze_except,
    head_name,
    merge_lora,
    model_accuracy,
    replace_head,
    train_steps,
)

__all__ = [
    "pretrained_book_model",
    "load_sklearn_digits",
    "split_target",
    "targets",
    "few_shot_indices",
    "METHODS",
    "start_model",
    "method_lr",
    "BOOK_LRS",
    "what_trains",
    "TransferResult",
    "transfer",
    "Experiment",
    "choose_lrs",
    "run_all",
]


def pretrained_book_model(
    name: str = "pretrained-book",
) -> training.Cached:
    """The book's network after one epoch of the book's recipe
    (``TrainConfig()``: no augmentation, unlike the training chapter's
    four-epoch run).

    Cached as ``<cache>/<name>.pt`` by :func:`mnist_cnn.training.fit_or_load`.
    Returns the model, the normalisation mean and std, and whether it was
    loaded.
    """
    return training.fit_or_load(TrainConfig(), name)


def load_sklearn_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 8x8 digits (UCI, 17 grey levels, 0-16) in MNIST's format:
    ``(N, 28, 28)`` uint8, ``(N,)``.

    Each 8x8 image is scaled to [0, 1] and sent through
    :func:`mnist_cnn.preprocess.to_mnist` (crop, fit a 20x20 box, centre of
    mass in 28x28), the same steps MNIST's digits went through.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # (1797, 28, 28)
    images = torch.stack(
        [
            preprocess.to_mnist(img.astype(np.float32) / 16.0)
            for img in bunch.images
        ]
    )
    return images, torch.as_tensor(bunch.target, dtype=torch.int64)


#: a target's parts: name -> (images (N, 28, 28) uint8, labels (N,))
Split = dict[str, tuple[torch.Tensor, torch.Tensor]]


def split_target(
    images: torch.Tensor,  # (N, 28, 28) uint8
    labels: torch.Tensor,  # (N,)
    pool: int,
    val: int,
    test: int,
    order: torch.Tensor | None = None,  # (N,) a permutation; None: as stored
) -> Split:
    """The first ``pool`` images (in ``order``) to train on, the next
    ``val`` to choose learning rates on, the next ``test`` to report."""
    order = torch.arange(len(images)) if order is None else order
    if pool + val + test > len(order):
        raise ValueError(
            f"split_target: {pool} + {val} + {test} images asked for, "
            f"{len(order)} given; ask for fewer"
        )
    bounds = {"pool": (0, pool), "val": (pool, pool + val)}
    bounds["test"] = (pool + val, pool + val + test)
    return {
        part: (images[order[a:b]], labels[order[a:b]])
        for part, (a, b) in bounds.items()
    }


def targets(fashion: data.MNIST) -> dict[str, Split]:
    """The two targets of the chapter "Fine-tuning", split for training,
    validation and testing: scikit-learn's 1,797 8x8 digits, shuffled with
    seed 0 (60 % pool, 10 % validation, the other 30 % test), and
    ``fashion``: the first 50,000 training images as the pool, the next
    1,000 for validation, the first 2,000 test images."""
    digits, digit_labels = load_sklearn_digits()
    order = torch.randperm(
        len(digits), generator=torch.Generator().manual_seed(0)
    )
    n_pool, n_val = round(0.6 * len(digits)), round(0.1 * len(digits))
    clothes = split_target(
        fashion.train_images, fashion.train_labels, 50_000, 1_000, 0
    )
    clothes["test"] = (fashion.test_images[:2000], fashion.test_labels[:2000])
    return {
        "digits (8x8 scans)": split_target(
            digits,
            digit_labels,
            n_pool,
            n_val,
            len(digits) - n_pool - n_val,
            order,
        ),
        "Fashion-MNIST": clothes,
    }


def few_shot_indices(
    labels: torch.Tensor, per_class: int | None, seed: int
) -> torch.Tensor:
    """Indices of ``per_class`` random examples of each class (all of them for
    ``None``)."""
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for k in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == k).flatten()
        idx = idx[torch.randperm(idx.numel(), generator=g)]
        chosen.append(idx if per_class is None else idx[:per_class])
    return torch.cat(chosen)


METHODS = (
    "from scratch",
    "linear probe",
    "last block",
    "full fine-tuning",
    "discriminative lr",
    "LoRA (r=4)",
)
# the methods as the Chinese edition names them (its terms table)
METHODS_ZH = {
    "from scratch": "从零开始训练",
    "linear probe": "线性探测",
    "last block": "只训练最后一个块",
    "full fine-tuning": "全量微调",
    "discriminative lr": "分层学习率",
    "LoRA (r=4)": "LoRA（r=4）",
}

# The learning rate of each (target, method) the book's experiment runs at:
# the rates its validation search (choose_lrs, seed 100) chose on the
# reference run, as powers of ten, and frozen here. The search, on 180
# validation images, turns on one or two images, so on another processor it
# may choose a neighbouring rate; with the rates frozen, every machine runs
# the same experiment (chapter "Fine-tuning").
BOOK_LRS: dict[tuple[str, str], float] = {
    (target, method): 10.0**exponent
    for target, exponents in {
        "digits (8x8 scans)": (-2.5, -2.5, -2.0, -2.5, -3.0, -2.5),
        "Fashion-MNIST": (-3.0, -2.5, -2.5, -2.5, -3.0, -2.0),
    }.items()
    for method, exponent in zip(METHODS, exponents)
}


def start_model(
    method: str, pretrained: nn.Module, n_classes: int = 10, seed: int = 0
) -> nn.Module:
    """The network a method starts from: a copy of ``pretrained`` (or a fresh
    BookCNN for "from scratch") with a new head, frozen or wrapped as the
    method requires."""
    if method not in METHODS:
        raise ValueError(f"method={method!r}: expected one of {METHODS}.")
    # the new head's (and the scratch model's) initialisation
    torch.manual_seed(seed)
    base = (
        type(pretrained)()
        if method == "from scratch"
        else copy.deepcopy(pretrained)
    )
    model = replace_head(base, n_classes)
    if method == "linear probe":
        freeze_except(model, ["head"])
    elif method == "last block":
        freeze_except(model, ["block3", "head"])
    elif method.startswith("LoRA"):
        apply_lora(model, r=4, alpha=8, skip=[head_name(model)])
    else:
        for p in model.parameters():
            p.requires_grad_(True)
    return model


def method_lr(method: str, lr: float) -> float | dict[str, float]:
    """The learning rate(s) of a method: discriminative learning rates grow
    block by block from 1/10 of ``lr`` (``block1``) to 3x ``lr`` (the head);
    other methods use ``lr`` throughout."""
    if method == "discriminative lr":
        return {"": lr / 10, "block2": lr / 3, "block3": lr, "head": 3 * lr}
    return lr


def what_trains(method: str, model: nn.Module) -> dict[str, str]:
    """For each top-level block of ``model`` as :func:`start_model` built it
    for ``method``: "new" (freshly initialised, trained), "trained"
    (pretrained weights, all updated), "frozen" (none updated) or "adapter"
    (frozen weights, a trained low-rank LoRA update), read off the model's
    own ``requires_grad`` flags (chapter "Fine-tuning")."""
    states: dict[str, str] = {}
    head = head_name(model).split(".")[0]  # "head" in "head.fc"
    for name, p in model.named_parameters():
        block, leaf = name.split(".")[0], name.rsplit(".", 1)[-1]
        fresh = method == "from scratch" or block == head
        if leaf in ("A", "B"):  # LoRAConv2d's adapter matrices
            state = "adapter" if p.requires_grad else "frozen"
        elif p.requires_grad:
            state = "new" if fresh else "trained"
        else:
            state = "frozen"
        before = states.setdefault(block, state)
        if before != state and "adapter" in (before, state):
            states[block] = "adapter"  # frozen weights beside an adapter
        elif before != state:
            raise ValueError(
                f"what_trains: block {block!r} of {method!r} is partly "
                f"{before} and partly {state}; the figure shows one state "
                "per block: freeze or train the whole block."
            )
    return states


@dataclass(frozen=True)
class TransferResult:
    method: str
    per_class: int | None  # labelled examples per class (None: all available)
    seed: int
    lr: float
    val_acc: float
    test_acc: float
    trainable: int
    # the fine-tuned backbone with the original MNIST head, on MNIST:
    # forgetting
    mnist_acc: float


def transfer(
    method: str,
    pretrained: nn.Module,
    # "pool", "val", "test": uint8, labels
    splits: dict[str, tuple[torch.Tensor, torch.Tensor]],
    per_class: int | None,
    seed: int,
    lr: float,
    mean: float,
    std: float,
    mnist_eval: tuple[torch.Tensor, torch.Tensor]
    | None = None,  # normalised MNIST images, labels
    steps: int = 100,
) -> TransferResult:
    """Train one method on ``per_class`` examples per class drawn (with
    ``seed``) from the pool; report validation and test accuracy, and MNIST
    accuracy with the original head put back."""
    pool_x, pool_y = splits["pool"]
    idx = few_shot_indices(pool_y, per_class, seed)
    x, y = data.normalize(pool_x[idx], mean, std), pool_y[idx]
    # channels_last: the same arithmetic in another memory order; max pooling
    # 3-6x faster on CPUs
    model = start_model(method, pretrained, seed=seed).to(
        memory_format=torch.channels_last
    )
    train_steps(model, x, y, steps=steps, lr=method_lr(method, lr), seed=seed)
    val_x, val_y = splits["val"]
    test_x, test_y = splits["test"]
    val_acc = model_accuracy(model, data.normalize(val_x, mean, std), val_y)
    test_acc = model_accuracy(model, data.normalize(test_x, mean, std), test_y)
    mnist_acc = float("nan")
    if mnist_eval is not None and method != "from scratch":
        probe = merge_lora(copy.deepcopy(model))  # the fine-tuned backbone ...
        original = pretrained.get_submodule(head_name(pretrained))
        # ... with the MNIST head
        probe.set_submodule(head_name(probe), copy.deepcopy(original))
        mnist_acc = model_accuracy(probe, *mnist_eval)
    trainable = count_trainable(model)
    return TransferResult(
        method, per_class, seed, lr, val_acc, test_acc, trainable, mnist_acc
    )


Splits = dict[str, tuple[torch.Tensor, torch.Tensor]]  # "pool", "val", "test"


@dataclass(frozen=True)
class Experiment:
    """What every run of the chapter's experiment shares."""

    pretrained: nn.Module
    targets: dict[str, Splits]  # name -> its splits (uint8 images, labels)
    mean: float  # MNIST's normalisation, used for every target
    std: float
    # normalised MNIST images and labels: forgetting, measured after "all"
    mnist_eval: tuple[torch.Tensor, torch.Tensor]
    steps: int = 60


Task = tuple[str, str, int | None, int, float]  # target, method, n, seed, lr


def _run(e: Experiment, task: Task) -> TransferResult:
    target, method, per_class, seed, lr = task
    forgetting = e.mnist_eval if per_class is None else None
    return transfer(
        method, e.pretrained, e.targets[target], per_class, seed, lr,
        e.mean, e.std, forgetting, e.steps,
    )  # fmt: skip


def _search(
    e: Experiment, task: tuple[str, str, tuple[float, ...], int, int]
) -> dict[float, float]:
    target, method, start, per_class, seed = task
    return compare.search_grid(
        lambda lr: _run(e, (target, method, per_class, seed, lr)).val_acc,
        start,
    )


def choose_lrs(
    e: Experiment,
    start: tuple[float, ...],
    per_class: int = 10,
    seed: int = 100,
    workers: int | None = None,
) -> dict[tuple[str, str], dict[float, float]]:
    """For every target and method, validation accuracy at each learning
    rate of :func:`mnist_cnn.compare.search_grid`: the ``start`` grid,
    extended until its best is inside. One draw of ``per_class`` examples
    per class with ``seed`` (keep it out of the experiment's seeds); the
    searches run side by side (:func:`mnist_cnn.parallel.map_shared`)."""
    keys = [(t, m) for t in e.targets for m in METHODS]
    tasks = [(t, m, start, per_class, seed) for t, m in keys]
    return dict(zip(keys, parallel.map_shared(_search, tasks, e, workers)))


def run_all(
    e: Experiment,
    lrs: dict[tuple[str, str], float],
    budgets: tuple[int | None, ...],
    seeds: tuple[int, ...],
    workers: int | None = None,
) -> dict[tuple[str, str, int | None], list[TransferResult]]:
    """Every target, method and budget (examples per class, ``None``: all),
    once per seed (the draw of the examples, the head's initialisation and
    the batches), at the method's learning rate ``lrs[target, method]``:
    (target, method, budget) -> one result per seed, in the order of
    ``seeds``. Runs with budget ``None`` also measure forgetting."""
    keys = [(t, m, b) for t in e.targets for m in METHODS for b in budgets]
    tasks = [(t, m, b, s, lrs[t, m]) for t, m, b in keys for s in seeds]
    done = iter(parallel.map_shared(_run, tasks, e, workers))
    return {key: [next(done) for _ in seeds] for key in keys}

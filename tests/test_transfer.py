"""mnist_cnn.transfer: the few-shot sampler, the 8x8 digits scaled to MNIST's box, and the
experiment's methods (a linear probe forgets nothing of MNIST)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from mnist_cnn import data, finetune, models, transfer


def book(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return models.BookCNN().eval()


def test_few_shot_indices_and_digits() -> None:
    labels = torch.arange(10).repeat(7)
    idx = transfer.few_shot_indices(labels, 3, seed=0)
    assert torch.equal(torch.bincount(labels[idx]), torch.full((10,), 3))
    assert not torch.equal(idx, transfer.few_shot_indices(labels, 3, seed=1))
    assert transfer.few_shot_indices(labels, None, seed=0).numel() == 70
    images, targets = transfer.load_sklearn_digits()
    assert (
        images.shape == (1797, 28, 28)
        and images.dtype == torch.uint8
        and targets.shape == (1797,)
    )
    rows, cols = torch.nonzero(images[0] > 0, as_tuple=True)
    assert (
        rows.max() - rows.min() + 1 <= 21 and cols.max() - cols.min() + 1 <= 21
    )  # MNIST's 20x20 box


def small_target(mnist, n_eval: int) -> tuple[dict, tuple]:
    """A target of 600 MNIST images (pool 400, validation 100, test 100)
    and ``n_eval`` normalised MNIST test images to measure forgetting."""
    images, labels = mnist.train_images[:600], mnist.train_labels[:600]
    splits = {
        "pool": (images[:400], labels[:400]),
        "val": (images[400:500], labels[400:500]),
        "test": (images[500:], labels[500:]),
    }
    mnist_eval = (
        data.normalize(mnist.test_images[:n_eval], 0.13, 0.31),
        mnist.test_labels[:n_eval],
    )
    return splits, mnist_eval


def same(a: transfer.TransferResult, b: transfer.TransferResult) -> bool:
    """Every field equal, NaN (no forgetting measured) equal to NaN."""
    return all(
        x == y or (x != x and y != y)  # x != x: NaN
        for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b))
    )


def test_transfer_linear_probe_forgets_nothing(mnist) -> None:
    """With a frozen backbone (and frozen batch-norm statistics), putting the original head back
    must give exactly the pretrained network's MNIST accuracy."""
    pretrained = book(1)
    splits, mnist_eval = small_target(mnist, 300)
    reference = finetune.model_accuracy(pretrained, *mnist_eval)

    def run(method: str) -> transfer.TransferResult:
        args = (pretrained, splits, 5, 0, 1e-2, 0.13, 0.31, mnist_eval)
        return transfer.transfer(method, *args, steps=5)

    probe = run("linear probe")
    assert probe.mnist_acc == reference
    assert probe.trainable == 32 * 49 * 10 + 10
    full = run("full fine-tuning")
    assert full.trainable == sum(p.numel() for p in pretrained.parameters())
    # NaN: a scratch model has no MNIST head to put back
    assert math.isnan(run("from scratch").mnist_acc)
    with pytest.raises(ValueError, match="method='adapters'"):
        transfer.start_model("adapters", pretrained)


def test_run_all_gives_each_transfer_run_in_its_place(mnist) -> None:
    """The experiment's runs side by side (two workers, one thread each)
    are the transfer() calls made one by one with one thread, grouped by
    target, method and budget, one per seed in the order given; "all"
    runs measure forgetting, the others do not."""
    pretrained = book(1)
    splits, mnist_eval = small_target(mnist, 200)
    e = transfer.Experiment(
        pretrained, {"t": splits}, 0.13, 0.31, mnist_eval, 3
    )
    lrs = {("t", m): 1e-2 * (i + 1) for i, m in enumerate(transfer.METHODS)}
    rows = transfer.run_all(e, lrs, (5, None), (1, 0), workers=2)
    assert list(rows) == [
        ("t", m, b) for m in transfer.METHODS for b in (5, None)
    ]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for (t, m, b), runs in rows.items():
            assert [r.seed for r in runs] == [1, 0]
            for r in runs:
                alone = transfer.transfer(
                    m, pretrained, splits, b, r.seed, lrs[t, m], 0.13, 0.31,
                    mnist_eval if b is None else None, 3,
                )  # fmt: skip
                assert same(r, alone), (r, alone)
    finally:
        torch.set_num_threads(threads)
    probe = rows["t", "linear probe", None][0]
    assert not math.isnan(probe.mnist_acc)
    assert math.isnan(rows["t", "linear probe", 5][0].mnist_acc)


@pytest.mark.parametrize("method", transfer.METHODS)
def test_what_trains_is_what_a_step_changes(method: str) -> None:
    """Reference: one AdamW step on the method's start model. A block said
    "frozen" changes nowhere; "trained" and "new" change their weights;
    "adapter" changes only its LoRA matrices. "Trained" starts from the
    pretrained weights, "new" (a fresh head or network) from others."""
    torch.manual_seed(1)  # start_model draws its fresh weights with seed 0
    pretrained = models.BookCNN()
    model = transfer.start_model(method, pretrained)
    states = transfer.what_trains(method, model)
    assert list(states) == ["block1", "block2", "block3", "head"]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    original = dict(pretrained.named_parameters())
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=0.01
    )
    model.train()
    x, y = torch.randn(8, 1, 28, 28), torch.arange(8)
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    for name, p in model.named_parameters():
        block, leaf = name.split(".")[0], name.rsplit(".", 1)[-1]
        moved = not torch.equal(p, before[name])
        if states[block] == "frozen":
            assert not moved, name
        elif states[block] == "adapter":
            assert moved == (leaf in ("A", "B")), name  # the adapters only
        else:
            assert moved, name
        plain = name.replace(".base.", ".")  # LoRA wraps the convolution
        if p.dim() > 1 and states[block] in ("new", "trained"):
            # conv and linear weights: "trained" starts from the pretrained
            # ones, "new" from fresh ones
            same = plain in original and torch.equal(
                before[name], original[plain]
            )
            assert same == (states[block] == "trained"), name


def test_book_lrs_name_every_method_of_both_targets_on_the_search_grid() -> (
    None
):
    """BOOK_LRS holds one rate per target and method, each a rate the
    search can choose: a power of ten in half decades (the start grid
    10^-3.5, 10^-3, 10^-2.5 extended by factors of sqrt(10))."""
    targets = ("digits (8x8 scans)", "Fashion-MNIST")
    assert set(transfer.BOOK_LRS) == {
        (t, m) for t in targets for m in transfer.METHODS
    }
    for key, lr in transfer.BOOK_LRS.items():
        half_decades = 2 * math.log10(lr)
        assert abs(half_decades - round(half_decades)) < 1e-9, key
        assert 1e-5 <= lr <= 1.0, key


def test_what_trains_names_a_block_that_is_half_frozen() -> None:
    model = transfer.start_model("full fine-tuning", models.BookCNN())
    model.block2.conv.weight.requires_grad_(False)  # its batch norm trains
    with pytest.raises(ValueError, match="block 'block2' .* partly"):
        transfer.what_trains("full fine-tuning", model)


def test_targets_split_each_set_into_disjoint_parts() -> None:
    """Reference: the sets themselves. The digits' three parts are 60/10/30 %
    of the 1,797 and together hold each image once; Fashion's are the
    stated slices of its splits (a small stand-in with distinct images)."""
    n = 52_000
    ids = torch.arange(n)
    fake = data.MNIST(
        train_images=ids.view(n, 1, 1).expand(n, 28, 28).clone(),
        train_labels=ids % 10,
        test_images=ids[:3000].view(3000, 1, 1).expand(3000, 28, 28).clone(),
        test_labels=ids[:3000] % 10,
    )
    found = transfer.targets(fake)
    digits = found["digits (8x8 scans)"]
    assert [len(digits[p][0]) for p in ("pool", "val", "test")] == [
        1078,
        180,
        539,
    ]
    images, labels = transfer.load_sklearn_digits()
    together = torch.cat([digits[p][0] for p in ("pool", "val", "test")])
    assert torch.equal(
        together.flatten(1).sum(1).sort().values,
        images.flatten(1).sum(1).sort().values,
    ), "each digit in exactly one part"
    fashion = found["Fashion-MNIST"]
    assert torch.equal(fashion["pool"][0], fake.train_images[:50_000])
    assert torch.equal(fashion["val"][1], fake.train_labels[50_000:51_000])
    assert torch.equal(fashion["test"][0], fake.test_images[:2000])
    with pytest.raises(ValueError, match="ask for fewer"):
        transfer.split_target(images, labels, 1000, 500, 500)

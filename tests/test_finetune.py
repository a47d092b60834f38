"""mnist_cnn.finetune: LoRA against its base model and its formula, freezing against a real
optimizer step, heads, the trainable-parameter counts, the few-shot sampler, the 8x8 digits."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from torch import nn

from mnist_cnn import data, finetune, models, training, transfer


def book(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return models.BookCNN().eval()


X = torch.randn(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def test_fresh_lora_model_equals_the_base_model() -> None:
    base = book()
    lora = finetune.apply_lora(copy.deepcopy(base), r=4, alpha=8)
    with torch.no_grad():
        torch.testing.assert_close(
            lora(X), base(X), atol=0, rtol=0
        )  # B = 0: exactly the base function


def test_merged_lora_equals_unmerged_after_training_the_adapters() -> None:
    lora = finetune.apply_lora(book(), r=2, alpha=4)
    with torch.no_grad():
        for m in lora.modules():
            if isinstance(m, (finetune.LoRALinear, finetune.LoRAConv2d)):
                m.B.normal_()  # as if trained
    with torch.no_grad():
        before = lora(X)
        merged = finetune.merge_lora(copy.deepcopy(lora))
        assert not any(
            isinstance(m, (finetune.LoRALinear, finetune.LoRAConv2d))
            for m in merged.modules()
        )
        torch.testing.assert_close(merged(X), before, atol=1e-4, rtol=1e-4)


def test_lora_linear_formula() -> None:
    base = nn.Linear(5, 3)
    layer = finetune.LoRALinear(base, r=2, alpha=6)
    with torch.no_grad():
        layer.B.normal_()
    x = torch.randn(4, 5)
    expected = (
        x @ (base.weight + 3.0 * layer.B @ layer.A).T + base.bias
    )  # W + (alpha/r) B A
    torch.testing.assert_close(layer(x), expected, atol=1e-5, rtol=1e-5)


def test_trainable_parameter_count_equals_the_formula() -> None:
    model = finetune.apply_lora(book(), r=4, alpha=8)
    expected = 0
    for m in model.modules():
        if isinstance(m, finetune.LoRALinear):
            expected += 4 * (
                m.base.in_features + m.base.out_features
            )  # r (in + out)
        elif isinstance(m, finetune.LoRAConv2d):
            kh, kw = m.base.kernel_size
            expected += (
                4 * (m.base.in_channels * kh * kw) + m.base.out_channels * 4
            )  # A: r C_in kH kW, B: C_out r
    assert finetune.count_trainable(model) == expected
    probe = finetune.freeze_except(book(), ["head"])
    assert finetune.count_trainable(probe) == 32 * 49 * 10 + 10


def test_frozen_parameters_do_not_change_after_a_step() -> None:
    model = finetune.replace_head(book(), 10)
    finetune.freeze_except(model, ["head", "block3.conv"])
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    y = torch.randint(0, 10, (6,))
    finetune.train_steps(model, X, y, steps=3, lr=1e-2)
    for name, p in model.named_parameters():
        changed = not torch.equal(p, before[name])
        assert changed == (name.startswith(("head", "block3.conv"))), name
    for (
        name,
        b,
    ) in (
        model.named_buffers()
    ):  # frozen batch norms keep their running statistics
        if name.startswith(("block1.bn", "block2.bn")):
            assert torch.equal(b, buffers[name]), name


def test_lora_trains_only_the_adapters() -> None:
    model = finetune.apply_lora(
        finetune.replace_head(book(), 10), r=2, skip=["head.fc"]
    )
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    finetune.train_steps(
        model, X, torch.randint(0, 10, (6,)), steps=2, lr=1e-2
    )
    for name, p in model.named_parameters():
        changed = not torch.equal(p, before[name])
        adapter = name.endswith((".A", ".B")) or name.startswith("head.fc")
        assert changed == adapter, name


def test_discriminative_learning_rates_make_parameter_groups() -> None:
    model = book()
    finetune.train_steps(
        model,
        X,
        torch.randint(0, 10, (6,)),
        steps=1,
        lr={"": 1e-4, "head": 1e-2},
    )
    assert finetune.count_trainable(model) == sum(
        p.numel() for p in model.parameters()
    )
    finetune.freeze_except(model, [])
    with pytest.raises(ValueError, match="no trainable parameters"):
        finetune.train_steps(
            model, X, torch.zeros(6, dtype=torch.int64), steps=1
        )
    with pytest.raises(ValueError, match="rank must be a positive integer"):
        finetune.LoRALinear(nn.Linear(2, 2), r=0)


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


def test_transfer_linear_probe_forgets_nothing(mnist) -> None:
    """With a frozen backbone (and frozen batch-norm statistics), putting the original head back
    must give exactly the pretrained network's MNIST accuracy."""
    pretrained = book(1)
    images, labels = mnist.train_images[:600], mnist.train_labels[:600]
    splits = {
        "pool": (images[:400], labels[:400]),
        "val": (images[400:500], labels[400:500]),
        "test": (images[500:], labels[500:]),
    }
    mnist_eval = (
        data.normalize(mnist.test_images[:300], 0.13, 0.31),
        mnist.test_labels[:300],
    )
    reference = finetune.model_accuracy(pretrained, *mnist_eval)
    probe = transfer.transfer(
        "linear probe",
        pretrained,
        splits,
        5,
        0,
        1e-2,
        0.13,
        0.31,
        mnist_eval,
        steps=5,
    )
    assert (
        probe.mnist_acc == reference and probe.trainable == 32 * 49 * 10 + 10
    )
    full = transfer.transfer(
        "full fine-tuning",
        pretrained,
        splits,
        5,
        0,
        1e-2,
        0.13,
        0.31,
        mnist_eval,
        steps=5,
    )
    assert full.trainable == sum(p.numel() for p in pretrained.parameters())
    scratch = transfer.transfer(
        "from scratch",
        pretrained,
        splits,
        5,
        0,
        1e-2,
        0.13,
        0.31,
        mnist_eval,
        steps=5,
    )
    assert (
        scratch.mnist_acc != scratch.mnist_acc
    )  # NaN: a scratch model has no MNIST head to put back
    with pytest.raises(ValueError, match="method='adapters'"):
        transfer.start_model("adapters", pretrained)


def test_cached_model_is_the_same_trained_or_loaded(
    tmp_path, monkeypatch
) -> None:
    """A chapter must print the same numbers whether the shared checkpoint existed or not."""
    monkeypatch.setenv("MNIST_CNN_CACHE", str(tmp_path))
    config = training.TrainConfig(train_subset=500)
    trained, mean, std, how = training.fit_or_load(config, "pre")
    loaded, mean2, std2, how2 = training.fit_or_load(config, "pre")
    assert (how, how2) == ("trained", "loaded") and (mean, std) == (
        mean2,
        std2,
    )
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(trained(x), loaded(x))
    assert (
        training.fit_or_load(dataclasses.replace(config, seed=1), "pre")[3]
        == "trained"
    )  # another recipe: trained again
    (tmp_path / "other.pt").write_bytes(b"junk")
    assert (
        training.fit_or_load(config, "other")[3] == "trained"
    )  # an unreadable file is replaced

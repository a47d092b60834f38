"""mnist_cnn.finetune: LoRA against its base model and its formula, freezing against a real
optimizer step, heads, the trainable-parameter counts. (The experiment, mnist_cnn.transfer:
test_transfer.py.)"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_cnn import finetune, models


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


@pytest.mark.parametrize(
    "geometry",
    [
        {},
        {"stride": 2, "padding": 1},
        {"padding": 2, "dilation": 2},
    ],
)
def test_lora_conv2d_formula(geometry: dict) -> None:
    """The layer is the base convolution with the weight W + (alpha/r) (B @ A.flatten(1)) reshaped
    to W's shape, computed here with F.conv2d; rank 2 and alpha 6, so alpha/r = 3."""
    torch.manual_seed(0)
    base = nn.Conv2d(3, 5, 3, bias=True, **geometry)
    layer = finetune.LoRAConv2d(base, r=2, alpha=6)
    with torch.no_grad():
        layer.B.normal_()  # as if trained (B = 0 hides the scale)
    x = torch.randn(2, 3, 9, 9)
    update = (layer.B @ layer.A.flatten(1)).view_as(base.weight)
    expected = F.conv2d(
        x,
        base.weight + 3.0 * update,
        base.bias,
        base.stride,
        base.padding,
        base.dilation,
    )
    with torch.no_grad():
        torch.testing.assert_close(layer(x), expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            layer.merged()(x), expected, atol=1e-5, rtol=1e-5
        )


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

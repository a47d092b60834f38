"""mnist_cnn.anatomy against PyTorch: every formula (parameters, MACs, receptive field) equals
what PyTorch counts or what gradients show; the shape trace, re-initialisation and activation
statistics."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from mnist_cnn import anatomy, models

ALL = list(models.MODELS.items())


@pytest.mark.parametrize("name, cls", ALL)
def test_param_formula_equals_numel(name: str, cls: type[nn.Module]) -> None:
    model = cls()
    trace = anatomy.shape_trace(model)
    for info in trace:
        layer = model.get_submodule(info.name)
        assert info.params == sum(
            p.numel() for p in layer.parameters(recurse=False)
        ), info.name
    assert sum(i.params for i in trace) == sum(
        p.numel() for p in model.parameters()
    )


@pytest.mark.parametrize("name, cls", ALL)
def test_mac_formula_equals_flop_counter(
    name: str, cls: type[nn.Module]
) -> None:
    """Reference: torch.utils.flop_counter.FlopCounterMode, per layer; one MAC = 2 FLOPs."""
    model = cls().eval()
    trace = anatomy.shape_trace(model, (3, 1, 28, 28))
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(3, 1, 28, 28))
    counts = counter.get_flop_counts()
    prefix = type(model).__name__
    for info in trace:
        counted = sum(counts.get(f"{prefix}.{info.name}", {}).values())
        if info.kind in ("Conv2d", "Linear"):
            assert counted == 2 * info.macs, info.name
    assert counter.get_total_flops() == 2 * sum(i.macs for i in trace)


@pytest.mark.parametrize("name, cls", ALL)
def test_receptive_field_formula_equals_gradient_footprint(
    name: str, cls: type[nn.Module]
) -> None:
    model = cls()
    trace = {i.name: i for i in anatomy.shape_trace(model)}
    checked = 0
    for field in anatomy.receptive_fields(model):
        info = trace[field.name]
        if info.kind not in ("Conv2d", "MaxPool2d", "AvgPool2d"):
            continue
        centre = info.out_shape[2] // 2
        rows, cols = anatomy.empirical_receptive_field(model, field.name)
        assert rows == field.window(centre, 28) and cols == field.window(
            centre, 28
        ), field
        checked += 1
    assert checked >= 2


def test_receptive_field_numbers_by_hand() -> None:
    """ArticleCNN: 3 -> pool 4 -> 3x3 at jump 2 adds 4 -> 8 -> pool adds 2 -> 10 (Araujo et al. recurrence)."""
    sizes = [
        f.size
        for f in anatomy.receptive_fields(models.ArticleCNN())
        if f.name in ("conv1", "pool1", "conv2", "pool2")
    ]
    assert sizes == [3, 4, 8, 10]
    assert (
        anatomy.receptive_fields(models.LeNet5())[-1].size is None
    )  # the output layer sees everything


def test_shape_trace_of_the_article_model() -> None:
    trace = anatomy.shape_trace(models.ArticleSimpleCNN(), (2, 1, 28, 28))
    assert [(i.name, i.out_shape) for i in trace] == [
        ("conv1", (2, 8, 26, 26)),
        ("pool", (2, 8, 13, 13)),
        ("fc1", (2, 10)),
    ]


def test_reinit_and_activation_stats() -> None:
    model = anatomy.reinit_normal(models.ArticleCNN(), std=0.01, seed=0)
    for layer in model.modules():
        if isinstance(layer, nn.Conv2d):
            assert (
                abs(float(layer.weight.detach().std()) - 0.01) < 0.003
                and float(layer.bias.detach().abs().sum()) == 0
            )
    x = torch.randn(16, 1, 28, 28)
    stats = anatomy.activation_stats(model, x)
    assert [s[0] for s in stats] == ["conv1", "conv2", "fc1", "fc2"]
    with torch.no_grad():
        out = model.conv1(x)
    assert stats[0][1] == pytest.approx(float(out.mean()), abs=1e-7) and stats[
        0
    ][2] == pytest.approx(float(out.std()), rel=1e-5)
    assert (
        stats[-1][2] < stats[0][2]
    )  # too-small weights: the signal shrinks layer by layer


def test_param_count_refuses_unknown_layers() -> None:
    with pytest.raises(ValueError, match="no parameter formula for LayerNorm"):
        anatomy.param_count(nn.LayerNorm(4))


def test_he_init_uses_sqrt_two_over_fan_in() -> None:
    model = anatomy.reinit_normal(
        models.ArticleCNN(c1=64, c2=64), std="he", seed=1
    )
    w = model.conv2.weight.detach()  # fan_in = 64 * 9
    assert float(w.std()) == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.02)
    with pytest.raises(ValueError, match="std='xavier'"):
        anatomy.reinit_normal(model, std="xavier")


def test_pytorch_default_init_bound_is_one_over_sqrt_fan_in() -> None:
    """reinit_normal(std=None), the chapter's "PyTorch default" row, keeps the weights PyTorch drew:
    Kaiming-uniform with a=sqrt(5), bound = gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + 5)),
    i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), whose std is bound / sqrt(3)."""
    torch.manual_seed(0)
    model = models.ArticleCNN(c1=64, c2=64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert anatomy.reinit_normal(model, std=None, seed=3) is model
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
    w = model.conv2.weight.detach()  # fan_in = 64 * 9
    bound = 1 / (64 * 9) ** 0.5
    assert bound >= float(w.abs().max()) > 0.99 * bound
    assert float(w.std()) == pytest.approx(bound / 3**0.5, rel=0.05)


def test_stages_are_the_tensors_the_book_network_makes() -> None:
    """Reference: BookCNN's blocks by hand (3x3 convolutions padded by 1
    keep the side, 2x2 pooling halves it, the head flattens 32x7x7) and
    the output of a forward pass."""
    model = models.BookCNN().eval()
    found = anatomy.stages(anatomy.shape_trace(model))
    assert [(s.ops, s.shape) for s in found] == [
        ((), (1, 28, 28)),
        (("conv",), (16, 28, 28)),
        (("max pool", "BN", "ReLU"), (16, 14, 14)),
        (("conv",), (32, 14, 14)),
        (("max pool", "BN", "ReLU"), (32, 7, 7)),
        (("conv", "BN", "ReLU"), (32, 7, 7)),
        (("flatten", "dropout"), (32 * 7 * 7,)),
        (("linear",), (10,)),
    ]
    with torch.no_grad():
        assert found[-1].shape == tuple(
            model(torch.zeros(2, 1, 28, 28))[0].shape
        )


def test_a_layer_with_weights_starts_a_stage_even_when_it_keeps_the_shape() -> (
    None
):
    net = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 784), nn.ReLU(), nn.Linear(784, 784)
    )
    found = anatomy.stages(anatomy.shape_trace(net))
    assert [(s.ops, s.shape) for s in found] == [
        ((), (1, 28, 28)),
        (("flatten",), (784,)),
        (("linear", "ReLU"), (784,)),
        (("linear",), (784,)),
    ]

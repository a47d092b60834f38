"""mnist_cnn.models: the article's bugs reproduce, the fixed models give (N, 10), and the book's
network is the architecture the book describes, layer by layer. (The formulas of
mnist_cnn.anatomy: test_anatomy.py.)"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnist_cnn import models

ALL = list(models.MODELS.items())


def test_article_code_as_written_raises_name_error() -> None:
    model = models.article_code_as_written()()
    with pytest.raises(NameError, match="name 'F' is not defined"):
        model(torch.zeros(64, 1, 28, 28))


def test_article_code_with_f_imported_raises_the_shape_error() -> None:
    model = models.article_code_as_written(import_functional=True)()
    with pytest.raises(
        RuntimeError,
        match=r"shape '\[-1, 392\]' is invalid for input of size 86528",
    ):
        model(torch.zeros(64, 1, 28, 28))  # 64 * 8 * 13 * 13 = 86528 values
    # With a batch of 49 the view "works": 49 * 1352 = 169 * 392, so 49 images become 169 rows.
    assert model(torch.zeros(49, 1, 28, 28)).shape == (169, 10)


def test_article_source_is_the_fixed_models_architecture_plus_the_bugs() -> (
    None
):
    article = models.article_code_as_written(import_functional=True)()
    fixed = models.ArticleSimpleCNN()
    assert (
        article.fc1.in_features == 8 * 7 * 7
        and fixed.fc1.in_features == 8 * 13 * 13
    )
    assert [type(m) for m in article.children()] == [
        type(m) for m in fixed.children()
    ]
    assert article.conv1.weight.shape == fixed.conv1.weight.shape


@pytest.mark.parametrize("name, cls", ALL)
@pytest.mark.parametrize("n", [1, 49, 64])
def test_models_produce_logits_for_every_batch_size(
    name: str, cls: type[nn.Module], n: int
) -> None:
    out = cls().eval()(torch.randn(n, 1, 28, 28))
    assert out.shape == (n, 10) and out.dtype == torch.float32


@pytest.mark.parametrize("name, cls", ALL)
def test_channels_last_gives_the_same_logits(
    name: str, cls: type[nn.Module]
) -> None:
    torch.manual_seed(0)
    model = cls().eval()
    x = torch.randn(8, 1, 28, 28)
    ref = model(x)
    out = model.to(memory_format=torch.channels_last)(
        x.contiguous(memory_format=torch.channels_last)
    )
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


# The book's network as the chapter "Model" describes it, written out by hand: (layer name, type,
# output shape for one 28x28 image). Three 3x3 convolutions with 16, 32 and 32 channels, the
# first two pooled before batch norm and ReLU, then 32 * 7 * 7 = 1568 features -> 10 logits.
BOOK_LAYERS = [
    ("block1.conv", nn.Conv2d, (1, 16, 28, 28)),
    ("block1.pool", nn.MaxPool2d, (1, 16, 14, 14)),
    ("block1.bn", nn.BatchNorm2d, (1, 16, 14, 14)),
    ("block1.relu", nn.ReLU, (1, 16, 14, 14)),
    ("block2.conv", nn.Conv2d, (1, 32, 14, 14)),
    ("block2.pool", nn.MaxPool2d, (1, 32, 7, 7)),
    ("block2.bn", nn.BatchNorm2d, (1, 32, 7, 7)),
    ("block2.relu", nn.ReLU, (1, 32, 7, 7)),
    ("block3.conv", nn.Conv2d, (1, 32, 7, 7)),
    ("block3.bn", nn.BatchNorm2d, (1, 32, 7, 7)),
    ("block3.relu", nn.ReLU, (1, 32, 7, 7)),
    ("head.flatten", nn.Flatten, (1, 1568)),
    ("head.dropout", nn.Dropout, (1, 1568)),
    ("head.fc", nn.Linear, (1, 10)),
]


def test_book_cnn_is_the_architecture_the_book_describes() -> None:
    model = models.BookCNN().eval()
    seen: list[tuple[str, type, tuple[int, ...]]] = []
    hooks = [
        layer.register_forward_hook(
            lambda m, _i, out, name=name: seen.append(
                (name, type(m), tuple(out.shape))
            )
        )
        for name, layer in model.named_modules()
        if not list(layer.children())
    ]
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    for hook in hooks:
        hook.remove()
    assert seen == BOOK_LAYERS
    # parameters by formula: a 3x3 convolution without bias k*k*c_in*c_out, a batch norm 2*c
    # (scale and shift), the linear layer 1568 * 10 weights + 10 biases
    conv = [3 * 3 * 1 * 16, 3 * 3 * 16 * 32, 3 * 3 * 32 * 32]
    bn = [2 * 16, 2 * 32, 2 * 32]
    fc = 1568 * 10 + 10
    expected = sum(conv) + sum(bn) + fc
    assert expected == 29_818
    assert sum(p.numel() for p in model.parameters()) == expected


def test_book_cnn_without_batch_norm_has_biased_convolutions_only() -> None:
    # the variant the chapter "Training" trains: the same layers minus the
    # three batch norms; each convolution gets a bias (c_out parameters)
    model = models.BookCNN(batch_norm=False)
    kinds = [type(m) for m in model.modules() if not list(m.children())]
    with_bn = [
        type(m) for m in models.BookCNN().modules() if not list(m.children())
    ]
    assert kinds == [k for k in with_bn if k is not nn.BatchNorm2d]
    conv = [3 * 3 * 1 * 16 + 16, 3 * 3 * 16 * 32 + 32, 3 * 3 * 32 * 32 + 32]
    expected = sum(conv) + 1568 * 10 + 10
    assert sum(p.numel() for p in model.parameters()) == expected
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    # the default network's weights do not depend on the new option
    torch.manual_seed(0)
    a = models.BookCNN().state_dict()
    torch.manual_seed(0)
    b = models.BookCNN(batch_norm=True).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)

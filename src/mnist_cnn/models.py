"""The networks of the book: the article's two, LeNet-5, and the book's fast
default.

Explained in the chapter "Model" (``book/model.ipynb``); trained in the chapter
"Training". Shapes are for MNIST input ``(N, 1, 28, 28)``.

Sources: the article's sections 3.2 (diagram), 4.3 and 5.2 (code); Y. LeCun, L.
Bottou, Y. Bengio, P. Haffner, "Gradient-based learning applied to document
recognition", Proc. IEEE 86(11), 1998 (LeNet-5); S. Ioffe, C. Szegedy, "Batch
normalization", ICML 2015; pytorch/examples ``mnist/main.py``.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ARTICLE_SIMPLE_CNN_SOURCE",
    "article_code_as_written",
    "ArticleSimpleCNN",
    "ArticleCNN",
    "LeNet5",
    "conv_block",
    "BookCNN",
    "ExamplesNet",
    "MODELS",
    "eval_mode",
]

# The article's section 5.2 model, character for character (its imports, then
# the class).
ARTICLE_SIMPLE_CNN_SOURCE = """\
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import Dataset, DataLoader
from torchvision import transforms, datasets
import torch

# 定义模型类
class SimpleCNN(nn.Module):
    def __init__(self):
        super(SimpleCNN, self).__init__()
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=8, kernel_size=(3, 3))
        self.pool = nn.MaxPool2d((2, 2), stride=(2, 2))
        self.fc1 = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = x.view(-1, 8 * 7 * 7)
        return self.fc1(x)
"""


def article_code_as_written(
    import_functional: bool = False,
) -> type[nn.Module]:
    """Run the article's 5.2 model code in a fresh namespace and return its
    ``SimpleCNN`` class.

    With ``import_functional`` the one missing line, ``import
    torch.nn.functional as F``, is added first. Either way the class is the
    article's, bugs included: the chapter "Model" shows the errors it raises.
    """
    source = (
        "import torch.nn.functional as F\n" if import_functional else ""
    ) + ARTICLE_SIMPLE_CNN_SOURCE
    namespace: dict[str, object] = {"__name__": "article_5_2"}
    # noqa: S102 - the article's own code
    exec(compile(source, "<article section 5.2>", "exec"), namespace)
    return namespace["SimpleCNN"]  # type: ignore[return-value]


class ArticleSimpleCNN(nn.Module):
    """The article's 5.2 ``SimpleCNN`` with its two bugs fixed (``F`` imported;
    8*13*13 features)."""

    def __init__(self) -> None:
        super().__init__()
        # (N, 8, 26, 26)
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=8, kernel_size=3)
        self.pool = nn.MaxPool2d(2, stride=2)  # (N, 8, 13, 13)
        self.fc1 = nn.Linear(8 * 13 * 13, 10)  # the article wrote 8 * 7 * 7

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, 1, 28, 28)
        x = self.pool(F.relu(self.conv1(x)))  # (N, 8, 13, 13)
        # (N, 1352); the article's view(-1, 392) mixes up the batch
        x = torch.flatten(x, 1)
        return self.fc1(x)  # (N, 10) logits


class ArticleCNN(nn.Module):
    """The network of the article's section 3.2 diagram, with "same" padding so
    that ``* 7 * 7`` holds.

    conv 3x3 -> ReLU -> max pool -> conv 3x3 -> ReLU -> max pool -> flatten ->
    linear -> ReLU -> linear. The diagram ends in "Sigmoid or Softmax"; the
    model returns logits and the loss (cross-entropy) applies the softmax.
    """

    def __init__(
        self,
        c1: int = 16,
        c2: int = 32,
        hidden: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)  # (N, c1, 28, 28)
        self.pool1 = nn.MaxPool2d(2)  # (N, c1, 14, 14)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)  # (N, c2, 14, 14)
        self.pool2 = nn.MaxPool2d(2)  # (N, c2, 7, 7)
        # the article's remedy for overfitting (section 9); off by default
        self.drop1 = nn.Dropout(dropout)
        self.fc1 = nn.Linear(c2 * 7 * 7, hidden)  # (N, hidden)
        self.drop2 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, 10)  # (N, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, 1, 28, 28)
        x = self.pool1(F.relu(self.conv1(x)))  # (N, c1, 14, 14)
        x = self.pool2(F.relu(self.conv2(x)))  # (N, c2, 7, 7)
        x = F.relu(self.fc1(self.drop1(torch.flatten(x, 1))))  # (N, hidden)
        return self.fc2(self.drop2(x))  # (N, 10) logits


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998), adapted to 28x28 input and to training
    today.

    Adaptations: the paper pads the 28x28 digits to 32x32; here C1 pads by 2,
    which is the same. C3 connects to all six S2 maps (the paper's sparse
    connection table was a compute saving). S2/S4 are plain 2x2 average pooling
    (the paper's have a trainable scale and bias). The output is a linear layer
    giving logits for cross-entropy, not the paper's Euclidean RBF units.
    Activations are tanh, as in the paper (without its 1.7159 scaling).
    """

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)  # (N, 6, 28, 28)
        self.s2 = nn.AvgPool2d(2)  # (N, 6, 14, 14)
        self.c3 = nn.Conv2d(6, 16, 5)  # (N, 16, 10, 10)
        self.s4 = nn.AvgPool2d(2)  # (N, 16, 5, 5)
        # (N, 120, 1, 1): a "convolution" that sees the whole map
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)  # (N, 84)
        self.output = nn.Linear(84, 10)  # (N, 10) logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, 1, 28, 28)
        x = self.s2(torch.tanh(self.c1(x)))  # (N, 6, 14, 14)
        x = self.s4(torch.tanh(self.c3(x)))  # (N, 16, 5, 5)
        x = torch.tanh(self.c5(x)).flatten(1)  # (N, 120)
        x = torch.tanh(self.f6(x))  # (N, 84)
        return self.output(x)  # (N, 10)


def conv_block(
    c_in: int, c_out: int, pool: bool, batch_norm: bool = True
) -> nn.Sequential:
    """A 3x3 convolution, 2x2 max pooling if ``pool``, batch norm (unless
    ``batch_norm`` is False; then the convolution has a bias, which batch norm
    otherwise supplies) and ReLU, with named layers: ``conv``, ``pool``,
    ``bn``, ``relu``."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    layers["conv"] = nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm)
    if pool:
        layers["pool"] = nn.MaxPool2d(2)  # halves H and W
    if batch_norm:
        layers["bn"] = nn.BatchNorm2d(c_out)
    layers["relu"] = nn.ReLU(inplace=True)
    return nn.Sequential(layers)


class BookCNN(nn.Module):
    """The book's default network: small, batch-normalised, pools early; fast
    on a CPU.

    Three 3x3 convolution blocks with 16, 32 and 32 channels. The first two
    pool *before* batch norm and ReLU (max pooling commutes with ReLU, and
    normalising the pooled map costs a quarter of the unpooled one), so 28x28
    becomes 7x7 early and most of the work happens on small maps; batch norm
    lets it train with large learning rates in one or two epochs. The blocks
    are named (``block1`` ... ``head``), so fine-tuning can freeze or re-train
    them by name. Works with ``channels_last`` input and weights.
    ``batch_norm=False`` leaves batch norm out (the chapter "Training"
    measures what it does).
    """

    def __init__(
        self,
        c1: int = 16,
        c2: int = 32,
        c3: int = 32,
        dropout: float = 0.0,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        bn = batch_norm
        self.block1 = conv_block(1, c1, True, bn)  # (N, c1, 14, 14)
        self.block2 = conv_block(c1, c2, True, bn)  # (N, c2, 7, 7)
        self.block3 = conv_block(c2, c3, False, bn)  # (N, c3, 7, 7)
        head: OrderedDict[str, nn.Module] = OrderedDict()
        head["flatten"] = nn.Flatten()  # (N, c3 * 49)
        # off by default: ~10 % of a CPU step
        head["dropout"] = nn.Dropout(dropout)
        head["fc"] = nn.Linear(c3 * 7 * 7, 10)  # (N, 10) logits
        self.head = nn.Sequential(head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, 1, 28, 28)
        x = self.block1(x)  # (N, c1, 14, 14)
        x = self.block2(x)  # (N, c2, 7, 7)
        x = self.block3(x)  # (N, c3, 7, 7)
        return self.head(x)  # (N, 10)


class ExamplesNet(nn.Module):
    """The network of pytorch/examples ``mnist/main.py`` (two convolutions
    32/64, dropout, 128 hidden).

    Reimplemented from its published definition for the training benchmark; its
    recipe is Adadelta with lr 1.0, StepLR(gamma=0.7) per epoch, batch 64, 14
    epochs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)  # (N, 32, 26, 26)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)  # (N, 64, 24, 24)
        # (N, 64, 12, 12); the original calls F.max_pool2d, the same operation
        self.pool = nn.MaxPool2d(2)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)  # 64 * 12 * 12 -> 128
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (N, 1, 28, 28)
        x = F.relu(self.conv1(x))  # (N, 32, 26, 26)
        x = self.pool(F.relu(self.conv2(x)))  # (N, 64, 12, 12)
        x = torch.flatten(self.dropout1(x), 1)  # (N, 9216)
        x = self.dropout2(F.relu(self.fc1(x)))  # (N, 128)
        return self.fc2(x)  # (N, 10) logits


# name -> constructor, for the CLI and the chapters' side-by-side tables
MODELS: dict[str, type[nn.Module]] = {
    "article-simple": ArticleSimpleCNN,
    "article": ArticleCNN,
    "lenet5": LeNet5,
    "book": BookCNN,
    "examples": ExamplesNet,
}


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``with eval_mode(model):`` runs ``model`` in eval mode (batch norm uses
    its running statistics, dropout is off) and puts back the mode it had, even
    after an error."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)

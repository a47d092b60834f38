"""Fine-tuning an MNIST network on new tasks: freezing, new heads, discriminative learning rates, LoRA.

Explained in the chapter "Fine-tuning" (``book/finetune.ipynb``). Targets: scikit-learn's 8x8
digits (another scanner, a similar task) and Fashion-MNIST (clothing, a dissimilar task).

Sources: J. Yosinski et al., "How transferable are features in deep neural networks?",
NeurIPS 2014; J. Howard, S. Ruder, "Universal language model fine-tuning" (ULMFiT), ACL 2018
(discriminative learning rates); E. J. Hu et al., "LoRA: Low-rank adaptation of large language
models", ICLR 2022.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mnist_cnn import data, preprocess, training

__all__ = [
    "pretrained_book_model",
    "load_sklearn_digits",
    "few_shot_indices",
    "freeze_except",
    "replace_head",
    "count_trainable",
    "LoRALinear",
    "LoRAConv2d",
    "apply_lora",
    "merge_lora",
    "FineTuneResult",
    "train_steps",
    "accuracy",
]


def pretrained_book_model(name: str = "pretrained-book") -> tuple[nn.Module, float, float, str]:
    """The training chapter's network trained with the book's recipe (``TrainConfig()``, ~5 s on a CPU).

    Cached as ``<cache>/<name>.pt`` by :func:`mnist_cnn.training.fit_or_load`. Returns the model,
    the normalisation mean and std, and "loaded" or "trained".
    """
    return training.fit_or_load(training.TrainConfig(), name)


def load_sklearn_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 8x8 digits (UCI, 16 grey levels) in MNIST's format: ``(N, 28, 28)`` uint8, ``(N,)``.

    Each 8x8 image is scaled to [0, 1] and sent through :func:`mnist_cnn.preprocess.to_mnist`
    (crop, fit a 20x20 box, centre of mass in 28x28), the same steps MNIST's digits went through.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.stack([preprocess.to_mnist(img.astype(np.float32) / 16.0) for img in bunch.images])  # (1797, 28, 28)
    return images, torch.as_tensor(bunch.target, dtype=torch.int64)


def few_shot_indices(labels: torch.Tensor, per_class: int | None, seed: int) -> torch.Tensor:
    """Indices of ``per_class`` random examples of each class (all of them for ``None``)."""
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for k in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == k).flatten()
        idx = idx[torch.randperm(idx.numel(), generator=g)]
        chosen.append(idx if per_class is None else idx[:per_class])
    return torch.cat(chosen)


def freeze_except(model: nn.Module, trainable: Iterable[str]) -> nn.Module:
    """Freeze every parameter whose name does not start with one of the ``trainable`` prefixes.

    Batch-norm layers whose parameters are frozen are also kept in eval mode by :func:`train_steps`
    (their running statistics are part of what was learned).
    """
    prefixes = tuple(trainable)
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(prefixes) if prefixes else False)
    return model


def replace_head(model: nn.Module, n_classes: int) -> nn.Module:
    """Replace the model's last ``nn.Linear`` with a freshly initialised one with ``n_classes`` outputs."""
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, child)
    setattr(parent, child, nn.Linear(old.in_features, n_classes))
    return model


def count_trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class LoRALinear(nn.Module):
    """``y = x W^T + b + (alpha / r) x A^T B^T`` with ``W``, ``b`` frozen; ``A`` (r, in), ``B`` (out, r).

    ``B`` starts at zero, so a fresh LoRA layer computes exactly what the base layer does; training
    changes only r * (in + out) numbers instead of in * out.
    """

    def __init__(self, base: nn.Linear, r: int = 4, alpha: float = 8.0) -> None:
        super().__init__()
        if r < 1:
            raise ValueError(f"r={r}: the rank must be a positive integer.")
        self.base, self.r, self.scale = base, r, alpha / r
        base.requires_grad_(False)
        self.A = nn.Parameter(torch.randn(r, base.in_features) / math.sqrt(base.in_features))  # (r, in)
        self.B = nn.Parameter(torch.zeros(base.out_features, r))  # (out, r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in) -> (..., out)
        return self.base(x) + self.scale * F.linear(F.linear(x, self.A), self.B)

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` with ``W + (alpha/r) B A``: the same function, no extra cost."""
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.scale * self.B @ self.A)
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out


class LoRAConv2d(nn.Module):
    """A convolution plus a low-rank update: ``A`` is an r-channel convolution with the base's
    kernel, stride, padding and dilation, ``B`` a 1x1 convolution from r to C_out channels (zero
    at the start). The update of the weight is ``(alpha/r) B A`` reshaped to ``(C_out, C_in, kH, kW)``."""

    def __init__(self, base: nn.Conv2d, r: int = 4, alpha: float = 8.0) -> None:
        super().__init__()
        if r < 1:
            raise ValueError(f"r={r}: the rank must be a positive integer.")
        if base.groups != 1:
            raise ValueError("LoRAConv2d: grouped convolutions are not supported.")
        self.base, self.r, self.scale = base, r, alpha / r
        base.requires_grad_(False)
        fan_in = base.in_channels * base.kernel_size[0] * base.kernel_size[1]
        self.A = nn.Parameter(torch.randn(r, base.in_channels, *base.kernel_size) / math.sqrt(fan_in))  # (r, C_in, kH, kW)
        self.B = nn.Parameter(torch.zeros(base.out_channels, r))  # (C_out, r)

    def delta(self) -> torch.Tensor:
        return self.scale * (self.B @ self.A.flatten(1)).view_as(self.base.weight)  # (C_out, C_in, kH, kW)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C_in, H, W) -> (N, C_out, H', W')
        low = F.conv2d(x, self.A, None, self.base.stride, self.base.padding, self.base.dilation)  # (N, r, H', W')
        return self.base(x) + self.scale * F.conv2d(low, self.B[:, :, None, None])

    def merged(self) -> nn.Conv2d:
        b = self.base
        out = nn.Conv2d(b.in_channels, b.out_channels, b.kernel_size, b.stride, b.padding, b.dilation, bias=b.bias is not None)
        with torch.no_grad():
            out.weight.copy_(b.weight + self.delta())
            if b.bias is not None:
                out.bias.copy_(b.bias)
        return out


def apply_lora(model: nn.Module, r: int = 4, alpha: float = 8.0, skip: Iterable[str] = ()) -> nn.Module:
    """Freeze ``model`` and wrap every ``nn.Conv2d``/``nn.Linear`` (except names in ``skip``) in LoRA.

    Batch-norm parameters stay frozen too; layers named in ``skip`` (typically a new head) stay trainable.
    """
    skip = set(skip)
    for name, p in model.named_parameters():
        p.requires_grad_(any(name.startswith(s + ".") for s in skip))
    for name, module in list(model.named_modules()):
        if name in skip or not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, (LoRAConv2d if isinstance(module, nn.Conv2d) else LoRALinear)(module, r, alpha))
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every LoRA layer by its merged plain layer (same outputs, no adapter cost)."""
    for name, module in list(model.named_modules()):
        if isinstance(module, (LoRALinear, LoRAConv2d)):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, module.merged())
    return model


@dataclass(frozen=True)
class FineTuneResult:
    final_loss: float  # mean training loss of the last 10 steps
    trainable: int  # parameters that were trained


def train_steps(
    model: nn.Module,
    x: torch.Tensor,  # (N, 1, 28, 28) normalised float
    y: torch.Tensor,  # (N,)
    steps: int = 100,
    lr: float | dict[str, float] = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    weight_decay: float = 1e-4,
) -> FineTuneResult:
    """A fixed number of AdamW steps on random batches of (x, y), whatever the dataset size.

    ``lr`` may map name prefixes to learning rates (discriminative learning rates: small for the
    early layers, larger for the head); parameters matching no prefix use the ``""`` entry.
    Frozen batch-norm layers stay in eval mode.
    """
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("model: no trainable parameters (everything is frozen).")
    if isinstance(lr, dict):
        groups: dict[float, list[nn.Parameter]] = {}
        for name, p in trainable:
            prefix = max((k for k in lr if name.startswith(k)), key=len, default="")
            if prefix not in lr:
                raise ValueError(f"lr: no learning rate for parameter {name!r}; add a '' entry as the default.")
            groups.setdefault(lr[prefix], []).append(p)
        params = [{"params": ps, "lr": rate} for rate, ps in groups.items()]
        peak = max(lr.values())
    else:
        params, peak = [p for _, p in trainable], lr
    optimizer = torch.optim.AdamW(params, lr=peak, weight_decay=weight_decay)
    model.train()
    for m in model.modules():  # frozen batch norm keeps its running statistics
        if isinstance(m, nn.BatchNorm2d) and not any(p.requires_grad for p in m.parameters()):
            m.eval()
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (min(batch_size, x.shape[0]),), generator=g)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    return FineTuneResult(sum(losses[-10:]) / len(losses[-10:]), count_trainable(model))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
    """Accuracy of ``model`` (eval mode) on normalised inputs ``x`` ``(N, 1, 28, 28)``."""
    model.eval()
    correct = 0
    with torch.inference_mode():
        for start in range(0, x.shape[0], batch_size):
            correct += int((model(x[start : start + batch_size]).argmax(1) == y[start : start + batch_size]).sum())
    return correct / x.shape[0]


def normalise(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 ``(N, 28, 28)`` -> float ``(N, 1, 28, 28)``, ``(x/255 - mean)/std`` (as :func:`mnist_cnn.data.iterate_batches`)."""
    labels = torch.zeros(images.shape[0], dtype=torch.int64)
    return next(data.iterate_batches(images, labels, images.shape[0], mean, std, shuffle=False))[0]


__all__ += ["normalise"]


METHODS = ("from scratch", "linear probe", "last block", "full fine-tuning", "discriminative lr", "LoRA (r=4)")
__all__ += ["METHODS", "start_model", "method_lr", "TransferResult", "transfer"]


def start_model(method: str, pretrained: nn.Module, n_classes: int = 10, seed: int = 0) -> nn.Module:
    """The network a method starts from: a copy of ``pretrained`` (or a fresh BookCNN for
    "from scratch") with a new head, frozen or wrapped as the method requires."""
    if method not in METHODS:
        raise ValueError(f"method={method!r}: expected one of {METHODS}.")
    torch.manual_seed(seed)  # the new head's (and the scratch model's) initialisation
    base = type(pretrained)() if method == "from scratch" else copy.deepcopy(pretrained)
    model = replace_head(base, n_classes)
    if method == "linear probe":
        freeze_except(model, ["classifier"])
    elif method == "last block":
        freeze_except(model, ["features.8", "features.9", "classifier"])
    elif method.startswith("LoRA"):
        head = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
        apply_lora(model, r=4, alpha=8, skip=[head])
    else:
        for p in model.parameters():
            p.requires_grad_(True)
    return model


def method_lr(method: str, lr: float) -> float | dict[str, float]:
    """The learning rate(s) of a method: discriminative learning rates grow from 1/10 of ``lr``
    for the first block to 3x ``lr`` for the head; every other method uses ``lr`` throughout."""
    if method == "discriminative lr":
        return {"": lr / 10, "features.4": lr / 3, "features.8": lr, "features.9": lr, "classifier": 3 * lr}
    return lr


@dataclass(frozen=True)
class TransferResult:
    method: str
    per_class: int | None  # labelled examples per class (None: all available)
    seed: int
    lr: float
    val_acc: float
    test_acc: float
    trainable: int
    mnist_acc: float  # the fine-tuned backbone with the original MNIST head, on MNIST: forgetting


def transfer(
    method: str,
    pretrained: nn.Module,
    splits: dict[str, tuple[torch.Tensor, torch.Tensor]],  # "pool", "val", "test": (uint8 images, labels)
    per_class: int | None,
    seed: int,
    lr: float,
    mean: float,
    std: float,
    mnist_eval: tuple[torch.Tensor, torch.Tensor] | None = None,  # normalised MNIST images, labels
    steps: int = 100,
) -> TransferResult:
    """Train one method on ``per_class`` examples per class drawn (with ``seed``) from the pool;
    report validation and test accuracy, and MNIST accuracy with the original head put back."""
    pool_x, pool_y = splits["pool"]
    idx = few_shot_indices(pool_y, per_class, seed)
    x, y = normalise(pool_x[idx], mean, std), pool_y[idx]
    # channels_last: the same arithmetic in another memory order; max pooling runs 3-6x faster on CPUs
    model = start_model(method, pretrained, seed=seed).to(memory_format=torch.channels_last)
    result = train_steps(model, x, y, steps=steps, lr=method_lr(method, lr), seed=seed)
    val_acc = accuracy(model, normalise(splits["val"][0], mean, std), splits["val"][1])
    test_acc = accuracy(model, normalise(splits["test"][0], mean, std), splits["test"][1])
    mnist_acc = float("nan")
    if mnist_eval is not None and method != "from scratch":
        probe = merge_lora(copy.deepcopy(model))
        head_name = [n for n, m in probe.named_modules() if isinstance(m, nn.Linear)][-1]
        parent, _, child = head_name.rpartition(".")
        original = [m for m in pretrained.modules() if isinstance(m, nn.Linear)][-1]
        setattr(probe.get_submodule(parent) if parent else probe, child, copy.deepcopy(original))
        mnist_acc = accuracy(probe, *mnist_eval)
    return TransferResult(method, per_class, seed, lr, val_acc, test_acc, result.trainable, mnist_acc)

"""Fine-tuning tools: freezing, a new head, discriminative learning rates, LoRA.

Explained in the chapter "Fine-tuning" (``book/finetune.ipynb``); the chapter's
experiment (which method, how many examples, which target task) is
:mod:`mnist_cnn.transfer`.

Sources: J. Yosinski et al., "How transferable are features in deep neural
networks?", NeurIPS 2014; J. Howard, S. Ruder, "Universal language model
fine-tuning" (ULMFiT), ACL 2018 (discriminative learning rates); E. J. Hu et
al., "LoRA: Low-rank adaptation of large language models", ICLR 2022.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from mnist_cnn import models, training

__all__ = [
    "freeze_except",
    "head_name",
    "replace_head",
    "count_trainable",
    "LoRALinear",
    "LoRAConv2d",
    "apply_lora",
    "merge_lora",
    "train_steps",
    "model_accuracy",
]


def freeze_except(model: nn.Module, trainable: Iterable[str]) -> nn.Module:
    """Freeze every parameter whose name does not start with one of the
    ``trainable`` prefixes.

    Batch-norm layers whose parameters are frozen are also kept in eval mode by
    :func:`train_steps` (their running statistics are part of what was
    learned).
    """
    prefixes = tuple(trainable)
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(prefixes) if prefixes else False)
    return model


def head_name(model: nn.Module) -> str:
    """The dotted name of the model's last ``nn.Linear`` (its classification head)."""
    linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(
            f"model: a {type(model).__name__} has no nn.Linear head to "
            "replace."
        )
    return linears[-1]


def replace_head(model: nn.Module, n_classes: int) -> nn.Module:
    """Replace the model's last ``nn.Linear`` by a freshly initialised one with
    ``n_classes`` outputs."""
    name = head_name(model)
    old = model.get_submodule(name)
    model.set_submodule(name, nn.Linear(old.in_features, n_classes))
    return model


def count_trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class LoRALinear(nn.Module):
    """``y = x W^T + b + (alpha / r) x A^T B^T`` with ``W``, ``b`` frozen;
    ``A`` (r, in), ``B`` (out, r).

    ``B`` starts at zero, so a fresh LoRA layer computes exactly what the base
    layer does; training changes only r * (in + out) numbers instead of in *
    out.
    """

    def __init__(
        self, base: nn.Linear, r: int = 4, alpha: float = 8.0
    ) -> None:
        super().__init__()
        if r < 1:
            raise ValueError(f"r={r}: the rank must be a positive integer.")
        self.base, self.r, self.scale = base, r, alpha / r
        base.requires_grad_(False)
        # (r, in)
        self.A = nn.Parameter(
            torch.randn(r, base.in_features) / math.sqrt(base.in_features)
        )
        self.B = nn.Parameter(torch.zeros(base.out_features, r))  # (out, r)

    # (..., in) -> (..., out)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * F.linear(
            F.linear(x, self.A), self.B
        )

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` with ``W + (alpha/r) B A``: the same function,
        no extra cost."""
        out = nn.Linear(
            self.base.in_features,
            self.base.out_features,
            bias=self.base.bias is not None,
        )
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.scale * self.B @ self.A)
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out


class LoRAConv2d(nn.Module):
    """A convolution plus a low-rank update: ``A`` is an r-channel convolution
    with the base's kernel, stride, padding and dilation, ``B`` a 1x1
    convolution from r to C_out channels (zero at the start). The update of the
    weight is ``(alpha/r) B A`` reshaped to ``(C_out, C_in, kH, kW)``."""

    def __init__(
        self, base: nn.Conv2d, r: int = 4, alpha: float = 8.0
    ) -> None:
        super().__init__()
        if r < 1:
            raise ValueError(f"r={r}: the rank must be a positive integer.")
        if base.groups != 1:
            raise ValueError(
                "LoRAConv2d: grouped convolutions are not supported."
            )
        self.base, self.r, self.scale = base, r, alpha / r
        base.requires_grad_(False)
        fan_in = base.in_channels * base.kernel_size[0] * base.kernel_size[1]
        # (r, C_in, kH, kW)
        self.A = nn.Parameter(
            torch.randn(r, base.in_channels, *base.kernel_size)
            / math.sqrt(fan_in)
        )
        self.B = nn.Parameter(torch.zeros(base.out_channels, r))  # (C_out, r)

    def delta(self) -> torch.Tensor:
        # (C_out, C_in, kH, kW)
        return self.scale * (self.B @ self.A.flatten(1)).view_as(
            self.base.weight
        )

    # (N, C_in, H, W) -> (N, C_out, H', W')
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, r, H', W')
        low = F.conv2d(
            x,
            self.A,
            None,
            self.base.stride,
            self.base.padding,
            self.base.dilation,
        )
        return self.base(x) + self.scale * F.conv2d(
            low, self.B[:, :, None, None]
        )

    def merged(self) -> nn.Conv2d:
        b = self.base
        out = nn.Conv2d(
            b.in_channels,
            b.out_channels,
            b.kernel_size,
            b.stride,
            b.padding,
            b.dilation,
            bias=b.bias is not None,
        )
        with torch.no_grad():
            out.weight.copy_(b.weight + self.delta())
            if b.bias is not None:
                out.bias.copy_(b.bias)
        return out


def apply_lora(
    model: nn.Module, r: int = 4, alpha: float = 8.0, skip: Iterable[str] = ()
) -> nn.Module:
    """Freeze ``model`` and wrap every ``nn.Conv2d``/``nn.Linear`` (except
    names in ``skip``) in LoRA.

    Batch-norm parameters stay frozen too; layers named in ``skip`` (typically
    a new head) stay trainable.
    """
    skip = set(skip)
    for name, p in model.named_parameters():
        p.requires_grad_(any(name.startswith(s + ".") for s in skip))
    for name, module in list(model.named_modules()):
        if name in skip or not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        lora = LoRAConv2d if isinstance(module, nn.Conv2d) else LoRALinear
        model.set_submodule(name, lora(module, r, alpha))
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every LoRA layer by its merged plain layer (same outputs, no
    adapter cost)."""
    for name, module in list(model.named_modules()):
        if isinstance(module, (LoRALinear, LoRAConv2d)):
            model.set_submodule(name, module.merged())
    return model


def train_steps(
    model: nn.Module,
    x: torch.Tensor,  # (N, 1, 28, 28) normalised float
    y: torch.Tensor,  # (N,)
    steps: int = 100,
    lr: float | dict[str, float] = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    weight_decay: float = 1e-4,
) -> None:
    """A fixed number of AdamW steps on random batches of (x, y), whatever the
    dataset size.

    ``lr`` may map name prefixes to learning rates (discriminative learning
    rates: small for the early layers, larger for the head); parameters
    matching no prefix use the ``""`` entry. Frozen batch-norm layers stay in
    eval mode.
    """
    trainable = [
        (n, p) for n, p in model.named_parameters() if p.requires_grad
    ]
    if not trainable:
        raise ValueError(
            "model: no trainable parameters (everything is frozen)."
        )
    if isinstance(lr, dict):
        groups: dict[float, list[nn.Parameter]] = {}
        for name, p in trainable:
            prefix = max(
                (k for k in lr if name.startswith(k)), key=len, default=""
            )
            if prefix not in lr:
                raise ValueError(
                    f"lr: no learning rate for parameter {name!r}; add a '' "
                    "entry as the default."
                )
            groups.setdefault(lr[prefix], []).append(p)
        params = [{"params": ps, "lr": rate} for rate, ps in groups.items()]
        peak = max(lr.values())
    else:
        params, peak = [p for _, p in trainable], lr
    optimizer = torch.optim.AdamW(params, lr=peak, weight_decay=weight_decay)
    model.train()
    for m in model.modules():  # frozen batch norm keeps its running statistics
        if isinstance(m, nn.BatchNorm2d) and not any(
            p.requires_grad for p in m.parameters()
        ):
            m.eval()
    g = torch.Generator().manual_seed(seed)

    def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for _ in range(steps):
            idx = torch.randint(
                0, x.shape[0], (min(batch_size, x.shape[0]),), generator=g
            )
            yield x[idx], y[idx]

    training.train_one_epoch(model, batches(), optimizer, F.cross_entropy)
    model.eval()


def model_accuracy(
    model: nn.Module,
    x: torch.Tensor,  # (N, 1, 28, 28) normalised float
    y: torch.Tensor,  # (N,)
    batch_size: int = 256,
) -> float:
    """Accuracy of ``model`` (in eval mode) on normalised inputs, in batches."""
    correct = 0
    with models.eval_mode(model), torch.inference_mode():
        for start in range(0, x.shape[0], batch_size):
            logits = model(x[start : start + batch_size])  # (B, classes)
            correct += int(
                (logits.argmax(1) == y[start : start + batch_size]).sum()
            )
    return correct / x.shape[0]

"""Optimizers and the one-cycle schedule, written from their update equations.

Explained in the chapter "Training" (``book/training.ipynb``), which shows the
equations. For a parameter ``θ`` with gradient ``g`` at step ``t``, learning
rate ``η`` and weight decay ``λ``:

* SGD: ``θ ← θ − η (g + λθ)``;
* momentum: ``v ← μ v + (g + λθ)`` (``v = g + λθ`` at the first step),
  ``θ ← θ − η v``; Nesterov looks ahead: ``θ ← θ − η ((g + λθ) + μ v)``;
* Adam: ``m ← β₁ m + (1 − β₁) g``, ``s ← β₂ s + (1 − β₂) g²``, bias-corrected
  ``m̂ = m / (1 − β₁ᵗ)``, ``ŝ = s / (1 − β₂ᵗ)``, ``θ ← θ − η m̂ / (√ŝ + ε)``,
  with ``λθ`` added to ``g`` (L2 regularisation);
* AdamW: the same without ``λθ`` in ``g``; instead the weights decay on their
  own, ``θ ← θ (1 − ηλ)``, before the Adam step (decoupled weight decay).

Each is tested step for step against ``torch.optim`` in ``tests/test_optim.py``.

Sources: B. T. Polyak, "Some methods of speeding up the convergence of
iteration methods", 1964 (momentum); I. Sutskever et al., "On the importance of
initialization and momentum in deep learning", ICML 2013 (Nesterov); D. P.
Kingma, J. Ba, "Adam", ICLR 2015; I. Loshchilov, F. Hutter, "Decoupled weight
decay regularization", ICLR 2019; L. N. Smith, N. Topin, "Super-convergence",
2019 (one-cycle).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

__all__ = ["SGD", "Adam", "AdamW", "descend", "one_cycle"]


class SGD:
    """Stochastic gradient descent, with optional (Nesterov) momentum ``μ``."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        self.params = list(params)
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self.weight_decay = weight_decay
        self.velocity: list[torch.Tensor | None] = [None] * len(self.params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p  # the gradient of L + λ/2 ‖θ‖²
            if self.momentum:
                v = self.velocity[i]
                v = g.clone() if v is None else self.momentum * v + g
                self.velocity[i] = v
                g = g + self.momentum * v if self.nesterov else v
            p -= self.lr * g


class Adam:
    """Adam: per-parameter steps from bias-corrected moving averages of the
    gradient (``m``) and of its square (``s``). ``decoupled=True`` is AdamW."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.decoupled = weight_decay, decoupled
        self.m = [torch.zeros_like(p) for p in self.params]
        self.s = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        for p, m, s in zip(self.params, self.m, self.s):
            if p.grad is None:
                continue
            g = p.grad
            if self.decoupled:  # AdamW: θ ← θ (1 − ηλ), apart from g
                p.mul_(1 - self.lr * self.weight_decay)
            else:  # Adam: λθ joins the gradient, then the averages
                g = g + self.weight_decay * p
            m.mul_(b1).add_((1 - b1) * g)
            s.mul_(b2).add_((1 - b2) * g * g)
            m_hat = m / (1 - b1**self.t)  # bias correction: m starts at 0
            s_hat = s / (1 - b2**self.t)
            p -= self.lr * m_hat / (s_hat.sqrt() + self.eps)


def AdamW(  # noqa: N802 - named like the class it stands for
    params: Iterable[torch.Tensor],
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> Adam:
    """Adam with decoupled weight decay (Loshchilov and Hutter)."""
    return Adam(params, lr, betas, eps, weight_decay, decoupled=True)


def one_cycle(
    step: int,
    total_steps: int,
    max_lr: float,
    pct_start: float = 0.25,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> float:
    """The learning rate of step ``step`` (0 = the first) of a one-cycle
    schedule: a cosine rise from ``max_lr / div_factor`` to ``max_lr`` over the
    first ``pct_start`` of the steps, then a cosine fall to
    ``max_lr / div_factor / final_div_factor`` at the last step."""
    start = max_lr / div_factor
    end = start / final_div_factor
    peak = pct_start * total_steps - 1  # the step that reaches max_lr

    def cosine(a: float, b: float, fraction: float) -> float:
        return b + (a - b) / 2 * (1 + math.cos(math.pi * fraction))

    if step <= peak:
        return cosine(start, max_lr, step / peak)
    return cosine(max_lr, end, (step - peak) / (total_steps - 1 - peak))


def descend(lr: float, steps: int = 10) -> list[float]:
    """Gradient descent on L(w) = (w - 3)^2 from w = 0: w after each step."""
    w = torch.tensor(0.0, requires_grad=True)
    path = [w.item()]
    for _ in range(steps):
        loss = (w - 3) ** 2
        loss.backward()  # the slope, into w.grad
        with torch.no_grad():  # the step itself is not recorded
            w -= lr * w.grad
        w.grad = None  # else the next backward adds to it
        path.append(w.item())
    return path

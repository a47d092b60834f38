"""mnist_cnn.optim against torch.optim: the same parameters, step for step, for
100 steps of a random least-squares problem with a ReLU layer, in float64
(tolerance 1e-12 relative), for several hyper-parameter settings. The one-cycle
formula against OneCycleLR's learning rates (1e-12)."""

from __future__ import annotations

import pytest
import torch

from mnist_cnn import optim

STEPS = 100


def problem(
    seed: int,
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(8, 5, generator=g, dtype=torch.float64)
    w2 = torch.randn(3, 8, generator=g, dtype=torch.float64)
    x = torch.randn(32, 5, generator=g, dtype=torch.float64)
    y = torch.randn(32, 3, generator=g, dtype=torch.float64)
    return [w1, w2], x, y


def run(make, seed: int) -> list[torch.Tensor]:  # type: ignore[no-untyped-def]
    """Parameters after STEPS steps of ``make(params)`` on the problem."""
    params, x, y = problem(seed)
    params = [p.clone().requires_grad_(True) for p in params]
    opt = make(params)
    for _ in range(STEPS):
        opt.zero_grad()
        hidden = torch.relu(x @ params[0].T)  # (32, 8)
        loss = ((hidden @ params[1].T - y) ** 2).mean()
        loss.backward()
        opt.step()
    return [p.detach() for p in params]


SETTINGS = [
    # (ours, torch's), same hyper-parameters
    (
        lambda p: optim.SGD(p, lr=0.05),
        lambda p: torch.optim.SGD(p, lr=0.05),
    ),
    (
        lambda p: optim.SGD(p, lr=0.03, weight_decay=0.1),
        lambda p: torch.optim.SGD(p, lr=0.03, weight_decay=0.1),
    ),
    (
        lambda p: optim.SGD(p, lr=0.02, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9),
    ),
    (
        lambda p: optim.SGD(p, lr=0.02, momentum=0.8, weight_decay=5e-3),
        lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.8, weight_decay=5e-3),
    ),
    (
        lambda p: optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True),
    ),
    (
        lambda p: optim.Adam(p, lr=1e-2),
        lambda p: torch.optim.Adam(p, lr=1e-2),
    ),
    (
        lambda p: optim.Adam(p, lr=3e-3, betas=(0.8, 0.99), weight_decay=0.1),
        lambda p: torch.optim.Adam(
            p, lr=3e-3, betas=(0.8, 0.99), weight_decay=0.1
        ),
    ),
    (
        lambda p: optim.AdamW(p, lr=1e-2),
        lambda p: torch.optim.AdamW(p, lr=1e-2),
    ),
    (
        lambda p: optim.AdamW(p, lr=5e-3, eps=1e-6, weight_decay=0.3),
        lambda p: torch.optim.AdamW(p, lr=5e-3, eps=1e-6, weight_decay=0.3),
    ),
]


@pytest.mark.parametrize("index", range(len(SETTINGS)))
@pytest.mark.parametrize("seed", [0, 1])
def test_optimizer_matches_torch_step_for_step(index: int, seed: int) -> None:
    ours_make, torch_make = SETTINGS[index]
    ours, reference = run(ours_make, seed), run(torch_make, seed)
    start, _, _ = problem(seed)
    for a, b, p0 in zip(ours, reference, start):
        assert not torch.equal(b, p0)  # the problem moves the parameters
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_adam_and_adamw_differ_when_weights_decay() -> None:
    """The decoupled decay is not L2 in Adam: with λ > 0 they part ways."""
    adam = run(lambda p: optim.Adam(p, lr=1e-2, weight_decay=0.1), 0)
    adamw = run(lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.1), 0)
    assert not torch.allclose(adam[0], adamw[0], atol=1e-6)


@pytest.mark.parametrize(
    "total, max_lr, pct", [(100, 0.01, 0.25), (430, 0.02, 0.3), (7, 1.0, 0.5)]
)
def test_one_cycle_formula_matches_onecyclelr(
    total: int, max_lr: float, pct: float
) -> None:
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=max_lr, momentum=0.9)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=max_lr, total_steps=total, pct_start=pct
    )
    for step in range(total):
        assert optim.one_cycle(step, total, max_lr, pct) == pytest.approx(
            opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15
        ), step
        opt.step()
        if step < total - 1:
            schedule.step()


@pytest.mark.parametrize("lr", [0.02, 0.3, 1.0, 1.05])
def test_descend_follows_the_closed_form(lr: float) -> None:
    """On (w - 3)^2 each step multiplies the distance to 3 by 1 - 2 lr, so
    from w = 0: w_t = 3 - 3 (1 - 2 lr)^t (chapter "Training")."""
    path = optim.descend(lr, steps=12)
    assert len(path) == 13
    want = [3 - 3 * (1 - 2 * lr) ** t for t in range(13)]
    assert path == pytest.approx(want, rel=1e-5, abs=1e-5)

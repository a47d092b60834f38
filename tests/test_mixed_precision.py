"""mnist_cnn.mixed_precision: the training loop in another precision without a
second loop. Reference: what torch.amp's documentation writes out by hand
(autocast around the forward pass and the loss; for float16
``scaler.scale(loss).backward()``, ``scaler.step(optimizer)``,
``scaler.update()``), run on the same batches from the same weights."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mnist_cnn import models
from mnist_cnn.mixed_precision import MixedPrecision, ScaledStep, scaled_loss
from mnist_cnn.training import train_one_epoch

g = torch.Generator().manual_seed(0)
BATCHES = [
    (torch.randn(16, 1, 28, 28, generator=g), torch.randint(0, 10, (16,)))
    for _ in range(4)
]


def twins() -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    ours, theirs = models.BookCNN(), models.BookCNN()
    theirs.load_state_dict(ours.state_dict())
    return ours.train(), theirs.train()


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(
        torch.equal(p, q)
        for p, q in zip(a.state_dict().values(), b.state_dict().values())
    )


def test_off_hands_back_the_loop_parts_unchanged() -> None:
    net, opt = models.BookCNN(), object()
    amp = MixedPrecision("off", torch.device("cpu"))
    assert amp.wrap(net, F.cross_entropy, opt) == (net, F.cross_entropy, opt)


def test_bf16_is_the_forward_and_loss_under_autocast() -> None:
    ours, theirs = twins()
    opt_ours = torch.optim.AdamW(ours.parameters(), lr=1e-2)
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=1e-2)
    amp = MixedPrecision("bf16", torch.device("cpu"))
    net, loss_fn, opt = amp.wrap(ours, F.cross_entropy, opt_ours)
    train_one_epoch(net, BATCHES, opt, loss_fn)
    for x, y in BATCHES:  # by hand
        opt_theirs.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = F.cross_entropy(theirs(x), y)
        loss.backward()
        opt_theirs.step()
    assert same_weights(ours, theirs)


@pytest.mark.parametrize("init_scale", [2.0**8, 2.0**127])
def test_scaled_steps_are_gradscalers_by_hand(init_scale: float) -> None:
    """float16's loss scaling, on the CPU (the scaler works there; autocast
    is left out so that the test runs without CUDA). 2**127 overflows the
    first steps' gradients: they are skipped, and the scale comes down, the
    same in both."""
    ours, theirs = twins()
    opt_ours = torch.optim.SGD(ours.parameters(), lr=0.1)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.1)
    s_ours = torch.amp.GradScaler("cpu", init_scale=init_scale)
    s_theirs = torch.amp.GradScaler("cpu", init_scale=init_scale)
    # the first batch's gradients are large: at 2**127 they overflow
    batches = [(BATCHES[0][0] * 1e4, BATCHES[0][1])] + BATCHES[1:]
    losses = []
    train_one_epoch(
        ours,
        batches,
        ScaledStep(opt_ours, s_ours),
        scaled_loss(F.cross_entropy, s_ours),
        lambda loss, *_: losses.append(float(loss)),
    )
    for x, y in batches:
        opt_theirs.zero_grad()
        loss = F.cross_entropy(theirs(x), y)
        s_theirs.scale(loss).backward()
        s_theirs.step(opt_theirs)
        s_theirs.update()
    assert same_weights(ours, theirs)
    assert s_ours.get_scale() == s_theirs.get_scale()
    # the loss itself, not scaled: what the model gives
    with torch.no_grad():
        twin = twins()[0]
        first = float(F.cross_entropy(twin(batches[0][0]), batches[0][1]))
    assert losses[0] == first
    if init_scale > 2.0**100:
        assert s_ours.get_scale() < init_scale  # overflows were seen


def test_fp16_without_cuda_is_refused_in_words() -> None:
    with pytest.raises(ValueError, match="amp='fp16' needs a CUDA device"):
        MixedPrecision("fp16", torch.device("cpu"))


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="float16 autocast needs CUDA"
)
def test_fp16_on_cuda_is_torch_amp_by_hand() -> None:
    device = torch.device("cuda")
    ours, theirs = (m.to(device) for m in twins())
    opt_ours = torch.optim.AdamW(ours.parameters(), lr=1e-3)
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=1e-3)
    amp = MixedPrecision("fp16", device)
    batches = [(x.to(device), y.to(device)) for x, y in BATCHES]
    net, loss_fn, opt = amp.wrap(ours, F.cross_entropy, opt_ours)
    train_one_epoch(net, batches, opt, loss_fn)
    scaler = torch.amp.GradScaler("cuda")
    for x, y in batches:  # torch.amp's recipe, by hand
        opt_theirs.zero_grad()
        with torch.autocast("cuda", dtype=torch.float16):
            loss = F.cross_entropy(theirs(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt_theirs)
        scaler.update()
    assert same_weights(ours, theirs)
    assert amp.scaler.get_scale() == scaler.get_scale()

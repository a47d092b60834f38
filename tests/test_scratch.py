"""mnist_cnn.scratch: a network's backward pass by hand, against autograd.

Reference: the same network in torch.nn with the same weights, its gradients
from ``loss.backward()``, in float64; tolerance 1e-10."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mnist_cnn import models, optim, scratch


def batch(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 28, 28, generator=g, dtype=torch.float64)
    return x, torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("model", ["article-simple", "article"])
@pytest.mark.parametrize("n, seed", [(1, 0), (7, 1), (32, 2)])
def test_every_gradient_equals_autograds(
    model: str, n: int, seed: int
) -> None:
    torch.manual_seed(seed)
    reference = models.MODELS[model]().double()
    ours = scratch.from_torch(reference)
    x, y = batch(n, seed)
    loss = F.cross_entropy(reference(x), y)
    loss.backward()
    our_loss, grad_logits = scratch.softmax_cross_entropy(ours.forward(x), y)
    ours.backward(grad_logits)
    assert abs(float(our_loss) - loss.item()) < 1e-12
    named = list(reference.named_parameters())
    assert len(ours.parameters()) == len(named)
    for p, (name, q) in zip(ours.parameters(), named):
        assert p.shape == q.shape, name
        assert torch.allclose(p.grad, q.grad, rtol=0, atol=1e-10), name


def test_softmax_cross_entropy_gradient_is_p_minus_onehot() -> None:
    logits = torch.randn(5, 10, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 3, 9, 3, 1])
    F.cross_entropy(logits, y).backward()
    loss, grad = scratch.softmax_cross_entropy(logits.detach(), y)
    assert torch.allclose(grad, logits.grad, atol=1e-12)
    assert torch.allclose(loss, F.cross_entropy(logits.detach(), y))


def test_training_steps_use_no_autograd_and_lower_the_loss() -> None:
    torch.manual_seed(0)
    net = scratch.from_torch(models.ArticleSimpleCNN())
    assert not any(p.requires_grad for p in net.parameters())
    opt = optim.SGD(net.parameters(), lr=0.01)
    x, y = batch(64, 3)
    x = x.float()
    losses = [scratch.train_step(net, x, y, opt) for _ in range(5)]
    assert losses[-1] < losses[0]
    assert not any(p.requires_grad for p in net.parameters())


def test_from_torch_refuses_what_it_cannot_copy() -> None:
    with pytest.raises(ValueError, match="not supported; give an"):
        scratch.from_torch(models.BookCNN())
    with pytest.raises(ValueError, match="without dropout"):
        scratch.from_torch(models.ArticleCNN(dropout=0.5))

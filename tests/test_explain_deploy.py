"""Saliency and Grad-CAM against closed forms and autograd; exported models against PyTorch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_cnn import deploy, explain
from mnist_cnn.models import BookCNN, LeNet5


def test_saliency_of_a_linear_model_is_its_weight() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    x = torch.randn(5, 1, 28, 28)
    target = torch.tensor([0, 3, 9, 2, 2])
    got = explain.saliency(model, x, target)  # (5, 28, 28)
    expected = model[1].weight[target].abs().reshape(5, 28, 28)
    torch.testing.assert_close(got, expected)
    assert all(p.grad is None for p in model.parameters())


def test_saliency_defaults_to_the_predicted_class_and_matches_autograd() -> (
    None
):
    torch.manual_seed(1)
    model = LeNet5().eval()
    x = torch.randn(3, 1, 28, 28)
    got = explain.saliency(model, x)
    for i in range(3):
        xi = x[i : i + 1].clone().requires_grad_(True)
        logits = model(xi)
        logits[0, logits.argmax()].backward()
        torch.testing.assert_close(got[i], xi.grad[0, 0].abs())


class GapNet(nn.Module):
    """convolution -> ReLU -> global average pooling -> linear: the architecture of CAM."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU())
        self.fc = nn.Linear(6, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean(dim=(2, 3)))


def test_grad_cam_equals_cam_for_global_average_pooling() -> None:
    torch.manual_seed(2)
    model = GapNet()
    x = torch.randn(4, 1, 28, 28)
    result = explain.grad_cam(model, x, model.conv, target=7)
    maps = model.conv(x)  # (4, 6, 24, 24)
    h, w = maps.shape[-2:]
    # CAM (Zhou et al. 2016): sum_k w_ck A_k; Grad-CAM's weights are w_ck / (h w)
    torch.testing.assert_close(
        result.weights, model.fc.weight[7].expand(4, 6) / (h * w)
    )
    cam = F.relu((model.fc.weight[7][None, :, None, None] * maps).sum(1)) / (
        h * w
    )
    torch.testing.assert_close(result.cam, cam.detach())
    assert result.heatmap.shape == (4, 28, 28)
    assert float(result.heatmap.max()) == pytest.approx(1.0)
    assert float(result.heatmap.min()) >= 0.0


def test_grad_cam_of_the_book_network_matches_autograd_by_hand() -> None:
    torch.manual_seed(3)
    model = BookCNN().eval()
    x = torch.randn(2, 1, 28, 28)
    layer = model.block3
    result = explain.grad_cam(model, x, layer)
    with torch.enable_grad():
        maps = (
            model.block3(model.block2(model.block1(x)))
            .detach()
            .requires_grad_(True)
        )  # (2, 32, 7, 7)
        logits = model.head(maps)
        target = logits.argmax(1)
        (grads,) = torch.autograd.grad(
            logits.gather(1, target[:, None]).sum(), maps
        )
    alpha = grads.mean(dim=(2, 3))
    torch.testing.assert_close(result.target, target)
    torch.testing.assert_close(result.weights, alpha)
    torch.testing.assert_close(
        result.cam, F.relu((alpha[:, :, None, None] * maps).sum(1)).detach()
    )


def test_block_outputs_are_the_maps_the_head_reads() -> None:
    torch.manual_seed(0)
    model = BookCNN().train()  # eval mode is set and restored
    x = torch.randn(3, 1, 28, 28)
    out = explain.block_outputs(model, x)
    assert [tuple(v.shape) for v in out.values()] == [
        (3, 16, 14, 14),
        (3, 32, 7, 7),
        (3, 32, 7, 7),
    ]
    assert model.training
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.head(out["block3"]), model(x))
        assert torch.equal(out["block1"], model.block1(x))
    assert (out["block2"] >= 0).all()  # after the ReLU


def test_explain_rejects_bad_arguments() -> None:
    model = BookCNN().eval()
    with pytest.raises(ValueError, match="x: expected a batch"):
        explain.saliency(model, torch.zeros(28, 28))
    with pytest.raises(ValueError, match="target: expected a class in 0..9"):
        explain.saliency(model, torch.zeros(1, 1, 28, 28), target=10)
    with pytest.raises(ValueError, match="layer: not a module of this model"):
        explain.grad_cam(model, torch.zeros(1, 1, 28, 28), nn.ReLU())


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_exported_model_gives_pytorchs_logits_for_any_batch_size(
    tmp_path, fmt: str
) -> None:
    torch.manual_seed(4)
    model = BookCNN().eval()
    # give batch norm non-trivial statistics, as after training
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    path = tmp_path / f"model.{fmt}"
    if fmt == "onnx":
        deploy.export_onnx(model, path, torch.randn(2, 1, 28, 28))
        run = deploy.onnx_logits
    else:
        deploy.export_torchscript(model, path, torch.randn(2, 1, 28, 28))
        run = deploy.torchscript_logits
    assert not list(tmp_path.glob("*.part"))
    for n in (1, 7, 64):
        x = torch.randn(n, 1, 28, 28)
        with torch.no_grad():
            expected = model(x)
        torch.testing.assert_close(
            run(path, x), expected, rtol=1e-4, atol=1e-5
        )


def test_torchscript_export_of_a_model_in_train_mode_is_the_eval_network(
    tmp_path,
) -> None:
    """Exporting from the middle of training (train mode, dropout 0.5, batch norm with running
    statistics) gives the inference network: the file's logits are the eval-mode model's, and
    the caller's model is still in train mode with its statistics untouched."""
    torch.manual_seed(5)
    model = BookCNN(dropout=0.5)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    model.train()
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    path = deploy.export_torchscript(
        model, tmp_path / "m.pt", torch.randn(4, 1, 28, 28)
    )
    assert model.training and all(m.training for m in model.modules())
    for name, value in model.state_dict().items():
        assert torch.equal(value, buffers[name]), name
    x = torch.randn(5, 1, 28, 28)
    model.eval()
    with torch.no_grad():
        expected = model(x)
    torch.testing.assert_close(
        deploy.torchscript_logits(path, x), expected, rtol=1e-4, atol=1e-5
    )
    torch.testing.assert_close(  # deterministic: no dropout in the file
        deploy.torchscript_logits(path, x), expected, rtol=1e-4, atol=1e-5
    )


def test_the_exported_program_gives_pytorchs_logits(tmp_path) -> None:
    """torch.export, the route that replaces TorchScript: the saved program
    computes the eval-mode network for a batch size it was not exported
    with (float32 rounding)."""
    torch.manual_seed(0)
    model = BookCNN().train()  # exported in eval mode regardless
    path = deploy.export_program(model, tmp_path / "book.pt2")
    x = torch.randn(5, 1, 28, 28)
    with torch.no_grad():
        want = model.eval()(x)
    got = deploy.program_logits(path, x)
    assert got.shape == (5, 10)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_torchscript_warns_that_it_is_deprecated(tmp_path) -> None:
    """What the chapter says of TorchScript in this PyTorch: tracing warns
    with a FutureWarning that names torch.export (deploy silences it)."""
    model = BookCNN().eval()
    with pytest.warns(FutureWarning, match="torch.export"):
        torch.jit.trace(model, torch.zeros(2, 1, 28, 28))

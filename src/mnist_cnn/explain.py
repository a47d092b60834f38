"""Why did the network say "7"? Saliency maps and Grad-CAM (chapter
"Applications and outlook").

Both are gradients of one class score with respect to something the network
computed:

- **Saliency** (Simonyan et al. 2014): ``|∂ z_c / ∂ x|`` per input pixel — which pixels would change
  the score ``z_c`` most if nudged.
- **Grad-CAM** (Selvaraju et al. 2017): for the feature maps ``A`` of one convolution layer,
  ``α_k = mean_{i,j} ∂ z_c / ∂ A_k[i, j]`` and ``L = ReLU(Σ_k α_k A_k)``, upsampled to the input size
  — which regions of the image the class evidence in that layer comes from.

And what each block of the book's network passes on (:func:`block_outputs`):
its feature maps, from strokes at 14x14 to 7x7 features the last layer
weighs.

``tests/test_explain_deploy.py`` checks both against closed forms (a linear
model's saliency is its weight; for convolution → global average pooling →
linear, Grad-CAM equals CAM, ``Σ_k w_ck A_k / (h w)``) and against autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mnist_cnn import models

__all__ = ["saliency", "GradCAM", "grad_cam", "block_outputs"]


def _targets(
    logits: torch.Tensor, target: int | torch.Tensor | None
) -> torch.Tensor:
    n = logits.shape[0]
    if target is None:
        return logits.argmax(dim=1)  # (N,) the predicted class
    t = torch.as_tensor(target, device=logits.device).long().reshape(-1)
    if t.numel() == 1:
        t = t.expand(n)
    if t.shape != (n,) or int(t.min()) < 0 or int(t.max()) >= logits.shape[1]:
        raise ValueError(
            f"target: expected a class in 0..{logits.shape[1] - 1} or one "
            f"per image ({n}), got {target!r}"
        )
    return t


def saliency(
    model: nn.Module, x: torch.Tensor, target: int | torch.Tensor | None = None
) -> torch.Tensor:
    """``|∂ z_c / ∂ x|`` for each image, maximum over channels: ``(N, C, H,
    W)`` -> ``(N, H, W)``.

    ``target``: the class ``c`` (one for all, or one per image); default the
    predicted class. The model is used in eval mode and its parameters get no
    gradient.
    """
    if x.ndim != 4:
        raise ValueError(
            f"x: expected a batch (N, C, H, W), got shape {tuple(x.shape)}"
        )
    x = x.detach().clone().requires_grad_(True)  # (N, C, H, W)
    with models.eval_mode(model):
        logits = model(x)  # (N, classes)
    t = _targets(logits, target)
    # (N, C, H, W)
    (grad,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), x)
    return grad.abs().amax(dim=1)  # (N, H, W)


@dataclass
class GradCAM:
    """Grad-CAM of one layer for a batch: ``heatmap`` ``(N, H, W)`` in [0, 1]
    at input size, ``cam`` ``(N, h, w)`` at the layer's size (before
    normalising), ``weights`` ``α`` ``(N, K)``, and the class ``target``
    ``(N,)`` explained."""

    heatmap: torch.Tensor
    cam: torch.Tensor
    weights: torch.Tensor
    target: torch.Tensor


def grad_cam(
    model: nn.Module,
    x: torch.Tensor,
    layer: nn.Module,
    target: int | torch.Tensor | None = None,
) -> GradCAM:
    """Grad-CAM of ``layer`` (a module whose output is ``(N, K, h, w)`` feature
    maps) for images ``x``."""
    if x.ndim != 4:
        raise ValueError(
            f"x: expected a batch (N, C, H, W), got shape {tuple(x.shape)}"
        )
    if not any(m is layer for m in model.modules()):
        raise ValueError(
            "layer: not a module of this model; pass e.g. model.block3"
        )
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_hook(
        lambda _m, _i, out: captured.append(out)
    )
    try:
        with models.eval_mode(model), torch.enable_grad():
            logits = model(x.detach())  # (N, classes)
    finally:
        handle.remove()
    if len(captured) != 1 or captured[0].ndim != 4:
        raise ValueError(
            "layer: expected it to run once and output feature maps (N, K, "
            "h, w)"
        )
    activations = captured[0]  # (N, K, h, w)
    t = _targets(logits, target)
    # (N, K, h, w)
    (grads,) = torch.autograd.grad(
        logits.gather(1, t[:, None]).sum(), activations
    )
    # (N, K): α_k, the average gradient of each map
    weights = grads.mean(dim=(2, 3))
    # (N, h, w)
    cam = F.relu((weights[:, :, None, None] * activations).sum(dim=1)).detach()
    # (N, H, W)
    up = F.interpolate(
        cam[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False
    )[:, 0]
    peak = up.flatten(1).amax(dim=1).clamp_min(1e-12)[:, None, None]
    return GradCAM(
        heatmap=up / peak, cam=cam, weights=weights.detach(), target=t
    )


def block_outputs(
    model: nn.Module,  # a BookCNN
    x: torch.Tensor,  # (N, 1, 28, 28), normalised
) -> dict[str, torch.Tensor]:
    """The feature maps each block of a BookCNN passes on, in eval mode:
    ``{"block1": (N, c1, 14, 14), "block2": (N, c2, 7, 7), "block3": (N,
    c3, 7, 7)}`` (after its ReLU); the head turns the last into logits."""
    out = {}
    with models.eval_mode(model), torch.no_grad():
        for name in ("block1", "block2", "block3"):
            x = getattr(model, name)(x)
            out[name] = x
    return out

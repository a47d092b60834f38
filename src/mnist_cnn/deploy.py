"""Take a trained network out of Python's training loop (chapter "Applications
and outlook").

- :func:`export_program`: the current route, ``torch.export``: the model
  captured as an exported program with a dynamic batch dimension, saved as a
  ``.pt2`` file and loaded with ``torch.export.load`` without this package.
- :func:`export_torchscript`: a traced TorchScript file, loadable with
  ``torch.jit.load`` (also from C++/LibTorch). TorchScript is deprecated:
  in this PyTorch ``torch.jit.trace`` and ``torch.jit.load`` warn
  (``FutureWarning``) and point to ``torch.export``; these functions silence
  that warning, and the chapter says so.
- :func:`export_onnx`: an ONNX file (PyTorch's ``torch.export``-based exporter, any batch size),
  run by ONNX Runtime (:func:`onnx_logits`) or any other ONNX engine.
- :func:`page_weights`: the tensors of a :class:`~mnist_cnn.models.BookCNN`
  as JSON, for the HTML book's draw-a-digit (``assets/draw.js`` runs the
  forward pass in the page); :func:`model_from_page_weights` reads them back.

Both take the model as it is used for inference: eval mode, inputs already
normalised, ``(N, 1, 28, 28)`` float32 -> ``(N, 10)`` logits.
``tests/test_explain_deploy.py`` checks that every exported file gives
PyTorch's logits (to float32 rounding) for batch sizes it was not traced with.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mnist_cnn.atomic import write_atomically

__all__ = [
    "export_program",
    "program_logits",
    "export_torchscript",
    "load_torchscript",
    "torchscript_logits",
    "export_onnx",
    "onnx_logits",
    "PAGE_MIME",
    "page_weights",
    "model_from_page_weights",
]


def _example(example: torch.Tensor | None) -> torch.Tensor:
    x = (
        torch.zeros(2, 1, 28, 28)
        if example is None
        else example.detach().float()
    )
    if x.ndim != 4:
        raise ValueError(
            "example: expected a batch (N, C, H, W), got shape "
            f"{tuple(x.shape)}"
        )
    return x.contiguous()


def _write(path: str | os.PathLike[str], payload: bytes) -> Path:
    return write_atomically(Path(path), lambda f: f.write(payload))


@contextlib.contextmanager
def _quiet_jit() -> Iterator[None]:
    """torch.jit warns on every call that it is in maintenance mode; its file
    format stays readable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def export_program(
    model: nn.Module,
    path: str | os.PathLike[str],
    example: torch.Tensor | None = None,
) -> Path:
    """Capture ``model`` (eval mode, on the CPU) with ``torch.export`` for any
    batch size and save the program to ``path`` (a ``.pt2`` file)."""
    model = copy.deepcopy(model).cpu().eval()
    x = _example(example)
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(model, (x,), dynamic_shapes=({0: batch},))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return _write(path, buffer.getvalue())


def program_logits(
    path: str | os.PathLike[str], x: torch.Tensor
) -> torch.Tensor:
    """Logits ``(N, 10)`` of the exported program at ``path`` for normalised
    images ``x`` ``(N, 1, 28, 28)``."""
    module = torch.export.load(str(path)).module()
    with torch.inference_mode():
        return module(x.float())


def export_torchscript(
    model: nn.Module,
    path: str | os.PathLike[str],
    example: torch.Tensor | None = None,
) -> Path:
    """Trace ``model`` (in eval mode, on the CPU) with ``example`` ``(N, 1, 28,
    28)`` and save it to ``path``."""
    # the caller's model stays where and as it is
    model = copy.deepcopy(model).cpu().eval()
    x = _example(example)
    with _quiet_jit():
        traced = torch.jit.trace(model, x)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)
    return _write(path, buffer.getvalue())


def load_torchscript(path: str | os.PathLike[str]) -> torch.jit.ScriptModule:
    """The TorchScript module saved at ``path``, on the CPU."""
    with _quiet_jit():
        return torch.jit.load(str(path), map_location="cpu")


def torchscript_logits(
    path: str | os.PathLike[str], x: torch.Tensor
) -> torch.Tensor:
    """Logits ``(N, 10)`` of the TorchScript file at ``path`` for normalised
    images ``x`` ``(N, 1, 28, 28)``."""
    loaded = load_torchscript(path)
    with torch.inference_mode():
        return loaded(x.float())


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike[str],
    example: torch.Tensor | None = None,
) -> Path:
    """Export ``model`` to ONNX at ``path`` with a dynamic batch dimension
    (input "images", output "logits")."""
    model = copy.deepcopy(model).cpu().eval()
    x = _example(example)
    batch = torch.export.Dim("batch", min=1)
    # the exporter narrates each pass
    with (
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            (x,),
            dynamo=True,
            input_names=["images"],
            output_names=["logits"],
            dynamic_shapes=({0: batch},),
            verbose=False,
        )
    assert program is not None
    proto = program.model_proto
    # debugging metadata: module names and the Python stack of the caller,
    for node in proto.graph.node:
        # which differs from run to run (a notebook cell's temporary file name)
        del node.metadata_props[:]
        node.doc_string = ""
    return _write(path, proto.SerializeToString())


def onnx_logits(path: str | os.PathLike[str], x: torch.Tensor) -> torch.Tensor:
    """Logits ``(N, 10)`` of the ONNX file at ``path``, computed by ONNX
    Runtime on the CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )
    (logits,) = session.run(
        ["logits"],
        {"images": np.ascontiguousarray(x.detach().cpu().float().numpy())},
    )
    return torch.from_numpy(logits)


# the notebook output that carries page_weights' JSON to the book's build
PAGE_MIME = "application/vnd.mnist-cnn.page-weights+json"


def page_weights(
    model: nn.Module,
    mean: float,
    std: float,
    images: torch.Tensor,  # (N, 28, 28) uint8: the page's sample digits
    labels: torch.Tensor,  # (N,) their digits
    about: dict[str, object],
) -> dict[str, object]:
    """A :class:`~mnist_cnn.models.BookCNN` for the HTML page: every tensor
    of its ``state_dict`` (batch norm's counter left out), float32
    little-endian, in one base64 string, each named with its shape and
    offset; the normalisation, batch norm's epsilon, ``images`` and their
    ``labels`` (offered in the page, and a check: the logits the model gives
    them are stored too), and
    ``about`` (which run the weights come from, said on the page)."""
    from mnist_cnn import training

    tensors, parts, offset = [], [], 0
    for name, value in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        flat = value.detach().cpu().float().contiguous().flatten()
        tensors.append(
            {"name": name, "shape": list(value.shape), "offset": offset}
        )
        parts.append(flat.numpy().astype("<f4").tobytes())
        offset += flat.numel()
    logits = training.predict_logits(model, images, mean, std)  # (N, 10)
    return {
        "model": type(model).__name__,
        "mean": mean,
        "std": std,
        "eps": model.block1.bn.eps,
        "tensors": tensors,
        "data": base64.b64encode(b"".join(parts)).decode("ascii"),
        "images": base64.b64encode(images.numpy().tobytes()).decode("ascii"),
        "labels": [int(v) for v in labels],
        "logits": logits.tolist(),
        "about": about,
    }


def model_from_page_weights(
    payload: dict[str, object],
) -> tuple[nn.Module, float, float]:
    """The :class:`~mnist_cnn.models.BookCNN` that :func:`page_weights`
    wrote, in eval mode, with its mean and std."""
    from mnist_cnn import models

    blob = np.frombuffer(base64.b64decode(payload["data"]), "<f4")
    state = {}
    for t in payload["tensors"]:
        n = int(np.prod(t["shape"]))
        chunk = blob[t["offset"] : t["offset"] + n].reshape(t["shape"])
        state[t["name"]] = torch.from_numpy(chunk.copy())
    convs = [state.get(f"block{i}.conv.weight") for i in (1, 2, 3)]
    # c1, c2, c3 (where one is missing, the check below names it)
    widths = (
        [16, 32, 32]
        if any(w is None for w in convs)
        else [w.shape[0] for w in convs]
    )
    model = models.BookCNN(*widths)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a tensor of the wrong shape
        raise ValueError(f"page weights: {exc}") from None
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if unexpected or missing:
        raise ValueError(
            f"page weights: tensors {unexpected} not in BookCNN, "
            f"{missing} missing; write them with page_weights(BookCNN)."
        )
    return model.eval(), float(payload["mean"]), float(payload["std"])

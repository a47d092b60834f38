"""Your own digit, prepared the way MNIST's digits were.

Explained in the chapter "Evaluation" and used by ``python -m mnist_cnn
predict``. MNIST's authors size-normalised each digit to fit a 20x20 box
(keeping its aspect ratio, with anti-aliasing) and centred it by its centre of
mass in a 28x28 image, white ink on black. A photo or a drawing of a digit has
to go through the same steps, or the network sees something unlike anything it
was trained on.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

__all__ = [
    "ImageInputError",
    "load_grey",
    "grey_from_bytes",
    "to_mnist",
    "load_digit",
]


class ImageInputError(ValueError):
    """An input image that cannot be turned into a digit (missing, unreadable, blank)."""


def load_grey(path: str | os.PathLike[str]) -> np.ndarray:
    """The image at ``path`` as grey levels in [0, 1], ``(H, W)`` float32;
    transparency becomes white."""
    path = Path(path)
    if not path.is_file():
        raise ImageInputError(
            f"{path}: no such file. Give the path of a PNG or JPEG image of "
            "one digit."
        )
    return _grey(path, str(path))


def grey_from_bytes(content: bytes, name: str = "image") -> np.ndarray:
    """:func:`load_grey` for the bytes of an image file (an upload); ``name``
    appears in messages."""
    return _grey(io.BytesIO(content), name)


def _grey(source: Path | io.BytesIO, name: str) -> np.ndarray:
    try:
        with Image.open(source) as img:
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or (
                img.mode == "P" and "transparency" in img.info
            ):
                rgba = img.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, rgba)
            grey = img.convert("L")
    # a few kB of PNG that would decode to gigabytes
    except Image.DecompressionBombError as exc:
        raise ImageInputError(
            f"{name}: image too large to open safely ({exc}). Scale it down "
            "to a few "
            "megapixels; a digit needs far fewer."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageInputError(
            f"{name}: not an image that can be read ({type(exc).__name__}). "
            "Give a PNG or JPEG file."
        ) from None
    return np.asarray(grey, dtype=np.float32) / 255.0


def to_mnist(grey: np.ndarray, ink_threshold: float = 0.25) -> torch.Tensor:
    """A grey image ``(H, W)`` in [0, 1] -> a ``(28, 28)`` uint8 MNIST digit.

    1. Make the ink bright on a dark background: if the border is mostly
       light, invert; then stretch the grey levels so that the background
       (the border's median) is 0 and the brightest ink 1, as in MNIST (a
       photo's paper is grey, not black).
    2. Crop to the bounding box of the ink (pixels above ``ink_threshold``).
    3. Resize so that the longer side is 20 pixels, keeping the aspect ratio
       (anti-aliased).
    4. Place it in a 28x28 image so that its centre of mass is at pixel
       (14, 14), as in MNIST.
    """
    _check_shape(grey)
    _check_levels(grey)
    ink = _bright_ink(grey)  # (H, W) in [0, 1], background 0
    crop = _crop_to_ink(ink, ink_threshold)  # (h, w)
    digit = _fit_20x20(crop)  # (new_h, new_w) in 0..255
    canvas = _centre_of_mass_at_14_14(digit)  # (28, 28) float32
    return torch.from_numpy(np.clip(canvas, 0, 255).round().astype(np.uint8))


def _check_shape(grey: np.ndarray) -> None:
    """Refuse anything but a non-empty 2-D NumPy array, naming what came."""
    if (
        not isinstance(grey, np.ndarray)
        or grey.ndim != 2
        or min(grey.shape) < 1
    ):
        shape = getattr(grey, "shape", type(grey).__name__)
        raise ImageInputError(
            "image: expected a 2-D grey image (H, W) as a NumPy array, got "
            f"{shape}. "
            "Use load_grey(path) to read a file."
        )


def _check_levels(grey: np.ndarray) -> None:
    """Refuse grey levels that are not finite floats in [0, 1], naming the
    range that came."""
    if (
        not np.issubdtype(grey.dtype, np.floating)
        or not np.isfinite(grey).all()
        or grey.min() < 0
        or grey.max() > 1
    ):
        finite = (
            grey[np.isfinite(grey)]
            if np.issubdtype(grey.dtype, np.number)
            else np.zeros(0)
        )
        seen = (
            f"[{finite.min():g}, {finite.max():g}]"
            if finite.size
            else "no finite values"
        )
        extra = (
            "" if finite.size == grey.size else " and NaN or infinite values"
        )
        raise ImageInputError(
            "image: expected grey levels as floats in [0, 1], got "
            f"{grey.dtype} in {seen}{extra}. "
            "Divide 8-bit images by 255."
        )


def _border(image: np.ndarray) -> np.ndarray:
    """The pixels of the four edges of ``image`` ``(H, W)``, as one vector
    ``(2 * (H + W),)`` (corners twice)."""
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


def _bright_ink(grey: np.ndarray) -> np.ndarray:
    """Step 1: ``grey`` ``(H, W)`` with the ink bright (inverted if the
    border is mostly light), stretched so that the background is 0 and the
    brightest ink 1."""
    # (H, W), ink bright
    ink = 1.0 - grey if float(np.median(_border(grey))) > 0.5 else grey
    background = float(np.median(_border(ink)))
    # background 0, ink up to 1
    return np.clip(
        (ink - background) / max(float(ink.max()) - background, 1e-6), 0.0, 1.0
    )


def _crop_to_ink(ink: np.ndarray, ink_threshold: float) -> np.ndarray:
    """Step 2: ``ink`` ``(H, W)`` cropped to the bounding box ``(h, w)`` of
    its pixels above ``ink_threshold``; no such pixel is an error."""
    rows, cols = np.nonzero(ink > ink_threshold)
    if rows.size == 0:
        raise ImageInputError(
            "image: no digit found (the image is blank or has no contrast)."
        )
    # (h, w)
    return ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


def _fit_20x20(crop: np.ndarray) -> np.ndarray:
    """Step 3: ``crop`` ``(h, w)`` in [0, 1] resized (Lanczos, anti-aliased)
    so that its longer side is 20 pixels, keeping the aspect ratio; float32
    ``(new_h, new_w)`` in 0..255."""
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = Image.fromarray(
        np.clip(crop * 255, 0, 255).astype(np.uint8)
    ).resize((new_w, new_h), Image.LANCZOS)
    return np.asarray(small, dtype=np.float32)  # (new_h, new_w) in 0..255


def _centre_of_mass_at_14_14(digit: np.ndarray) -> np.ndarray:
    """Step 4: ``digit`` ``(new_h, new_w)`` placed in a ``(28, 28)`` float32
    image and shifted so that its centre of mass is at pixel (14, 14), as far
    as the ink can move without leaving the image."""
    new_h, new_w = digit.shape
    canvas = np.zeros((28, 28), dtype=np.float32)
    top, left = (28 - new_h) // 2, (28 - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = digit
    total = canvas.sum()
    yy, xx = np.mgrid[0:28, 0:28]
    com_y, com_x = (
        float((yy * canvas).sum() / total),
        float((xx * canvas).sum() / total),
    )
    dy = int(np.clip(round(14.0 - com_y), -top, 28 - new_h - top))
    dx = int(np.clip(round(14.0 - com_x), -left, 28 - new_w - left))
    # the clip keeps the ink from wrapping around
    return np.roll(canvas, (dy, dx), axis=(0, 1))  # (28, 28)


def load_digit(path: str | os.PathLike[str]) -> torch.Tensor:
    """:func:`load_grey` then :func:`to_mnist`: any PNG/JPEG of one digit ->
    ``(28, 28)`` uint8."""
    return to_mnist(load_grey(path))

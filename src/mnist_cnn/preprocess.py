"""Your own digit, prepared the way MNIST's digits were.

Explained in the chapters "Evaluation" (MNIST's steps, :func:`to_mnist`) and
"Applications" (photos as people take them, :func:`read_digits`); used by
``python -m mnist_cnn predict``. MNIST's authors size-normalised each digit to
fit a 20x20 box (keeping its aspect ratio, with anti-aliasing) and centred it
by its centre of mass in a 28x28 image, white ink on black. A photo or a
drawing of a digit has to go through the same steps, or the network sees
something unlike anything it was trained on.

A photo needs more than that. :func:`read_digits` does, in this order, and
writes every guess it makes into ``Reading.notes``:

1. Upright: a phone stores the sensor's pixels and a tag that says how to
   turn them (the EXIF orientation); the tag is applied.
2. Transparency: transparent pixels become background whatever colour they
   hold: white under dark ink, black under light ink (and the paper's grey
   around an opaque photo with transparent margins).
3. Ink: bright ink on black (inverted when the border is mostly light, as
   :func:`to_mnist` does). Where the paper is lit unevenly (a gradient, a
   vignette, a shadow), its brightness is estimated around every pixel and
   divided out, so a dark patch of paper is not taken for ink.
4. Digits: the blobs of ink, specks ignored, grouped into digits by the
   columns they cover. Several digits are read LEFT TO RIGHT, as one row
   (digits written one above the other are read as one).
5. Strokes: a digit drawn with a pen much thinner than MNIST's (about 2.5
   pixels in the 20x20 box) is thickened to MNIST's width.
6. MNIST's steps: fit the 20x20 box, centre the centre of mass in 28x28.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ImageInputError",
    "Reading",
    "read_digits",
    "read_digits_from_bytes",
    "load_digit",
    "load_grey",
    "grey_from_bytes",
    "to_mnist",
    "stroke_width",
    "MNIST_STROKE",
]

WORK_SIDE = 1024  # longer side a larger image is box-averaged down to
LIGHT_SIDE = 64  # the paper's brightness is estimated at this size
UNEVEN = 0.06  # paper lighter in one place than another by more: flattened
DARKEST_LIGHT = 0.35  # no shadow leaves less light than this: darker is ink
MIN_CONTRAST = 0.12  # ink fainter than this against the paper: no digit
BLOB_SIDE = 192  # blobs are found at this size (max-pooled: thin lines stay)
SPECK = 0.05  # a blob under 5 % of the largest blob's area is a speck
# stroke_width of MNIST's training digits, in pixels of the 20x20 box:
MNIST_STROKE = 2.5  # the median ...
THIN_STROKE = 1.4  # ... and about the 1st percentile: thinner is thickened
STROKE_SIDE = 80  # thin strokes are widened at 4x the 20x20 box
ORIENTATION = {  # EXIF orientation -> what turning it upright took
    2: "mirrored left to right",
    3: "rotated 180°",
    4: "mirrored top to bottom",
    5: "mirrored along its diagonal",
    6: "rotated 90° clockwise",
    7: "mirrored along its anti-diagonal",
    8: "rotated 90° anticlockwise",
}


class ImageInputError(ValueError):
    """An input image that cannot be turned into a digit (missing, unreadable,
    blank)."""


@dataclass
class Reading:
    """What :func:`read_digits` found in one image."""

    digits: torch.Tensor  # (K, 1, 28, 28) uint8, left to right
    # (left, top, right, bottom) of each digit, pixels of the upright image
    boxes: list[tuple[int, int, int, int]]
    notes: list[str]  # every guess made, in words


# --- reading the file ------------------------------------------------------


def _checked_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, if it names a file with something in it."""
    path = Path(path)
    if path.is_dir():
        raise ImageInputError(
            f"{path}: is a folder, not an image. Give the path of an image "
            "file in it."
        )
    if not path.is_file():
        raise ImageInputError(
            f"{path}: no such file. Give the path of an image of a digit "
            "(PNG, JPEG, GIF, BMP, TIFF or WebP)."
        )
    if path.stat().st_size == 0:
        raise ImageInputError(_EMPTY.format(name=path))
    return path


_EMPTY = "{name}: not an image that can be read: the file is empty (0 bytes)."


def _bomb_message(name: str, exc: Exception) -> str:
    """The refusal of an image with more pixels than Pillow opens safely."""
    found = re.search(r"\((\d+) pixels\)", str(exc))  # Pillow's message
    pixels = f"{int(found.group(1)):,} pixels" if found else "more pixels"
    return (
        f"{name}: image too large to open safely: {pixels}, more than the "
        f"{Image.MAX_IMAGE_PIXELS:,} Pillow opens (a small file that decodes "
        "to a huge image is a decompression bomb). Scale it down to a few "
        "megapixels; a digit needs far fewer."
    )


def _open(source: Path | io.BytesIO, name: str) -> Image.Image:
    """The decoded image in ``source``, or one clear ImageInputError."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its limit: refuse that too
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                img.load()
                return img.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageInputError(_bomb_message(name, e)) from None
    except UnidentifiedImageError:
        raise ImageInputError(
            f"{name}: not an image that can be read: Pillow recognises no "
            "image format in it. Give an image file: PNG, JPEG, GIF, BMP, "
            "TIFF or WebP."
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageInputError(
            f"{name}: not an image that can be read: truncated or damaged "
            f"({exc}). Save it again, or give another image file."
        ) from None


def _upright(img: Image.Image, notes: list[str]) -> Image.Image:
    """Step 1: ``img`` turned as its EXIF orientation tag says it is seen."""
    orientation = img.getexif().get(0x0112, 1)  # EXIF tag 274, Orientation
    if orientation in ORIENTATION:
        notes.append(
            f"{ORIENTATION[orientation]} by its EXIF orientation "
            f"({orientation})"
        )
    return ImageOps.exif_transpose(img)


def _is_transparent(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        "transparency" in img.info
    )


def _on_background(img: Image.Image, notes: list[str]) -> Image.Image:
    """Step 2: a transparent image as grey ``L``, composited on the
    background its ink needs: the opaque pixels are the ink (the paper, if
    they are most of the image), transparent ones the background."""
    rgba = np.asarray(img.convert("RGBA"), np.float32) / 255  # (H, W, 4)
    alpha = rgba[..., 3]  # (H, W)
    grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    opaque = alpha > 0.5  # (H, W)
    if alpha.min() == 1.0:
        return img.convert("L")
    if opaque.mean() > 0.5:  # transparent margins around opaque paper
        background, colour = float(np.median(grey[opaque])), "the paper"
    else:  # transparent paper: light ink goes on black, dark ink on white
        light_ink = float((grey * alpha).sum() / max(alpha.sum(), 1)) > 0.5
        background = 0.0 if light_ink else 1.0
        colour = "black" if light_ink else "white"
    notes.append(f"composited transparent image on {colour}")
    out = grey * alpha + background * (1 - alpha)  # (H, W) in [0, 1]
    return Image.fromarray(np.round(out * 255).astype(np.uint8))


def _on_white(img: Image.Image) -> Image.Image:
    """:func:`to_mnist`'s reading before the fixes: transparency on white."""
    if img.mode in ("RGBA", "LA", "PA") or (
        img.mode == "P" and "transparency" in img.info
    ):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return img


def _grey_levels(img: Image.Image) -> np.ndarray:
    """``img`` as grey levels in [0, 1], ``(H, W)`` float32 (16-bit images
    by their own range)."""
    if img.mode == "I" or img.mode.startswith("I;16"):
        levels = np.asarray(img, np.float32)  # (H, W) in 0..65535
        return np.clip(levels / 65535.0, 0.0, 1.0)
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def _decode(
    source: Path | io.BytesIO, name: str, fixes: bool, notes: list[str]
) -> np.ndarray:
    """The image in ``source`` as grey ``(H, W)`` in [0, 1]: upright and
    on the right background (``fixes``), or as :func:`to_mnist` had it."""
    img = _open(source, name)
    if not fixes:
        return _grey_levels(_on_white(img))
    img = _upright(img, notes)
    if _is_transparent(img):
        img = _on_background(img, notes)
    return _grey_levels(img)


def load_grey(path: str | os.PathLike[str]) -> np.ndarray:
    """The image at ``path`` as grey levels in [0, 1], ``(H, W)`` float32:
    turned upright by its EXIF orientation, transparency on the background
    its ink needs."""
    path = _checked_path(path)
    return _decode(path, str(path), True, [])


def grey_from_bytes(content: bytes, name: str = "image") -> np.ndarray:
    """:func:`load_grey` for the bytes of an image file (an upload); ``name``
    appears in messages."""
    if not content:
        raise ImageInputError(_EMPTY.format(name=name))
    return _decode(io.BytesIO(content), name, True, [])


# --- ink on black ----------------------------------------------------------


def _reduced(grey: np.ndarray) -> tuple[np.ndarray, int]:
    """``grey`` ``(H, W)`` box-averaged by the smallest whole factor that
    brings its longer side to ``WORK_SIDE`` or below, and that factor."""
    k = -(-max(grey.shape) // WORK_SIDE)  # ceiling division
    if k == 1:
        return grey, 1
    h, w = grey.shape[0] // k * k, grey.shape[1] // k * k
    blocks = grey[:h, :w].reshape(h // k, k, w // k, k)
    return blocks.mean(axis=(1, 3)), k  # (H // k, W // k)


def _paper(grey: np.ndarray) -> np.ndarray:
    """The light paper's grey level around every pixel of ``grey``
    ``(H, W)``: a morphological closing (the lightest level within a window
    a third of the image wide, then the darkest of those), which fills in
    every dark stroke narrower than the window and keeps the edge of a wider
    shadow; at ``LIGHT_SIDE`` pixels, interpolated back. No shadow is darker
    than ``DARKEST_LIGHT`` of the lightest paper: darker is a stroke wider
    than the window, and the paper under it is taken to be the lightest."""
    h, w = grey.shape
    s = min(1.0, LIGHT_SIDE / max(h, w))
    size = (max(1, round(h * s)), max(1, round(w * s)))
    x = torch.from_numpy(np.ascontiguousarray(grey))[None, None]
    small = F.interpolate(x, size=size, mode="area")  # (1, 1, h', w')
    k = max(3, max(size) // 3 | 1)  # odd
    r = k // 2  # beyond the border, the paper goes on as it ends:
    padded = F.pad(small, (r, r, r, r), mode="replicate")
    lightest = F.max_pool2d(padded, k, stride=1, padding=r)
    level = -F.max_pool2d(-lightest, k, stride=1, padding=r)
    level = level[..., r:-r, r:-r]  # (1, 1, h', w')
    lightest_paper = float(level.max())
    ink = level < DARKEST_LIGHT * lightest_paper  # (1, 1, h', w')
    level = torch.where(ink, lightest_paper, level)
    paper = F.interpolate(level, size=(h, w), mode="bilinear")
    return paper[0, 0].numpy()  # (H, W)


def _ink(grey: np.ndarray, name: str, notes: list[str]) -> np.ndarray:
    """Step 3: ``grey`` ``(H, W)`` -> ink ``(H, W)`` in [0, 1], bright on a
    black background: light paper lit unevenly divided by its brightness
    around every pixel; otherwise as :func:`to_mnist` does it."""
    light_paper = float(np.median(_border(grey))) > 0.5
    notes.append(
        "inverted: dark ink on light paper"
        if light_paper
        else "not inverted: light ink on a dark background"
    )
    if light_paper:
        paper = _paper(grey)  # (H, W)
        if float(paper.max() - paper.min()) > UNEVEN:
            notes.append(
                f"flattened uneven lighting (paper from {paper.min():.2f} "
                f"to {paper.max():.2f})"
            )
            # light falls on the paper and the ink alike: divide it out
            ink = np.clip(1.0 - grey / paper, 0.0, 1.0)  # (H, W)
            _check_contrast(float(ink.max()), name)
            return ink / ink.max()
    ink = 1.0 - grey if light_paper else grey  # (H, W), ink bright
    _check_contrast(float(ink.max() - np.median(_border(ink))), name)
    return _bright_ink(grey)


def _check_contrast(contrast: float, name: str) -> None:
    """Refuse an image whose ink is hardly darker (or lighter) than its
    paper: a blank page, or noise."""
    if contrast < MIN_CONTRAST:
        raise ImageInputError(
            f"{name}: no digit found: the image is blank or has no contrast "
            f"(the strongest ink differs from the paper by {contrast:.0%}). "
            "Photograph a digit written in dark ink on light paper."
        )


# --- digits, left to right -------------------------------------------------


class _Blob(NamedTuple):
    """A connected blob of ink, at ``BLOB_SIDE``: its label and its box."""

    label: int
    area: int  # pixels, at BLOB_SIDE
    top: int
    left: int
    bottom: int  # exclusive, like right
    right: int


def _coarse(mask: np.ndarray) -> np.ndarray:
    """``mask`` ``(H, W)`` max-pooled so its longer side is ``BLOB_SIDE``
    (or less, if it was): a 1-pixel line stays a line; ``(h, w)`` bool."""
    h, w = mask.shape
    s = min(1.0, BLOB_SIDE / max(h, w))
    size = (max(1, round(h * s)), max(1, round(w * s)))
    x = torch.from_numpy(np.ascontiguousarray(mask)).float()[None, None]
    return (F.adaptive_max_pool2d(x, size)[0, 0] > 0).numpy()


def _label(mask: np.ndarray) -> np.ndarray:
    """Connected components of ``mask`` ``(h, w)`` (8 neighbours): every ink
    pixel takes the largest index in its blob, background 0; ``(h, w)``."""
    h, w = mask.shape
    ink = mask.ravel()  # (h * w,)
    labels = np.where(ink, np.arange(1, h * w + 1), 0)  # (h * w,)
    while True:
        padded = np.pad(labels.reshape(h, w), 1)  # (h + 2, w + 2)
        grown = labels.reshape(h, w).copy()  # the largest of 3x3 neighbours
        for dy in range(3):
            for dx in range(3):
                np.maximum(grown, padded[dy : dy + h, dx : dx + w], out=grown)
        grown = np.where(ink, grown.ravel(), 0)
        # a pixel's label names a pixel of its blob: take that one's label
        grown = np.where(ink, grown[grown - 1], 0)
        if np.array_equal(grown, labels):
            return labels.reshape(h, w)
        labels = grown


def _blobs(labels: np.ndarray) -> list[_Blob]:
    """Area and bounding box of every blob of ``labels`` ``(h, w)``."""
    ys, xs = np.nonzero(labels)  # (n,) each
    order = np.argsort(labels[ys, xs], kind="stable")
    ys, xs, ids = ys[order], xs[order], labels[ys, xs][order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    counts = np.diff(np.r_[starts, ids.size])
    return [
        _Blob(int(ids[s]), int(n), int(top), int(left), int(bot), int(rt))
        for s, n, top, left, bot, rt in zip(
            starts,
            counts,
            np.minimum.reduceat(ys, starts),
            np.minimum.reduceat(xs, starts),
            np.maximum.reduceat(ys, starts) + 1,
            np.maximum.reduceat(xs, starts) + 1,
        )
    ]


def _group_left_to_right(
    blobs: list[_Blob],
) -> tuple[list[list[_Blob]], int]:
    """Blobs -> digits, left to right, and the number of specks dropped:
    blobs under ``SPECK`` of the largest one's area are specks; blobs that
    share columns belong to one digit (a 7's bar, a broken stroke)."""
    largest = max(b.area for b in blobs)
    kept = sorted(
        (b for b in blobs if b.area >= SPECK * largest), key=lambda b: b.left
    )
    groups: list[list[_Blob]] = []
    for b in kept:
        if groups and b.left < max(g.right for g in groups[-1]):
            groups[-1].append(b)  # shares columns with the digit before
        else:
            groups.append([b])
    digits = _attach_fragments(groups)
    return digits, len(blobs) - sum(len(g) for g in digits)


def _attach_fragments(groups: list[list[_Blob]]) -> list[list[_Blob]]:
    """A group under a third of the row's height is a fragment, not a digit
    (a 5's flag beside its body): it joins the nearest digit if it is closer
    than half that height, and is dropped as a speck if not."""
    height = _span(sum(groups, []))[2] - _span(sum(groups, []))[0]
    digits = [g for g in groups if _span(g)[2] - _span(g)[0] >= height / 3]
    for g in groups:
        if any(g is d for d in digits):
            continue
        _, left, _, right = _span(g)
        gaps = [max(_span(d)[1] - right, left - _span(d)[3]) for d in digits]
        nearest = int(np.argmin(gaps))
        if gaps[nearest] < height / 2:
            digits[nearest] = digits[nearest] + g
    return digits


def _span(group: list[_Blob]) -> tuple[int, int, int, int]:
    """The bounding box (top, left, bottom, right) of a group of blobs."""
    return (
        min(b.top for b in group),
        min(b.left for b in group),
        max(b.bottom for b in group),
        max(b.right for b in group),
    )


def _only(
    labels: np.ndarray, group: list[_Blob], size: tuple[int, int]
) -> np.ndarray:
    """1 on the blobs of ``group`` (and one coarse pixel around them), 0
    elsewhere, at the ink's ``size`` ``(H, W)``."""
    mine = np.isin(labels, [b.label for b in group])  # (h, w)
    mine = torch.from_numpy(mine).float()[None, None]  # (1, 1, h, w)
    mine = F.max_pool2d(mine, 3, 1, 1)  # a pixel's margin
    return F.interpolate(mine, size=size, mode="nearest")[0, 0].numpy()


def _digit_crops(
    ink: np.ndarray, name: str, notes: list[str], threshold: float = 0.25
) -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
    """Step 4: the digits in ``ink`` ``(H, W)``, left to right, each cropped
    to its ink ``(h, w)``, with its box (top, left, bottom, right)."""
    labels = _label(_coarse(ink > threshold))  # (h, w)
    blobs = _blobs(labels)
    if not blobs:
        _ink_box(ink, threshold, name)  # raises: no digit found
    groups, specks = _group_left_to_right(blobs)
    if specks:
        notes.append(f"ignored {specks} speck{'s' * (specks > 1)}")
    if len(groups) > 1:
        notes.append(f"{len(groups)} digits found, read left to right")
    crops = []
    for group in groups:
        part = ink  # (H, W); alone in the image: all of it, as to_mnist
        if len(groups) > 1 or specks:
            part = ink * _only(labels, group, ink.shape)
        top, left, bottom, right = _ink_box(part, threshold, name)
        crops.append(
            (part[top:bottom, left:right], (top, left, bottom, right))
        )
    return crops


# --- stroke width ----------------------------------------------------------


def stroke_width(mask: np.ndarray) -> float:
    """The mean width, in pixels, of the strokes of ``mask`` ``(h, w)``
    bool: twice its area over its outline's length (a stroke w wide and L
    long has area wL and an outline about 2L long). The outline is counted
    in pixel edges, which a slanted line has ``|cos a| + |sin a|`` times as
    many of as its length: 4/pi on average over all angles, divided out."""
    m = np.pad(mask.astype(bool), 1)  # (h + 2, w + 2)
    edges = (m[1:] != m[:-1]).sum() + (m[:, 1:] != m[:, :-1]).sum()
    return float(2 * m.sum() / max(int(edges), 1) * 4 / np.pi)


def _dilate(image: np.ndarray, radius: float) -> np.ndarray:
    """``image`` ``(h, w)`` with each pixel the largest value within
    ``radius`` pixels (a round pen that much wider), padded by the radius
    so that no stroke is cut: ``(h + 2r, w + 2r)``."""
    r = int(np.ceil(radius))
    padded = np.pad(image, 2 * r)  # (h + 4r, w + 4r)
    out = np.zeros((image.shape[0] + 2 * r, image.shape[1] + 2 * r))
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy * dy + dx * dx <= radius * radius:
                shifted = padded[r + dy : r + dy + out.shape[0]]
                out = np.maximum(
                    out, shifted[:, r + dx : r + dx + out.shape[1]]
                )
    return out.astype(np.float32)


def _thicken(crop: np.ndarray) -> tuple[np.ndarray, float]:
    """Step 5: a digit ``crop`` ``(h, w)`` in [0, 1] and how much thicker
    its strokes were made: drawn thinner than ``THIN_STROKE`` pixels at
    MNIST's scale (the longer side 20), it is max-pooled to ``STROKE_SIDE``
    pixels (thin lines stay lines) and widened to ``MNIST_STROKE``."""
    width = stroke_width(crop > 0.5) * 20 / max(crop.shape)
    if width >= THIN_STROKE:
        return crop, 1.0
    s = STROKE_SIDE / max(crop.shape)
    size = (max(1, round(crop.shape[0] * s)), max(1, round(crop.shape[1] * s)))
    x = torch.from_numpy(np.ascontiguousarray(crop))[None, None]
    small = F.adaptive_max_pool2d(x, size)[0, 0].numpy()  # (h', w')
    scale = max(size) / 20  # pixels of ``small`` per pixel of the 20x20 box
    have = stroke_width(small > 0.5)
    radius = max(0.0, (MNIST_STROKE * scale - have) / 2)
    return _dilate(small, radius), MNIST_STROKE / max(width, 1e-3)


# --- MNIST's steps ---------------------------------------------------------


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


def _ink_box(
    ink: np.ndarray, threshold: float, name: str = "image"
) -> tuple[int, int, int, int]:
    """The bounding box (top, left, bottom, right; bottom and right
    exclusive) of the pixels of ``ink`` ``(H, W)`` above ``threshold``; no
    such pixel is an error."""
    rows, cols = np.nonzero(ink > threshold)
    if rows.size == 0:
        raise ImageInputError(
            f"{name}: no digit found (the image is blank or has no contrast)."
        )
    return rows.min(), cols.min(), rows.max() + 1, cols.max() + 1


def _crop_to_ink(ink: np.ndarray, ink_threshold: float) -> np.ndarray:
    """Step 2: ``ink`` ``(H, W)`` cropped to the bounding box ``(h, w)`` of
    its pixels above ``ink_threshold``; no such pixel is an error."""
    top, left, bottom, right = _ink_box(ink, ink_threshold)
    return ink[top:bottom, left:right]  # (h, w)


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


def _as_mnist(crop: np.ndarray) -> torch.Tensor:
    """A digit's ink ``(h, w)`` in [0, 1] -> ``(28, 28)`` uint8 (step 6)."""
    canvas = _centre_of_mass_at_14_14(_fit_20x20(crop))  # (28, 28)
    return torch.from_numpy(np.clip(canvas, 0, 255).round().astype(np.uint8))


# --- the whole reading -----------------------------------------------------


def _read(source: Path | io.BytesIO, name: str, fixes: bool) -> Reading:
    """Steps 1-6 on the image in ``source`` (:func:`read_digits`)."""
    notes: list[str] = []
    grey = _decode(source, name, fixes, notes)  # (H, W) in [0, 1]
    if not fixes:  # to_mnist alone, as before the fixes
        h, w = grey.shape
        return Reading(to_mnist(grey)[None, None], [(0, 0, w, h)], notes)
    grey, k = _reduced(grey)  # (H / k, W / k)
    crops = _digit_crops(_ink(grey, name, notes), name, notes)
    digits, boxes = [], []
    for i, (crop, (top, left, bottom, right)) in enumerate(crops):
        crop, factor = _thicken(crop)  # (h', w')
        if factor > 1:
            which = f"digit {i + 1}: " if len(crops) > 1 else ""
            notes.append(f"{which}thickened thin strokes ×{factor:.2g}")
        digits.append(_as_mnist(crop))
        boxes.append(
            (int(left) * k, int(top) * k, int(right) * k, int(bottom) * k)
        )
    return Reading(torch.stack(digits)[:, None], boxes, notes)


def read_digits(path: str | os.PathLike[str], fixes: bool = True) -> Reading:
    """The digits in the image at ``path``, LEFT TO RIGHT, as MNIST digits
    ``(K, 1, 28, 28)`` uint8, with their boxes and the guesses made (see the
    module's docstring for the steps). ``fixes=False`` reads the image the
    way the book did before these steps (one digit, :func:`to_mnist` alone),
    for comparison."""
    path = _checked_path(path)
    return _read(path, str(path), fixes)


def read_digits_from_bytes(
    content: bytes, name: str = "image", fixes: bool = True
) -> Reading:
    """:func:`read_digits` for the bytes of an image file (an upload);
    ``name`` appears in messages."""
    if not content:
        raise ImageInputError(_EMPTY.format(name=name))
    return _read(io.BytesIO(content), name, fixes)


def load_digit(path: str | os.PathLike[str]) -> torch.Tensor:
    """:func:`read_digits` for an image of one digit -> ``(28, 28)`` uint8;
    an image in which several digits are found is refused."""
    reading = read_digits(path)
    if len(reading.digits) != 1:
        raise ImageInputError(
            f"{path}: {len(reading.digits)} digits found, one expected. "
            "Use read_digits(path) to read them all, left to right."
        )
    return reading.digits[0, 0]

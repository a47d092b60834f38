"""Make the photo set of the chapter "Applications": digits as people
photograph them (run once; the images are committed).

    python tools/make_photos.py             # rewrites book/images/photos/
    python tools/make_photos.py --out DIR   # the same set in DIR (a check)

Six folders of 20 images, each digit twice: once printed in one of ten fonts
(DejaVu and Liberation, found under /usr/share/fonts/truetype, or under the
folder MNIST_CNN_FONT_DIR names; Debian's fonts-dejavu-core,
fonts-dejavu-extra and fonts-liberation, which `make test` installs as root),
once written with the
pen traces of tools/draw_handwriting.py, moved a little (another hand).
Every image is drawn from a seeded generator, so a run rewrites the same
pixels (the same bytes with the same Pillow and libjpeg).

- ``clean/``: on evenly lit paper, the control set;
- ``exif/``: as the sensor stored it, tagged with EXIF orientation 3, 6 or
  8 (turned 180°, 90° one way or the other);
- ``lighting/``: paper lit unevenly (a gradient, a vignette or a soft
  shadow), saved as JPEG at qualities 30 to 70;
- ``thin/``: pen strokes 1 or 2 pixels wide on a 1000 x 1000 canvas (the
  font half in DejaVu Sans ExtraLight, drawn large);
- ``alpha/``: transparent PNGs, black or white ink, the transparent pixels
  holding white or black;
- ``several/``: 2 to 4 digits in a row, gaps between them.

``labels.csv`` lists every file with its trouble, its digits (left to
right) and how it was made. Nothing here comes from MNIST.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
import draw_handwriting as hand  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "images" / "photos"
FONT_DIR = Path("/usr/share/fonts/truetype")
FONTS = [
    "DejaVuSans.ttf",
    "LiberationSerif-Regular.ttf",
    "DejaVuSans-Bold.ttf",
    "LiberationSans-Regular.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansCondensed-Oblique.ttf",
    "LiberationSans-Bold.ttf",
    "DejaVuSansMono.ttf",
    "LiberationSerif-Italic.ttf",
    "DejaVuSerifCondensed-Bold.ttf",
]
THIN_FONT = "DejaVuSans-ExtraLight.ttf"


def package(name: str) -> str:
    """The Debian (and Ubuntu) package that installs the font file ``name``."""
    if name.startswith("Liberation"):
        return "fonts-liberation"
    if "Condensed" in name or "ExtraLight" in name:
        return "fonts-dejavu-extra"
    return "fonts-dejavu-core"


ORIENTATIONS = (6, 8, 3)  # EXIF: turn 90° clockwise, anticlockwise, 180°
# what to do to an upright photo so that the tag turns it back
STORED = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def font_dir() -> Path:
    """Where the fonts are looked for: $MNIST_CNN_FONT_DIR, else FONT_DIR."""
    return Path(os.environ.get("MNIST_CNN_FONT_DIR") or FONT_DIR)


def missing_fonts(folder: Path) -> list[str]:
    """The font files of FONTS and THIN_FONT that ``folder`` lacks."""
    return [n for n in [*FONTS, THIN_FONT] if not any(folder.rglob(n))]


def check_fonts() -> None:
    """Stop before writing anything when a font is missing, naming each
    missing file and the package that installs it."""
    folder = font_dir()
    missing = missing_fonts(folder)
    if missing:
        packages = sorted({package(n) for n in missing})
        raise SystemExit(
            f"make_photos: {len(missing)} font file(s) not found under "
            f"{folder}: {', '.join(missing)}. Install "
            f"{' '.join(packages)} (sudo apt install {' '.join(packages)}; "
            "`make test` does it as root), or set MNIST_CNN_FONT_DIR to a "
            "folder holding them. Nothing was written."
        )


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """The TrueType font ``name`` (a file under :func:`font_dir`) at
    ``size`` pixels a line."""
    return ImageFont.truetype(str(sorted(font_dir().rglob(name))[0]), size)


def printed(digit: int, name: str, height: int, size: int) -> np.ndarray:
    """``digit`` printed in font ``name``, ``height`` pixels tall, centred in
    a ``(size, size)`` canvas: ink ``(size, size)`` in [0, 1]."""
    img = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(img)
    face = font(name, int(height / 0.73))  # digits are ~0.73 of a line
    left, top, right, bottom = pen.textbbox((0, 0), str(digit), font=face)
    scale = height / (bottom - top)
    face = font(name, int(height / 0.73 * scale))
    left, top, right, bottom = pen.textbbox((0, 0), str(digit), font=face)
    corner = (size - right - left) / 2, (size - bottom - top) / 2
    pen.text(corner, str(digit), font=face, fill=255)
    return np.asarray(img, np.float32) / 255


def written(
    digit: int,
    rng: np.random.Generator,
    height: int,
    size: int,
    pen_width: float | None = None,
) -> np.ndarray:
    """``digit`` written by hand (draw_handwriting's trace, moved a little),
    about ``height`` pixels tall in a ``(size, size)`` canvas; a round pen
    of varying pressure, or polylines ``pen_width`` pixels wide."""
    img = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(img)
    strokes = hand.jitter(hand.STROKES[digit], rng, amount=3.0)
    scale = height / 80  # the traces span about 80 of the box's 100 units
    corner = (size / 2 - 50 * scale, size / 2 - 50 * scale)
    if pen_width is None:
        width = height * 0.09

        def pressure(k: int, n: int) -> float:
            return width * (0.85 + 0.3 * np.sin(3 * k / n))

        hand.trace(pen, strokes, corner, scale, pressure, lambda: 255)
    else:
        hand.trace_lines(pen, strokes, corner, scale, int(pen_width), 255)
    return np.asarray(img, np.float32) / 255


def digit_ink(
    k: int, digit: int, rng: np.random.Generator, height: int, size: int
) -> tuple[np.ndarray, str]:
    """The ``k``-th image's digit: printed for k < 10 (fonts in turn),
    written for k >= 10; slightly turned. Ink ``(size, size)``, source."""
    if k < 10:
        name = FONTS[(k + digit) % len(FONTS)]
        ink, source = printed(digit, name, height, size), name
    else:
        ink, source = written(digit, rng, height, size), "handwriting"
    turned = Image.fromarray(np.uint8(ink * 255)).rotate(
        rng.uniform(-6, 6), resample=Image.BICUBIC
    )
    return np.asarray(turned, np.float32) / 255, source


def on_paper(
    ink: np.ndarray,
    rng: np.random.Generator,
    light: np.ndarray | float = 1.0,
    noise: float = 2.5,
) -> Image.Image:
    """A grey photo of ``ink`` ``(H, W)`` on paper: reflectance 0.88 for the
    paper and 0.15 for the ink, times the ``light`` falling on it, plus
    sensor noise of ``noise`` grey levels."""
    reflect = 0.88 - 0.73 * ink  # (H, W)
    grey = 255 * reflect * light + rng.normal(0, noise, ink.shape)
    return Image.fromarray(np.clip(grey, 0, 255).round().astype(np.uint8))


def gradient(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Light falling from one side: 1 on one edge, 0.4 to 0.5 on the
    opposite one, in a random direction; ``(H, W)``."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] / max(shape)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.cos(angle) * xx + np.sin(angle) * yy
    t = (t - t.min()) / (t.max() - t.min())
    return 1.0 - rng.uniform(0.5, 0.6) * t


def vignette(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A lens's vignette: 1 near a centre off the middle, falling to about
    0.45 in the corners; ``(H, W)``."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] / max(shape)
    cy, cx = 0.5 + rng.uniform(-0.1, 0.1, 2)
    r2 = (yy - cy) ** 2 + (xx - cx) ** 2
    return 1.0 - 0.55 * np.clip(r2 / 0.5, 0, 1)


def shadow(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A soft shadow (a hand, a phone) over one side of the page and part
    of the digit: the light falls to 0.45-0.6 beyond a straight edge with a
    penumbra a tenth of the image wide; ``(H, W)``."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]] / max(shape)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)
    edge = rng.uniform(0.0, 0.15)  # the shadow covers 35-50 % of the page
    dark = 1 / (1 + np.exp(-(t - edge) / 0.04))  # 0 lit, 1 in shadow
    return 1.0 - rng.uniform(0.4, 0.55) * dark


def save_jpeg(
    img: Image.Image, path: Path, quality: int, **kw: object
) -> None:
    img.save(path, "JPEG", quality=quality, optimize=True, **kw)


# --- the six sets: each maker draws image k and returns its file's details


def make_clean(k: int, digit: int, rng: np.random.Generator, path: Path):
    ink, source = digit_ink(k, digit, rng, 130, 200)
    save_jpeg(on_paper(ink, rng), path.with_suffix(".jpg"), 80)
    return path.with_suffix(".jpg"), source, "even light"


def make_exif(k: int, digit: int, rng: np.random.Generator, path: Path):
    ink, source = digit_ink(k, digit, rng, 150, 220)
    orientation = ORIENTATIONS[k % 3]
    upright = on_paper(ink[:, 20:200], rng)  # (220, 180): portrait
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    out = path.with_suffix(".jpg")
    save_jpeg(upright.transpose(STORED[orientation]), out, 80, exif=exif)
    # what a viewer shows is the upright photo
    shown = ImageOps.exif_transpose(Image.open(out))
    assert shown.size == upright.size, (out, shown.size)
    return out, source, f"EXIF orientation {orientation}"


def make_lighting(k: int, digit: int, rng: np.random.Generator, path: Path):
    ink, source = digit_ink(k, digit, rng, 170, 300)
    kind = ("gradient", "vignette", "shadow")[k % 3]
    light = {"gradient": gradient, "vignette": vignette, "shadow": shadow}
    quality = int(rng.integers(30, 71))
    img = on_paper(ink, rng, light[kind](ink.shape, rng), noise=4.0)
    save_jpeg(img, path.with_suffix(".jpg"), quality)
    return path.with_suffix(".jpg"), source, f"{kind}, JPEG quality {quality}"


def make_thin(k: int, digit: int, rng: np.random.Generator, path: Path):
    height = int(rng.integers(450, 700))
    if k < 10:
        ink, detail = printed(digit, THIN_FONT, height, 1000), "ExtraLight"
        source = THIN_FONT
    else:
        width = 1 + k % 2
        ink = written(digit, rng, height, 1000, pen_width=width)
        source, detail = "handwriting", f"pen {width} px"
    img = on_paper(ink, rng, noise=0.0)  # (1000, 1000), flat: a small PNG
    img.save(path.with_suffix(".png"), optimize=True)
    return path.with_suffix(".png"), source, f"{detail}, {height} px tall"


# (ink, what the transparent pixels hold): a drawing app's export, a
# background removed by an editor (black under it), light ink for dark mode
ALPHA_VARIANTS = [
    ("black", "white"),
    ("black", "black"),
    ("white", "black"),
    ("white", "white"),
]


def make_alpha(k: int, digit: int, rng: np.random.Generator, path: Path):
    ink, source = digit_ink(k, digit, rng, 130, 200)
    ink_name, hidden_name = ALPHA_VARIANTS[k % 4]
    colour = (20, 20, 30) if ink_name == "black" else (250, 250, 250)
    hidden = (255, 255, 255) if hidden_name == "white" else (0, 0, 0)
    a = ink[..., None]  # (H, W, 1): the colour is the ink's where opaque
    rgb = a * np.array(colour) + (1 - a) * np.array(hidden)  # (H, W, 3)
    rgba = np.dstack([rgb, 255 * ink]).round().astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(path.with_suffix(".png"), optimize=True)
    detail = f"{ink_name} ink, transparent pixels {hidden_name}"
    return path.with_suffix(".png"), source, detail


def several_ink(
    digits: str, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """``digits`` in a row, each 120-150 pixels tall, printed and written
    by turns, 15 to 45 pixels of paper between their inks; ``(H, W)``."""
    parts, sources = [], []
    for i, d in enumerate(digits):
        ink, source = digit_ink((k + i) % 20, int(d), rng, 140, 200)
        cols = np.flatnonzero(ink.max(0) > 0.1)
        parts.append(ink[:, cols.min() : cols.max() + 1])
        sources.append(source)
    row = [np.zeros((200, 30))]
    for part in parts:
        row += [part, np.zeros((200, int(rng.integers(15, 46))))]
    return np.hstack(row[:-1] + [np.zeros((200, 30))]), "+".join(sources)


def several_digits() -> list[str]:
    """20 strings of 2 to 4 digits, each digit 0-9 in turn (every digit
    5 to 7 times)."""
    rng = np.random.default_rng(7)
    pool = list(rng.permutation(10)) * 6
    out = []
    for k in range(20):
        n = 2 + k % 3
        out.append("".join(str(pool.pop()) for _ in range(n)))
    return out


def make_several(k: int, digits: str, rng: np.random.Generator, path: Path):
    ink, source = several_ink(digits, k, rng)
    save_jpeg(on_paper(ink, rng), path.with_suffix(".jpg"), 80)
    return path.with_suffix(".jpg"), source, f"{len(digits)} digits"


MAKERS: dict[str, Callable] = {
    "clean": make_clean,
    "exif": make_exif,
    "lighting": make_lighting,
    "thin": make_thin,
    "alpha": make_alpha,
    "several": make_several,
}


def main(out: Path = OUT) -> None:
    check_fonts()  # before anything in ``out`` is removed
    rows = []
    strings = several_digits()
    for t, (trouble, make) in enumerate(MAKERS.items()):
        folder = out / trouble
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for k in range(20):
            rng = np.random.default_rng(1000 * t + k)
            digits = strings[k] if trouble == "several" else str(k % 10)
            first = int(digits) if trouble != "several" else digits
            path, source, detail = make(k, first, rng, folder / f"{k:02d}")
            final = path.with_name(f"{k:02d}-{digits}{path.suffix}")
            path.rename(final)
            rows.append(
                [final.relative_to(out), trouble, digits, source, detail]
            )
    with open(out / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "trouble", "digits", "source", "detail"])
        writer.writerows(rows)
    files = [p for p in out.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"wrote {len(rows)} images to {out} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder")
    main(parser.parse_args().out)

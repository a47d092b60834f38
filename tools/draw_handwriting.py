"""Draw the sample "photos of handwriting" in book/images/handwriting/ (run once; the JPEGs are committed).

Each digit is a pen trace written by hand as a list of points (in a 100 x 100 box), drawn with a
round pen of varying pressure on grey, unevenly lit paper, and saved as a JPEG: the kind of
picture a phone takes of a digit on paper. Nothing here comes from MNIST.

:func:`trace` (a round pen of any width) and :func:`trace_lines` (a thin pen: 1 or 2 pixel
polylines) draw the same traces anywhere on any canvas, and :func:`jitter` moves their points
a little for a second hand; tools/make_photos.py uses them for the photo set of the chapter
"Applications".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [
        [
            (50, 12),
            (34, 18),
            (25, 38),
            (24, 60),
            (32, 80),
            (50, 88),
            (66, 80),
            (74, 58),
            (72, 34),
            (62, 17),
            (48, 13),
        ]
    ],
    1: [[(38, 26), (52, 12), (52, 50), (51, 88)]],
    2: [
        [
            (28, 30),
            (36, 16),
            (52, 11),
            (67, 18),
            (70, 34),
            (60, 52),
            (42, 70),
            (26, 88),
            (50, 86),
            (76, 87),
        ]
    ],
    3: [
        [(28, 20), (44, 11), (62, 14), (68, 28), (58, 44), (44, 48)],
        [(44, 48), (62, 52), (72, 68), (64, 84), (46, 90), (28, 82)],
    ],
    4: [[(60, 88), (60, 50), (60, 12), (26, 62), (78, 62)]],
    5: [
        [
            (70, 13),
            (38, 13),
            (34, 44),
            (52, 40),
            (68, 50),
            (72, 68),
            (62, 85),
            (42, 90),
            (26, 80),
        ]
    ],
    6: [
        [
            (64, 12),
            (44, 26),
            (30, 50),
            (28, 72),
            (40, 88),
            (58, 86),
            (68, 70),
            (60, 54),
            (44, 52),
            (30, 64),
        ]
    ],
    7: [
        [(24, 16), (74, 14), (60, 40), (48, 66), (42, 90)],
        [(38, 52), (66, 50)],
    ],
    8: [
        [
            (62, 22),
            (50, 12),
            (36, 18),
            (36, 34),
            (50, 46),
            (66, 60),
            (66, 80),
            (50, 90),
            (34, 80),
            (36, 62),
            (50, 46),
            (62, 34),
            (62, 22),
        ]
    ],
    9: [
        [
            (66, 30),
            (54, 14),
            (36, 18),
            (32, 36),
            (44, 48),
            (62, 42),
            (66, 30),
            (64, 60),
            (60, 90),
        ]
    ],
}


Strokes = list[list[tuple[float, float]]]


def trace(
    pen: ImageDraw.ImageDraw,
    strokes: Strokes,
    corner: tuple[float, float],
    scale: float,
    width: Callable[[int, int], float],
    fill: Callable[[], int],
) -> None:
    """Draw ``strokes`` (points in a 100 x 100 box) with a round pen: the
    box's top-left corner at ``corner``, ``scale`` pixels a unit;
    ``width(k, n)`` is the pen's diameter at point ``k`` of ``n``, ``fill()``
    its grey."""
    for stroke in strokes:
        pts = smooth(stroke)
        for k, (x, y) in enumerate(pts):
            w = width(k, len(pts))
            cx, cy = corner[0] + x * scale, corner[1] + y * scale
            pen.ellipse(
                [cx - w / 2, cy - w / 2, cx + w / 2, cy + w / 2], fill=fill()
            )


def trace_lines(
    pen: ImageDraw.ImageDraw,
    strokes: Strokes,
    corner: tuple[float, float],
    scale: float,
    width: int,
    fill: int,
) -> None:
    """Draw ``strokes`` as polylines ``width`` pixels wide (a fine pen: a
    round pen of 1 or 2 pixels draws nothing reliable)."""
    for stroke in strokes:
        pts = [
            (corner[0] + x * scale, corner[1] + y * scale)
            for x, y in smooth(stroke)
        ]
        pen.line(pts, fill=fill, width=width, joint="curve")


def jitter(
    strokes: Strokes, rng: np.random.Generator, amount: float = 3.0
) -> Strokes:
    """``strokes`` with every point moved by up to ``amount`` units (of the
    100 x 100 box) in each direction: the same digit by another hand."""
    return [
        [
            (
                x + rng.uniform(-amount, amount),
                y + rng.uniform(-amount, amount),
            )
            for x, y in stroke
        ]
        for stroke in strokes
    ]


def smooth(
    points: list[tuple[float, float]], per_segment: int = 12
) -> list[tuple[float, float]]:
    """Catmull-Rom spline through the points: a pen does not draw corners."""
    p = [points[0], *points, points[-1]]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = (np.array(q) for q in p[i - 1 : i + 3])
        steps = max(
            per_segment, int(2 * np.hypot(*(p2 - p1)))
        )  # dense enough for long segments
        for t in np.linspace(0, 1, steps, endpoint=False):
            out.append(
                tuple(
                    0.5
                    * (
                        (2 * p1)
                        + (-p0 + p2) * t
                        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                        + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
                    )
                )
            )
    out.append(points[-1])
    return out


def draw(digit: int, size: int = 320, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed + digit)
    yy, xx = np.mgrid[0:size, 0:size] / size
    paper = (
        205 + 30 * (0.6 * xx + 0.4 * (1 - yy)) + rng.normal(0, 3, (size, size))
    )  # light from the top right
    img = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8), "L")
    pen = ImageDraw.Draw(img)
    scale, off = size * 0.62 / 100, size * 0.19 + rng.uniform(-10, 10)
    trace(
        pen,
        STROKES[digit],
        (off, off),
        scale,
        # pressure varies along the stroke
        width=lambda k, n: size * 0.028 * (0.85 + 0.3 * math.sin(3 * k / n)),
        fill=lambda: int(45 + rng.integers(0, 20)),
    )
    return img.filter(ImageFilter.GaussianBlur(1.2)).rotate(
        rng.uniform(-6, 6), fillcolor=215, resample=Image.BICUBIC
    )


if __name__ == "__main__":
    out = (
        Path(__file__).resolve().parents[1] / "book" / "images" / "handwriting"
    )
    out.mkdir(parents=True, exist_ok=True)
    for d in range(10):
        draw(d).save(out / f"digit-{d}.jpg", quality=85)
    print(f"wrote 10 images to {out}")

"""Draw the sample "photos of handwriting" in book/images/handwriting/ (run once; the JPEGs are committed).

Each digit is a pen trace written by hand as a list of points (in a 100 x 100 box), drawn with a
round pen of varying pressure on grey, unevenly lit paper, and saved as a JPEG: the kind of
picture a phone takes of a digit on paper. Nothing here comes from MNIST.
"""

from __future__ import annotations

import math
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
    for stroke in STROKES[digit]:
        pts = smooth(stroke)
        for k, (x, y) in enumerate(pts):
            width = (
                size * 0.028 * (0.85 + 0.3 * math.sin(3 * k / len(pts)))
            )  # pressure varies along the stroke
            cx, cy = off + x * scale, off + y * scale
            pen.ellipse(
                [
                    cx - width / 2,
                    cy - width / 2,
                    cx + width / 2,
                    cy + width / 2,
                ],
                fill=int(45 + rng.integers(0, 20)),
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

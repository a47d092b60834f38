"""mnist_cnn.preprocess: real MNIST digits drawn as ordinary images (large, dark on light, in
colour) come back close to the original 28x28 digit; every bad image gives one clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_cnn import data, preprocess


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(
        np.corrcoef(
            a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
        )[0, 1]
    )


@pytest.mark.parametrize(
    "style",
    [
        "dark on light, large RGB",
        "light on dark, small grey",
        "transparent RGBA",
    ],
)
def test_round_trip_recovers_mnist_digits(
    tmp_path: Path, mnist: data.MNIST, style: str
) -> None:
    scores = []
    for i in range(12):
        digit = mnist.test_images[
            i
        ].numpy()  # (28, 28) uint8, white ink on black
        if style.startswith("dark"):
            img = (
                Image.fromarray(255 - digit)
                .resize((280, 280), Image.BICUBIC)
                .convert("RGB")
            )
        elif style.startswith("light"):
            img = Image.fromarray(digit).resize((40, 40), Image.BICUBIC)
        else:
            img = Image.new("RGBA", (28, 28), (0, 0, 0, 0))
            img.putalpha(
                Image.fromarray(digit)
            )  # black ink, alpha = ink: transparent background
        path = tmp_path / f"{i}.png"
        img.save(path)
        scores.append(correlation(preprocess.load_digit(path).numpy(), digit))
    # MNIST digits are already 20x20-boxed and centred, so the round trip should nearly restore them
    assert np.median(scores) > 0.9 and min(scores) > 0.75, scores


def test_output_is_boxed_and_centred() -> None:
    grey = np.ones((100, 60), dtype=np.float32)
    grey[10:90, 5:25] = 0.0  # a dark bar, off-centre, on white
    digit = preprocess.to_mnist(grey).numpy().astype(np.float64)
    rows, cols = np.nonzero(digit > 0)
    assert (
        rows.max() - rows.min() + 1 <= 21 and cols.max() - cols.min() + 1 <= 21
    )  # fits the 20x20 box (+1 anti-aliasing)
    yy, xx = np.mgrid[0:28, 0:28]
    com = ((yy * digit).sum() / digit.sum(), (xx * digit).sum() / digit.sum())
    assert abs(com[0] - 14) <= 0.5 and abs(com[1] - 14) <= 0.5


def test_bad_images(tmp_path: Path) -> None:
    with pytest.raises(preprocess.ImageInputError, match="no such file"):
        preprocess.load_digit(tmp_path / "nope.png")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(
        preprocess.ImageInputError, match="not an image that can be read"
    ):
        preprocess.load_digit(tmp_path / "notes.png")
    Image.new("L", (50, 50), 255).save(tmp_path / "blank.png")
    with pytest.raises(preprocess.ImageInputError, match="no digit found"):
        preprocess.load_digit(tmp_path / "blank.png")
    png = tmp_path / "digit.png"
    Image.new("L", (50, 50), 0).save(png)
    png.write_bytes(png.read_bytes()[:40])  # truncated
    with pytest.raises(
        preprocess.ImageInputError, match="not an image that can be read"
    ):
        preprocess.load_digit(png)

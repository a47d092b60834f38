"""The explorers compute what they show; checked against torch.nn.functional with the kernels
written out here (float32, atol 1e-5), and the upload against the network called directly."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mnist_cnn import data
from mnist_cnn.widgets import ConvExplorer, PoolExplorer

# the textbook kernels, as cross-correlation weights (what F.conv2d computes)
SOBEL_X = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
LAPLACIAN = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])


def digit(mnist: data.MNIST, i: int) -> torch.Tensor:
    return mnist.train_images[i].float().div(255).view(1, 1, 28, 28)


def cells(ex: ConvExplorer) -> torch.Tensor:
    return torch.tensor([c.value for c in ex.cells]).view(3, 3)


def test_conv_explorer_feature_map_follows_the_controls(
    mnist: data.MNIST,
) -> None:
    ex = ConvExplorer(mnist.train_images, mnist.train_labels, draw=False)
    assert ex.kernel.value == "sobel x" and torch.equal(cells(ex), SOBEL_X)
    ref = F.conv2d(digit(mnist, 0), SOBEL_X.view(1, 1, 3, 3), padding=1)[0, 0]
    torch.testing.assert_close(ex.feature_map, ref, atol=1e-5, rtol=0)
    ex.digit.value = 3
    ex.kernel.value = "laplacian"
    assert torch.equal(cells(ex), LAPLACIAN)
    ref = F.conv2d(digit(mnist, 3), LAPLACIAN.view(1, 1, 3, 3), padding=1)[
        0, 0
    ]
    torch.testing.assert_close(ex.feature_map, ref, atol=1e-5, rtol=0)
    ex.cells[4].value = 2.0  # editing a number makes the kernel "custom"
    assert ex.kernel.value == "custom"
    custom = LAPLACIAN.clone()
    custom[1, 1] = 2.0
    ref = F.conv2d(digit(mnist, 3), custom.view(1, 1, 3, 3), padding=1)[0, 0]
    torch.testing.assert_close(ex.feature_map, ref, atol=1e-5, rtol=0)


def test_pool_explorer_follows_the_controls(mnist: data.MNIST) -> None:
    ex = PoolExplorer(mnist.train_images, mnist.train_labels, draw=False)
    torch.testing.assert_close(
        ex.pooled, F.max_pool2d(digit(mnist, 0), 2)[0, 0], atol=0, rtol=0
    )
    ex.mode.value = "average"
    ex.size.value = 3
    ex.stride.value = 1
    assert ex.pooled.shape == (26, 26)
    torch.testing.assert_close(
        ex.pooled, F.avg_pool2d(digit(mnist, 0), 3, 1)[0, 0], atol=1e-6, rtol=0
    )


def test_digit_upload_reads_an_upload_like_the_cli(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    from mnist_cnn import preprocess
    from mnist_cnn.models import BookCNN
    from mnist_cnn.widgets import DigitUpload

    torch.manual_seed(0)
    model = BookCNN().eval()
    upload = DigitUpload(model, 0.1307, 0.3081, draw=True)
    picture = Image.new("L", (90, 120), 230)
    picture.paste(
        40, (40, 20, 52, 100)
    )  # a dark vertical bar on light paper: a "1"
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    picture_bytes = buffer.getvalue()
    picture.save(tmp_path / "one.png")
    upload.show(
        ({"name": "one.png", "content": memoryview(buffer.getvalue())},)
    )
    expected_digit = preprocess.load_digit(
        tmp_path / "one.png"
    )  # the CLI's path
    torch.testing.assert_close(upload.digit, expected_digit)
    x = (expected_digit.float() / 255 - 0.1307) / 0.3081  # (28, 28)
    with torch.no_grad():
        expected = F.softmax(model(x.view(1, 1, 28, 28)), dim=1)[0]
    torch.testing.assert_close(upload.probabilities, expected)
    assert upload.message.value.startswith(
        f"one.png: the network reads a {int(expected.argmax())}"
    )
    assert upload.image.value[:4] == b"\x89PNG"
    # a thin pen: the CLI's reading thickens the strokes, and so does the
    # widget's (to_mnist alone would not)
    thin = Image.new("L", (200, 200), 255)
    thin.paste(0, (98, 30, 100, 170))
    thin.save(tmp_path / "thin.png")
    buffer = io.BytesIO()
    thin.save(buffer, format="PNG")
    upload.show(({"name": "thin.png", "content": buffer.getvalue()},))
    torch.testing.assert_close(
        upload.digit, preprocess.load_digit(tmp_path / "thin.png")
    )
    assert "thickened thin strokes" in upload.message.value
    # two digits: both read, left to right
    two = Image.new("L", (300, 150), 255)
    two.paste(0, (60, 20, 75, 130))
    two.paste(0, (220, 20, 235, 130))
    buffer = io.BytesIO()
    two.save(buffer, format="PNG")
    upload.show(({"name": "two.png", "content": buffer.getvalue()},))
    assert upload.message.value.startswith(
        "two.png: 2 digits, read left to right: "
    )
    upload.show(({"name": "one.png", "content": memoryview(picture_bytes)},))
    # a file that is not an image: one message, the last result kept
    upload.show(({"name": "notes.txt", "content": b"not an image"},))
    assert upload.message.value.startswith(
        "notes.txt: not an image that can be read"
    )
    torch.testing.assert_close(upload.digit, expected_digit)

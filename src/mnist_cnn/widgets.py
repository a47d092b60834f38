"""Interactive explorers for the chapters "Convolution" and "Pooling", and the
digit upload of "Applications and outlook" (ipywidgets).

Each explorer keeps its last result as an attribute (``feature_map``,
``pooled``) so the tests can check it against ``torch.nn.functional``; the
chapters show a static figure beside each explorer for readers of the HTML.
"""

from __future__ import annotations

import io

import ipywidgets as w
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from mnist_cnn import ops, plots, preprocess, training

__all__ = ["ConvExplorer", "PoolExplorer", "DigitUpload"]


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes for an ``Image`` widget (no output capture, so
    nothing leaks into the cell)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def _digit(images: torch.Tensor, index: int) -> torch.Tensor:
    # (1, 1, 28, 28) in [0, 1]
    return (
        images[index].to(torch.float32).div(255).view(1, 1, *images.shape[1:])
    )


def _digit_menu(labels: torch.Tensor, n_digits: int) -> w.Dropdown:
    """A menu of the first ``n_digits`` images, each named by its label."""
    options = [(f"#{i}: a {int(labels[i])}", i) for i in range(n_digits)]
    return w.Dropdown(options=options, value=0, description="digit")


class ConvExplorer:
    """Choose a digit and a 3x3 kernel (or type its nine numbers) and see the
    feature map."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        n_digits: int = 20,
        draw: bool = True,
    ) -> None:
        self.images, self.labels, self.draw = images, labels, draw
        self.digit = _digit_menu(labels, n_digits)
        self.kernel = w.Dropdown(
            options=list(ops.CLASSIC_KERNELS) + ["custom"],
            value="sobel x",
            description="kernel",
        )
        self.cells = [
            w.FloatText(value=0.0, layout=w.Layout(width="70px"))
            for _ in range(9)
        ]
        self.image = w.Image(format="png")
        self.feature_map = torch.empty(0)
        self._filling = False
        self._fill_cells()
        self.digit.observe(lambda _: self.update(), names="value")
        self.kernel.observe(
            lambda _: (self._fill_cells(), self.update()), names="value"
        )
        for cell in self.cells:
            cell.observe(self._cell_edited, names="value")
        grid = w.GridBox(
            self.cells,
            layout=w.Layout(grid_template_columns="repeat(3, 75px)"),
        )
        self.widget = w.VBox(
            [
                w.HBox([self.digit, self.kernel]),
                w.Label("3x3 kernel (edit to make your own):"),
                grid,
                self.image,
            ]
        )
        self.update()

    def weights(self) -> torch.Tensor:
        # (C_out, C_in, 3, 3)
        return torch.tensor(
            [c.value for c in self.cells], dtype=torch.float32
        ).view(1, 1, 3, 3)

    def _fill_cells(self) -> None:
        if self.kernel.value == "custom":
            return
        self._filling = True
        for cell, v in zip(
            self.cells,
            ops.CLASSIC_KERNELS[self.kernel.value].flatten().tolist(),
        ):
            cell.value = round(v, 4)
        self._filling = False

    def _cell_edited(self, _: object) -> None:
        if self._filling:
            return
        if self.kernel.value != "custom":
            self._filling = True
            self.kernel.value = "custom"
            self._filling = False
        self.update()

    def update(self) -> None:
        x = _digit(self.images, self.digit.value)
        # (28, 28)
        self.feature_map = ops.conv2d(x, self.weights(), padding=1)[0, 0]
        if self.draw:
            fig = plots.image_table(
                [[x[0, 0], self.feature_map]],
                col_titles=["digit", f"feature map ({self.kernel.value})"],
                signed=[False, True],
                size=2.6,
            )
            self.image.value = _png(fig)

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = (
            f"ConvExplorer(digit={self.digit.value}, "
            f"kernel={self.kernel.value!r})"
        )
        return bundle


class PoolExplorer:
    """Choose a window size, a stride and max or average pooling and see the
    pooled digit."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        n_digits: int = 20,
        draw: bool = True,
    ) -> None:
        self.images, self.labels, self.draw = images, labels, draw
        self.digit = _digit_menu(labels, n_digits)
        self.size = w.IntSlider(value=2, min=1, max=7, description="window")
        self.stride = w.IntSlider(value=2, min=1, max=7, description="stride")
        self.mode = w.ToggleButtons(
            options=["max", "average"], value="max", description="pooling"
        )
        self.image = w.Image(format="png")
        self.pooled = torch.empty(0)
        for control in (self.digit, self.size, self.stride, self.mode):
            control.observe(lambda _: self.update(), names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.digit, self.mode]),
                w.HBox([self.size, self.stride]),
                self.image,
            ]
        )
        self.update()

    def update(self) -> None:
        x = _digit(self.images, self.digit.value)
        pool = ops.max_pool2d if self.mode.value == "max" else ops.avg_pool2d
        # (H_out, W_out)
        self.pooled = pool(x, self.size.value, self.stride.value)[0, 0]
        if self.draw:
            h, w_ = self.pooled.shape
            fig = plots.image_table(
                [[x[0, 0], self.pooled]],
                col_titles=[
                    "digit 28x28",
                    f"{self.mode.value} pool: {h}x{w_}",
                ],
                size=2.6,
            )
            self.image.value = _png(fig)

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = (
            f"PoolExplorer(digit={self.digit.value}, "
            f"window={self.size.value}, stride={self.stride.value}, "
            f"{self.mode.value})"
        )
        return bundle


class DigitUpload:
    """Upload a photo or scan of a handwritten digit and see what the network reads.

    The image is read by :func:`mnist_cnn.preprocess.read_digits`, as
    ``python -m mnist_cnn predict`` reads it (turned upright, paper
    flattened, thin strokes thickened, MNIST's steps); the widget shows the
    28x28 digit the network sees and the ten probabilities (of the first
    digit, where the photo holds several: the message reads them all, left to
    right, with every guess the reading made). A file that is not an image
    gives one message and changes nothing else.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        mean: float,
        std: float,
        draw: bool = True,
    ) -> None:
        self.model, self.mean, self.std, self.draw = model, mean, std, draw
        self.upload = w.FileUpload(
            accept="image/*", multiple=False, description="digit image"
        )
        self.message = w.Label(
            "Choose a photo or scan of a digit (PNG, JPEG, GIF, BMP, TIFF or "
            "WebP), dark on light or light on dark."
        )
        self.image = w.Image(format="png")
        self.digit = torch.empty(0)
        self.probabilities = torch.empty(0)
        # an empty chart until the first upload (an empty Image widget is a
        # broken image)
        if draw:
            self.image.value = _png(
                plots.digit_probabilities(
                    torch.zeros(28, 28), torch.zeros(10), title="no digit yet"
                )
            )
        self.upload.observe(
            lambda change: self.show(change["new"]), names="value"
        )
        self.widget = w.VBox([self.upload, self.message, self.image])

    def show(self, files: object) -> None:
        """Read the uploaded file (ipywidgets 8 gives a tuple of dicts with
        ``name`` and ``content``)."""
        if not files:
            return
        upload = list(files)[0]  # type: ignore[call-overload]
        name = upload.get("name", "upload")
        try:
            reading = preprocess.read_digits_from_bytes(
                bytes(upload["content"]), name
            )
        except preprocess.ImageInputError as exc:
            self.message.value = str(exc)
            return
        digits = reading.digits[:, 0]  # (K, 28, 28) uint8, left to right
        # (K, 10)
        probs = torch.softmax(
            training.predict_logits(self.model, digits, self.mean, self.std),
            dim=1,
        )
        self.digit, self.probabilities = digits[0], probs[0]
        guess = int(probs[0].argmax())
        text = (
            f"{name}: the network reads a {guess} "
            f"(probability {float(probs[0, guess]):.2f})"
            if len(digits) == 1
            else f"{name}: {len(digits)} digits, read left to right: "
            + " ".join(str(int(p.argmax())) for p in probs)
            + " (the first is shown)"
        )
        self.message.value = "; ".join([text, *reading.notes])
        if self.draw:
            fig = plots.digit_probabilities(digits[0], probs[0])
            self.image.value = _png(fig)

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = "DigitUpload()"
        return bundle

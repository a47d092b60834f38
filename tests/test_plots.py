"""mnist_cnn.plots: every figure fits the page column, so its text is drawn at the size it was
given. Reference: the column's width in the built page (688 px, measured by the browser test)
at matplotlib's 100 dots per inch, and a smallest legible font of 7 points (9.7 px)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from mnist_cnn import anatomy, metrics, models, plots  # noqa: E402

COLUMN_PX = 688  # the width a chapter gives a figure (tests/test_html.py)
DPI = 100  # matplotlib's default, used by the notebooks' inline backend
SMALLEST_PT = 7

g = torch.Generator().manual_seed(0)
IMAGES = torch.randint(0, 256, (40, 28, 28), generator=g, dtype=torch.uint8)
MAPS = torch.rand(4, 28, 28, generator=g)
# three epochs: (epoch, train loss, held-out loss, held-out accuracy)
RUN = [(1, 0.9, 0.8, 0.7), (2, 0.5, 0.4, 0.85), (3, 0.3, 0.35, 0.9)]
LABELS = torch.randint(0, 10, (500,), generator=g)
PROBS = torch.softmax(torch.randn(500, 10, generator=g) * 3, dim=1)

# each figure as a chapter draws it (the widest calls in the book)
FIGURES = {
    "digit_grid, 40 digits": lambda: plots.digit_grid(IMAGES, list(range(40))),
    "digit_grid, 12 titled columns": lambda: plots.digit_grid(
        IMAGES[:24], [f"7→2 ({i / 30:.2f})" for i in range(24)], ncols=12
    ),
    "class_counts": lambda: plots.class_counts(
        {"train": torch.arange(10) + 5000, "test": torch.arange(10) + 900}
    ),
    "image_table, 10 columns": lambda: plots.image_table(
        [list(IMAGES[:10].float()), list(IMAGES[10:20].float())],
        row_titles=["photo", "network sees"],
        col_titles=[f"read {i} (0.93)" for i in range(10)],
        size=1.4,
    ),
    "image_table, 5 wide columns": lambda: plots.image_table(
        [list(IMAGES[:5].float())],
        col_titles=[f"max k=4 s=4: {i}x{i}" for i in range(5)],
        size=2.2,
    ),
    "sliding_window": lambda: plots.sliding_window(
        5, 3, s=2, p=1, positions=[(0, 0), (0, 1), (2, 2)]
    ),
    "pool_routing": lambda: plots.pool_routing(
        MAPS[0, :8, :8], MAPS[1, :8, :8]
    ),
    "confusion_heatmap": lambda: plots.confusion_heatmap(
        metrics.confusion_matrix(LABELS, PROBS.argmax(1))
    ),
    "roc_plot": lambda: plots.roc_plot(metrics.roc_curves(LABELS, PROBS)),
    "digit_probabilities": lambda: plots.digit_probabilities(
        IMAGES[0], PROBS[0], title="a digit"
    ),
    "what_trains": lambda: plots.what_trains(
        {
            m: {"block1": "frozen", "block2": "adapter", "head": "new"}
            for m in ("from scratch", "discriminative lr", "LoRA (r=4)")
        },
        {"discriminative lr": {"block1": "×1/3", "head": "×3"}},
    ),
    "dots_by_draw": lambda: plots.dots_by_draw(
        {
            t: {
                m: [90.0 + i for i in range(5)]
                for m in (
                    "linear probe",
                    "full fine-tuning",
                    "discriminative lr",
                    "LoRA (r=4)",
                    "from scratch",
                    "last block",
                )
            }
            for t in ("digits (8x8 scans)", "Fashion-MNIST")
        },
        "test accuracy (%)",
    ),
    "softmax_bars": lambda: plots.softmax_bars(torch.randn(10) * 3, 7),
    "descent_paths": lambda: plots.descent_paths(
        {0.02: [0, 0.1], 0.3: [0, 1.8], 1.05: [0, 6.3]}
    ),
    "training_curves": lambda: plots.training_curves(
        {"a": ("test", RUN), "b": ("validation", RUN[:2])}
    ),
    "architecture": lambda: plots.architecture(
        anatomy.stages(anatomy.shape_trace(models.BookCNN()))
    ),
    "explanations": lambda: plots.explanations(
        IMAGES[:4],
        [("saliency", MAPS), ("Grad-CAM", MAPS)],
        row_titles=[f"{i} read as {i + 1}" for i in range(4)],
    ),
}


def drawn_width_px(fig: Figure) -> float:
    """Width of the PNG the notebook stores (bbox_inches="tight", as the inline backend)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    buffer.seek(0)
    return plt.imread(buffer).shape[1]


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_fits_the_column_and_its_text_is_legible(name: str) -> None:
    fig = FIGURES[name]()
    try:
        width = drawn_width_px(fig)
        # a PNG wider than the column is shrunk by the page, and its text with it
        assert width <= COLUMN_PX * 1.02, f"{name}: {width} px wide"
        shown = min(1.0, COLUMN_PX / width)
        texts = [
            t
            for t in fig.findobj(Text)
            if t.get_text().strip() and t.get_visible()
        ]
        assert texts, f"{name}: no text found (the test would pass vacuously)"
        smallest = min(t.get_fontsize() * shown for t in texts)
        assert smallest >= SMALLEST_PT, (
            f"{name}: text drawn at {smallest:.1f} pt "
            f"({smallest * DPI / 72:.1f} px)"
        )
    finally:
        plt.close(fig)


def test_fit_column_keeps_narrow_figures_and_shrinks_wide_ones() -> None:
    narrow = plt.figure(figsize=(4, 3))
    wide = plt.figure(figsize=(13.76, 3))
    try:
        assert tuple(plots.fit_column(narrow).get_size_inches()) == (4, 3)
        w, h = plots.fit_column(wide).get_size_inches()
        assert np.isclose(w, plots.COLUMN_INCHES - 0.2)
        assert np.isclose(h, 3 * w / 13.76)
    finally:
        plt.close(narrow)
        plt.close(wide)


def test_receptive_field_boxes_are_the_windows() -> None:
    """Reference: the windows themselves, pixel centres at integers."""
    boxes = [("a", range(10, 13)), ("b", range(7, 17))]
    fig = plots.receptive_field_boxes(IMAGES[0], boxes)
    try:
        (ax,) = fig.axes
        squares = [
            (r.get_xy(), r.get_width(), r.get_label()) for r in ax.patches
        ]
        assert squares == [((9.5, 9.5), 3, "a"), ((6.5, 6.5), 10, "b")]
    finally:
        plt.close(fig)


def test_descent_paths_draw_the_weights_on_the_loss() -> None:
    """Reference: the path itself and the loss (w - 3)^2 at each point."""
    paths = {0.1: [0.0, 0.6, 1.08], 1.1: [0.0, 6.6, -1.32]}
    fig = plots.descent_paths(paths)
    try:
        assert len(fig.axes) == 2
        for ax, path in zip(fig.axes, paths.values(), strict=True):
            curve, visited = ax.lines
            assert np.allclose(visited.get_xdata(), path)
            assert np.allclose(visited.get_ydata(), (np.array(path) - 3) ** 2)
            x = curve.get_xdata()
            assert x.min() <= min(path) and x.max() >= max(path)
    finally:
        plt.close(fig)


def test_training_curves_draw_each_run_as_given() -> None:
    """Reference: the rows themselves; accuracy in percent."""
    fig = plots.training_curves({"a": ("test", RUN), "b": ("val", RUN[:2])})
    try:
        loss_ax, acc_ax = fig.axes
        lines = {line.get_label(): line for line in loss_ax.lines}
        assert list(lines) == ["a: train", "a: test", "b: train", "b: val"]
        assert list(lines["a: train"].get_xdata()) == [1, 2, 3]
        assert list(lines["a: train"].get_ydata()) == [0.9, 0.5, 0.3]
        assert list(lines["a: test"].get_ydata()) == [0.8, 0.4, 0.35]
        assert lines["a: test"].get_linestyle() == "--"
        accuracy = {line.get_label(): line for line in acc_ax.lines}
        assert np.allclose(accuracy["a (test)"].get_ydata(), [70, 85, 90])
        assert list(accuracy["b (val)"].get_xdata()) == [1, 2]
        assert loss_ax.get_yscale() == "log"
    finally:
        plt.close(fig)


def test_softmax_bars_draw_the_softmax_and_its_loss() -> None:
    """Reference: torch.softmax and F.cross_entropy."""
    logits = torch.randn(10, generator=g)
    fig = plots.softmax_bars(logits, 3)
    try:
        left, right = fig.axes
        drawn = [bar.get_height() for bar in right.patches]
        assert np.allclose(drawn, torch.softmax(logits, 0).numpy(), atol=1e-6)
        assert np.allclose([b.get_height() for b in left.patches], logits)
        loss = torch.nn.functional.cross_entropy(
            logits[None], torch.tensor([3])
        )
        assert f"= {float(loss):.3f}" in " ".join(
            t.get_text() for t in right.texts
        )
    finally:
        plt.close(fig)


def test_architecture_writes_every_stage_shape_and_op() -> None:
    found = anatomy.stages(anatomy.shape_trace(models.BookCNN()))
    fig = plots.architecture(found)
    try:
        texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]
        shapes = ["×".join(map(str, s.shape)) for s in found]
        assert [t for t in texts if t in shapes] == shapes
        assert [t for t in texts if t not in shapes] == [
            "\n".join(s.ops) for s in found[1:]
        ]
    finally:
        plt.close(fig)

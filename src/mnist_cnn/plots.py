"""Figures the book draws, so every chapter plots the same way.

Used by the chapters "Data", "Model", "Convolution", "Pooling", "Evaluation",
"Training", "Fine-tuning" and "Applications and outlook".
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

__all__ = [
    "COLUMN_INCHES",
    "fit_column",
    "digit_grid",
    "class_counts",
    "image_table",
    "sliding_window",
    "pool_routing",
    "confusion_heatmap",
    "roc_plot",
    "digit_probabilities",
    "architecture",
    "softmax_bars",
    "receptive_field_boxes",
    "descent_paths",
    "training_curves",
    "explanations",
    "what_trains",
    "dots_by_draw",
]

#: The width of the book's text column in inches (688 px, the width at which a
#: chapter draws a figure, at matplotlib's 100 dots per inch).
COLUMN_INCHES = 6.88


def fit_column(fig: Figure, pad: float = 0.3) -> Figure:
    """Shrink a figure wider than the page column to the column's width (same
    aspect ratio), so that the page shows it at its own size: its fonts keep
    the point sizes they were given instead of being scaled down with it.
    A fifth of an inch is left for titles that stick out of the axes."""
    width, height = fig.get_size_inches()
    target = COLUMN_INCHES - 0.2
    if width > target:
        fig.set_size_inches(target, height * target / width)
        fig.tight_layout(pad=pad)
    return fig


def digit_grid(
    images: torch.Tensor,  # (N, 28, 28) or (N, 1, 28, 28), any float or uint8
    labels: torch.Tensor
    | Sequence[int]
    | Sequence[str]
    | None = None,  # a label or a title per image
    ncols: int = 10,
    size: float = 1.0,
) -> Figure:
    """A grid of digits, black on white, each titled with its label when
    ``labels`` is given."""
    if images.ndim == 4:
        images = images[:, 0]  # (N, 28, 28)
    n = images.shape[0]
    if n == 0:
        raise ValueError("images: nothing to show (0 images).")
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(ncols * size, nrows * size * 1.15),
        squeeze=False,
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].detach().cpu(), cmap="gray_r")
            if labels is not None:
                title = (
                    labels[i]
                    if isinstance(labels[i], str)
                    else str(int(labels[i]))
                )
                ax.set_title(title, fontsize=9 if len(title) < 4 else 7, pad=2)
    fig.tight_layout(pad=0.2)
    return fit_column(fig)


def class_counts(
    counts: dict[str, torch.Tensor], title: str = "Images per class"
) -> Figure:
    """Grouped bars of per-class counts, one group per split (e.g. {"train":
    ..., "test": ...})."""
    fig, ax = plt.subplots(figsize=(7, 3))
    width = 0.8 / max(len(counts), 1)
    for k, (name, c) in enumerate(counts.items()):
        xs = torch.arange(len(c)) + (k - (len(counts) - 1) / 2) * width
        ax.bar(xs.tolist(), c.tolist(), width=width, label=name)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.set_ylabel("images")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fit_column(fig)


def image_table(
    rows: Sequence[Sequence[torch.Tensor]],  # rows[r][c]: (H, W)
    row_titles: Sequence[str] | None = None,
    col_titles: Sequence[str] | None = None,
    signed: Sequence[bool]
    | None = None,  # per column: draw with a diverging map centred on 0
    size: float = 1.4,
    cell_titles: Sequence[Sequence[str]] | None = None,  # rows[r][c]'s title
) -> Figure:
    """A table of images; signed columns (feature maps) use red/blue around
    zero, others grey."""
    nrows, ncols = len(rows), len(rows[0])
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * size, nrows * size), squeeze=False
    )
    for r in range(nrows):
        for c in range(ncols):
            ax = axes[r][c]
            img = rows[r][c].detach().cpu().float()
            if signed is not None and signed[c]:
                lim = float(img.abs().max()) or 1.0
                ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
            else:
                ax.imshow(img, cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0 and col_titles is not None:
                ax.set_title(col_titles[c], fontsize=9)
            if cell_titles is not None:
                ax.set_title(cell_titles[r][c], fontsize=9)
            if c == 0 and row_titles is not None:
                ax.set_ylabel(row_titles[r], fontsize=9)
    fig.tight_layout(pad=0.3)
    return fit_column(fig)


def sliding_window(
    n: int,
    k: int,
    s: int = 1,
    p: int = 0,
    d: int = 1,
    positions: Sequence[tuple[int, int]] = ((0, 0), (0, 1), (1, 0)),
) -> Figure:
    """The padded n x n input (padding shaded) with the k x k window of output
    ``(i, j)`` marked.

    Window cell (m, q) of output (i, j) sits at padded row i*s + m*d, column
    j*s + q*d.
    """
    from mnist_cnn.ops import conv_output_size

    out = conv_output_size(n, k, s, p, d)
    size = n + 2 * p
    fig, axes = plt.subplots(
        1, len(positions), figsize=(3 * len(positions), 3.2), squeeze=False
    )
    for ax, (i, j) in zip(axes[0], positions):
        for r in range(size):
            for c in range(size):
                is_pad = not (p <= r < p + n and p <= c < p + n)
                ax.add_patch(
                    Rectangle(
                        (c, r),
                        1,
                        1,
                        facecolor="#dddddd" if is_pad else "white",
                        edgecolor="#999999",
                        lw=0.5,
                    )
                )
        for m in range(k):
            for q in range(k):
                ax.add_patch(
                    Rectangle(
                        (j * s + q * d, i * s + m * d),
                        1,
                        1,
                        facecolor="#1f77b4",
                        alpha=0.6,
                    )
                )
        ax.set_xlim(0, size)
        ax.set_ylim(size, 0)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(f"output ({i}, {j}) of {out}x{out}", fontsize=9)
    fig.suptitle(
        f"n={n}, k={k}, s={s}, p={p}, d={d}: grey = padding, blue = window",
        fontsize=10,
    )
    fig.tight_layout()
    return fit_column(fig)


def pool_routing(x: torch.Tensor, grad_in: torch.Tensor, k: int = 2) -> Figure:
    """Left: an (H, W) input with each k x k window's maximum circled. Right:
    dL/dx, zero except there."""
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
    h, w = x.shape
    for ax, values, title in (
        (axes[0], x, "input x (max of each window in bold)"),
        (axes[1], grad_in, "dL/dx: gradient routed to the max"),
    ):
        ax.imshow(torch.zeros(h, w), cmap="Greys", vmin=0, vmax=1)
        for r in range(h):
            for c in range(w):
                window = x[
                    r // k * k : r // k * k + k, c // k * k : c // k * k + k
                ]
                is_max = bool(x[r, c] == window.max())
                ax.text(
                    c,
                    r,
                    f"{float(values[r, c]):.1f}",
                    ha="center",
                    va="center",
                    fontsize=11,
                    fontweight="bold" if is_max else "normal",
                    color="#d62728" if is_max else "black",
                )
        for t in range(0, h + 1, k):
            ax.axhline(t - 0.5, color="#1f77b4", lw=2)
        for t in range(0, w + 1, k):
            ax.axvline(t - 0.5, color="#1f77b4", lw=2)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fit_column(fig)


def confusion_heatmap(
    cm: np.ndarray, title: str = "Confusion matrix (test set)"
) -> Figure:
    """Rows: true digit, columns: predicted digit; the diagonal is hidden from
    the colour scale so that the mistakes stand out, and every cell shows its
    count."""
    off = cm.astype(float).copy()
    np.fill_diagonal(off, np.nan)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    image = ax.imshow(off, cmap="Reds")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                str(int(cm[i, j])),
                ha="center",
                va="center",
                fontsize=7,
                color="#1f77b4" if i == j else "black",
            )
    ax.set_xticks(range(cm.shape[1]))
    ax.set_yticks(range(cm.shape[0]))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="mistakes")
    fig.tight_layout()
    return fit_column(fig)


def roc_plot(curves: Sequence, zoom: float = 0.05) -> Figure:
    """One-vs-rest ROC curve of every class; right: the top-left corner, enlarged."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, limit in zip(axes, (1.0, zoom)):
        for k, curve in enumerate(curves):
            ax.plot(
                curve.fpr, curve.tpr, lw=1, label=f"{k}: AUC {curve.auc:.4f}"
            )
        ax.set_xlim(0, limit)
        ax.set_ylim(1 - limit if limit < 1 else 0, 1.0005)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
    axes[0].plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    axes[1].legend(fontsize=7, loc="lower right")
    axes[0].set_title("one-vs-rest ROC curves", fontsize=10)
    axes[1].set_title("the top-left corner", fontsize=10)
    fig.tight_layout()
    return fit_column(fig)


def digit_probabilities(
    digit: torch.Tensor, probabilities: torch.Tensor, title: str = ""
) -> Figure:
    """The 28x28 digit the network sees ``(28, 28)`` beside its ten class
    probabilities ``(10,)``."""
    fig, (ax_img, ax_bar) = plt.subplots(
        1, 2, figsize=(5.2, 2.2), gridspec_kw={"width_ratios": [1, 1.6]}
    )
    ax_img.imshow(digit.detach().cpu().float().numpy(), cmap="gray_r", vmin=0)
    ax_img.set_xticks([])
    ax_img.set_yticks([])
    ax_img.set_title(title or "what the network sees", fontsize=9)
    p = probabilities.detach().cpu().float().numpy()
    colours = [
        "tab:blue" if i == int(p.argmax()) and p.max() > 0 else "tab:gray"
        for i in range(len(p))
    ]
    ax_bar.bar(range(len(p)), p, color=colours)
    ax_bar.set_xticks(range(len(p)))
    ax_bar.set_ylim(0, 1)
    ax_bar.set_title("probability per class", fontsize=9)
    fig.tight_layout(pad=0.3)
    return fit_column(fig)


def architecture(stages: Sequence, title: str = "") -> Figure:
    """The tensors one image becomes (``anatomy.stages``), left to right:
    a feature map as a block as high as its side and as wide as its
    channels (square root, so 64 channels are not 64 times as wide), a
    vector as a thin bar; under each its shape, on each arrow the layers
    that made it."""
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 2.3))
    gap = COLUMN_INCHES / len(stages)
    right = 0.0  # the right edge of the block before
    for i, stage in enumerate(stages):
        x = (i + 0.5) * gap
        if len(stage.shape) == 3:
            c, h, _ = stage.shape
            width, height = 0.07 * c**0.5, 1.2 * h / 28
        else:
            width, height = 0.06, 0.3 + 0.9 * min(1.0, stage.shape[0] / 1568)
        ax.add_patch(
            Rectangle(
                (x - width / 2, 0.8 - height / 2),
                width,
                height,
                facecolor="#9ecae1",
                edgecolor="#08519c",
            )
        )
        shape = "×".join(str(n) for n in stage.shape)
        ax.text(x, 0.1, shape, ha="center", va="top", fontsize=8)
        if stage.ops:
            ax.annotate(
                "",
                xy=(x - width / 2 - 0.04, 0.8),
                xytext=(right + 0.04, 0.8),
                arrowprops={"arrowstyle": "->", "color": "#555555"},
            )
            ax.text(
                x - gap / 2,
                1.5,
                "\n".join(stage.ops),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        right = x + width / 2
    ax.set_xlim(0, COLUMN_INCHES)
    ax.set_ylim(-0.25, 2.2)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout(pad=0.3)
    return fit_column(fig)


def softmax_bars(logits: torch.Tensor, label: int) -> Figure:
    """One image's ten logits ``(10,)`` beside their softmax, the true
    class ``label`` in orange; the title gives the cross-entropy loss,
    minus the log of the true class's probability."""
    z = logits.detach().cpu().double()
    p = torch.softmax(z, dim=0)
    loss = -float(torch.log(p[label]))
    colours = ["tab:orange" if i == label else "tab:blue" for i in range(10)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 2.4))
    left.bar(range(10), z.numpy(), color=colours)
    left.axhline(0, color="black", lw=0.8)
    left.set_title("logits z (any real number)", fontsize=10)
    right.bar(range(10), p.numpy(), color=colours)
    right.set_ylim(0, 1)
    right.set_title("softmax p (positive, sums to 1)", fontsize=10)
    right.text(
        0.98,
        0.95,
        f"loss = −log p[{label}] = {loss:.3f}",
        transform=right.transAxes,
        ha="right",
        va="top",
        fontsize=9,
    )
    for ax in (left, right):
        ax.set_xticks(range(10))
        ax.set_xlabel("class")
    fig.tight_layout()
    return fit_column(fig)


def receptive_field_boxes(
    image: torch.Tensor,  # (H, W), any dtype
    boxes: Sequence[tuple[str, range]],
) -> Figure:
    """The digit with one square per layer (chapter "Model"): ``(label,
    window)``, the rows (= the columns) of the image that layer's centre unit
    sees, from :meth:`mnist_cnn.anatomy.ReceptiveField.window`."""
    colours = ["#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd"]
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(image, cmap="gray_r")
    for (label, window), colour in zip(boxes, colours, strict=False):
        corner = (window.start - 0.5, window.start - 0.5)
        ax.add_patch(
            Rectangle(
                corner,
                len(window),
                len(window),
                fill=False,
                lw=2,
                color=colour,
                label=label,
            )
        )
    ax.legend(loc="lower left", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return fig


def descent_paths(
    paths: dict[float, Sequence[float]], minimum: float = 3.0
) -> Figure:
    """Gradient descent on the loss ``(w - minimum) ** 2`` (chapter
    "Training"): one panel per learning rate, the loss curve in grey and the
    weights visited in orange (``paths``: learning rate -> w after 0, 1, ...
    steps)."""
    fig, axes = plt.subplots(
        1, len(paths), figsize=(COLUMN_INCHES, 2.4), sharey=True, squeeze=False
    )
    for ax, (lr, path) in zip(axes[0], paths.items(), strict=True):
        w = np.asarray(path, dtype=float)
        lo, hi = min(w.min(), minimum - 4), max(w.max(), minimum + 4)
        grid = np.linspace(lo, hi, 200)
        ax.plot(grid, (grid - minimum) ** 2, color="0.6", lw=1)
        ax.plot(
            w, (w - minimum) ** 2, marker="o", ms=3, lw=0.8, color="tab:orange"
        )
        ax.set_title(f"learning rate {lr}", fontsize=9)
        ax.set_xlabel("w")
    axes[0][0].set_ylabel(f"loss (w − {minimum:g})²")
    fig.tight_layout()
    return fit_column(fig)


def training_curves(runs: dict[str, tuple[str, Sequence]]) -> Figure:
    """Loss per epoch (left, log scale) and accuracy (right) of several runs
    (chapter "Training"). ``runs`` maps a label to ``(held_out, rows)``:
    the name of the held-out set ("test", "validation") and one row
    ``(epoch, train_loss, held_out_loss, held_out_accuracy)`` per epoch,
    accuracy as a fraction. Training loss: solid; held-out loss: dashed."""
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 2.8))
    for label, (held_out, rows) in runs.items():
        epoch, train, loss, acc = (list(column) for column in zip(*rows))
        loss_ax.plot(epoch, train, marker="o", label=f"{label}: train")
        loss_ax.plot(
            epoch, loss, marker="s", ls="--", label=f"{label}: {held_out}"
        )
        acc_ax.plot(
            epoch,
            [100 * a for a in acc],
            marker="o",
            label=f"{label} ({held_out})",
        )
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("cross-entropy")
    acc_ax.set_ylabel("accuracy (%)")
    for ax, size in ((loss_ax, 7), (acc_ax, 8)):
        ax.set_xlabel("epoch")
        ax.legend(fontsize=size)
    fig.tight_layout()
    return fit_column(fig)


def explanations(
    images: torch.Tensor,  # (N, 28, 28)
    # (title, (N, 28, 28)) per column
    maps: Sequence[tuple[str, torch.Tensor]],
    row_titles: Sequence[str] | None = None,
    size: float = 1.5,
) -> Figure:
    """Each image with heat maps laid over it (saliency, Grad-CAM ...), one
    column per method."""
    n = images.shape[0]
    fig, axes = plt.subplots(
        n,
        1 + len(maps),
        figsize=((1 + len(maps)) * size, n * size),
        squeeze=False,
    )
    for r in range(n):
        img = images[r].detach().cpu().float().numpy()
        axes[r][0].imshow(img, cmap="gray_r")
        for c, (title, heat) in enumerate(maps, start=1):
            axes[r][c].imshow(img, cmap="gray_r")
            axes[r][c].imshow(
                heat[r].detach().cpu().float().numpy(),
                cmap="inferno",
                alpha=0.6,
            )
            if r == 0:
                axes[r][c].set_title(title, fontsize=9)
        if r == 0:
            axes[r][0].set_title("digit", fontsize=9)
        if row_titles is not None:
            axes[r][0].set_ylabel(row_titles[r], fontsize=9)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout(pad=0.3)
    return fit_column(fig)


#: The colour of each state of :func:`mnist_cnn.transfer.what_trains`.
STATE_COLOURS = {
    "new": "#f4a259",  # freshly initialised
    "trained": "#5b8fd9",  # pretrained, updated
    "adapter": "#8cc084",  # frozen, with a trained low-rank update
    "frozen": "#d9d9d9",
}


def what_trains(
    states: dict[str, dict[str, str]],
    notes: dict[str, dict[str, str]] | None = None,
) -> Figure:
    """One row per method, one column per block, coloured by what training
    does to that block (``states[method][block]``, from
    :func:`mnist_cnn.transfer.what_trains`); ``notes[method][block]`` is
    written after the state's word (e.g. a learning-rate factor)."""
    methods = list(states)
    blocks = list(states[methods[0]])
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 0.42 * len(methods) + 0.6))
    for row, method in enumerate(methods):
        for col, block in enumerate(blocks):
            state = states[method][block]
            ax.add_patch(
                Rectangle(
                    (col + 0.04, row + 0.08),
                    0.92,
                    0.84,
                    color=STATE_COLOURS[state],
                )
            )
            word = "frozen + LoRA" if state == "adapter" else state
            note = (notes or {}).get(method, {}).get(block)
            text = f"{word} {note}" if note else word
            ax.text(col + 0.5, row + 0.5, text, ha="center", va="center")
    ax.set_xlim(0, len(blocks))
    ax.set_ylim(len(methods), 0)
    ax.set_xticks([c + 0.5 for c in range(len(blocks))], blocks)
    ax.set_yticks([r + 0.5 for r in range(len(methods))], methods)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.tight_layout(pad=0.3)
    return fit_column(fig)


def dots_by_draw(
    values: dict[str, dict[str, Sequence[float]]], ylabel: str
) -> Figure:
    """One panel per key of ``values``; in it one column per label with
    each of its values (one per draw or seed) as a dot and their mean as a
    short line: the spread is seen, not summarised away."""
    panels = list(values)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(COLUMN_INCHES, 3.0), squeeze=False
    )
    for ax, panel in zip(axes[0], panels):
        labels = list(values[panel])
        for i, label in enumerate(labels):
            ys = np.asarray(values[panel][label], dtype=float)
            xs = i + np.linspace(-0.15, 0.15, len(ys))
            ax.plot(xs, ys, "o", color="#5b8fd9", ms=4)
            ax.plot([i - 0.3, i + 0.3], [ys.mean()] * 2, color="black")
        ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
        ax.set_xlim(-0.6, len(labels) - 0.4)
        ax.set_ylabel(ylabel)
        ax.set_title(panel, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fit_column(fig)

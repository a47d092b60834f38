"""Sphinx extension: the explorers of "Convolution" and "Pooling" compute in the HTML page.

In Jupyter or Colab the explorers are ipywidgets (:mod:`mnist_cnn.widgets`): they need the
notebook's kernel, and in a static page their saved output cannot answer a click. In the built
HTML this extension replaces the output of the cell that shows one (the code cell tagged
``explorer-conv`` or ``explorer-pool``) with the same explorer written in JavaScript
(``assets/explorers.js``), which computes in the page, offline, with nothing to install. The
output of a widget that cannot work without Python (tagged ``needs-kernel``: the photo upload of
"Applications") becomes a note that says where it works.

What the page needs travels inside it: the digits the widget offers (the first
``N_DIGITS`` training images, read with :func:`mnist_cnn.data.load_mnist`) and the preset kernels
(:data:`mnist_cnn.ops.CLASSIC_KERNELS`), so both versions show the same choices. The script is
added to those two pages only. ``tests/test_explorers.py`` (``make browser-test``) checks the
page's feature maps and pooled maps against :mod:`mnist_cnn.ops`.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

KINDS = {
    "explorer-conv": "conv",
    "explorer-pool": "pool",
    "needs-kernel": "note",
}
# what replaces a widget that needs Python behind it (tag ``needs-kernel``)
NOTE = {
    "en": "Here, in the HTML book, the widget would need Python behind it: open this chapter in "
    "Jupyter or Colab, or run <code>python -m mnist_cnn predict your-photo.png</code>.",
    "zh": "在 HTML 版的书中，这个控件背后没有 Python：请在 Jupyter 或 Colab 中打开本章，或者运行 "
    "<code>python -m mnist_cnn predict your-photo.png</code>。",
}
N_DIGITS = 20  # as mnist_cnn.widgets.ConvExplorer / PoolExplorer
SCRIPT = "explorers.js"


@cache
def explorer_data() -> str:
    """The digits (uint8, base64, row by row), their labels and the preset
    kernels, as JSON that is safe inside a <script> element."""
    from mnist_cnn import data, ops

    mnist = data.load_mnist()
    images = mnist.train_images[:N_DIGITS]  # (N_DIGITS, 28, 28) uint8
    payload = {
        "size": int(images.shape[1]),
        "digits": [
            base64.b64encode(img.numpy().tobytes()).decode("ascii")
            for img in images
        ],
        "labels": [int(v) for v in mnist.train_labels[:N_DIGITS]],
        "kernels": {
            name: [float(v) for v in k.flatten()]
            for name, k in ops.CLASSIC_KERNELS.items()
        },
    }
    return json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")


def explorer_html(kind: str, lang: str) -> str:
    if kind == "note":
        return f'<p class="mnist-needs-kernel">{NOTE[lang]}</p>'
    return (
        f'<div class="mnist-explorer" data-kind="{kind}" data-lang="{lang}">'
        '<script type="application/json" class="mnist-explorer-data">'
        f"{explorer_data()}</script>"
        "<noscript>This explorer needs JavaScript.</noscript></div>"
    )


def replace_widgets(
    app: Sphinx, doctree: nodes.document, docname: str
) -> None:
    """Each tagged cell's output becomes the in-page explorer (HTML only;
    other builders keep what they had)."""
    if app.builder.format != "html":
        return
    for cell in doctree.findall(nodes.container):
        kinds = [KINDS[c[4:]] for c in cell["classes"] if c[4:] in KINDS]
        if not kinds or "cell" not in cell["classes"]:
            continue
        outputs = [
            c
            for c in cell.findall(nodes.container)
            if "cell_output" in c["classes"]
        ]
        if len(outputs) != 1:
            raise ValueError(
                f"{docname}: the cell tagged explorer-{kinds[0]} has "
                f"{len(outputs)} outputs; run the notebook so that it shows "
                "its widget once."
            )
        raw = nodes.raw(
            "",
            explorer_html(kinds[0], app.config.book_edition),
            format="html",
        )
        outputs[0].children = [raw]
        if kinds[0] != "note":
            app.env.metadata[docname]["mnist_explorer"] = True


def add_script(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    """Only the pages with an explorer load its script."""
    if app.env.metadata.get(pagename, {}).get("mnist_explorer"):
        app.add_js_file(SCRIPT)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", replace_widgets)
    app.connect("html-page-context", add_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

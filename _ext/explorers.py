"""Sphinx extension: the explorers of "Convolution" and "Pooling" compute in the HTML page.

In Jupyter or Colab the explorers are ipywidgets (:mod:`mnist_cnn.widgets`): they need the
notebook's kernel, and in a static page their saved output cannot answer a click. In the built
HTML this extension replaces the output of the cell that shows one (the code cell tagged
``explorer-conv`` or ``explorer-pool``) with the same explorer written in JavaScript
(``assets/explorers.js``), which computes in the page, offline, with nothing to install. The
output of a widget that cannot work without Python (tagged ``needs-kernel``; no cell is now)
becomes a note that says where it works.

The photo upload of "Applications" (tagged ``draw-digit``) becomes a canvas to draw on
(``assets/draw.js``): the chapter's own network, run in the page. Its weights are those the
chapter's run exported (:func:`mnist_cnn.deploy.page_weights`, the output of the notebook's cell
with the ``PAGE_MIME`` type), written by the build to ``_static/draw-weights.js``, which the page
loads only when a reader draws. ``tests/test_draw.py`` checks it against PyTorch.

What the explorers need travels inside the page: the digits the widget offers (the first
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
from offline_html import write_static_script
from sphinx.application import Sphinx

KINDS = {
    "explorer-conv": "conv",
    "explorer-pool": "pool",
    "needs-kernel": "note",
    "draw-digit": "draw",
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
DRAW_SCRIPT = "draw.js"
WEIGHTS = "draw-weights.js"  # written into _static/ by write_weights
# which network the canvas runs, said under it ({acc}: its test accuracy)
ABOUT = {
    "en": "The network is this chapter's: <code>BookCNN</code> after one epoch of the book's "
    "recipe (<code>{checkpoint}</code>), {acc} % test accuracy. Its weights are the ones the "
    "run that built this page used (saved by <code>deploy.page_weights</code>); the page "
    "prepares your drawing with the steps of <code>preprocess.to_mnist</code> and computes the "
    "forward pass in JavaScript with the chapters' formulas. In Jupyter or Colab this cell "
    "shows the photo upload instead.",
    "zh": "这里的网络就是本章的网络：按本书配方训练一轮的 <code>BookCNN</code>"
    "（<code>{checkpoint}</code>），测试准确率 {acc}%。它的权重来自生成本页的那次运行"
    "（由 <code>deploy.page_weights</code> 保存）；本页按 <code>preprocess.to_mnist</code> "
    "的步骤处理你写的数字，并用 JavaScript 按各章的公式计算前向传播。在 Jupyter 或 Colab "
    "中，这个单元格显示的是照片上传控件。",
}
# the small version at the start of the book (a Markdown page's ``<div class="mnist-draw-here">``)
ABOUT_SMALL = {
    "en": "The network is the one this book builds and trains (<code>BookCNN</code>, "
    '{acc} % test accuracy), computed in this page; the chapter "Applications" shows what '
    "each of its layers sees.",
    "zh": "这里的网络就是本书搭建并训练的网络（<code>BookCNN</code>，测试准确率 {acc}%），"
    "在本页中计算；“应用与展望”一章会显示它每一层看到了什么。",
}
HERE = 'class="mnist-draw-here"'
# the canvas in the PDF
PRINTED = {
    "en": "In the HTML book this cell is a canvas: draw a digit and the chapter's network reads "
    "it in the page, layer by layer.",
    "zh": "在 HTML 版的书中，这里是一块画布：写一个数字，本章的网络就会在页面中逐层识别它。",
}
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


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


@cache
def page_weights() -> dict[str, Any]:
    """The network the canvas runs: the output of type ``deploy.PAGE_MIME``
    that book/applications.ipynb (the English notebook: the Chinese one
    shares its outputs) stored when it last ran."""
    from mnist_cnn import deploy, paths

    notebook = paths.book("applications.ipynb")
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for out in cell.get("outputs", []):
            if deploy.PAGE_MIME in out.get("data", {}):
                return out["data"][deploy.PAGE_MIME]
    raise ValueError(
        f"{notebook}: no output of type {deploy.PAGE_MIME}, the weights of "
        "the page's draw-a-digit. Run the notebook (tools/run_notebooks.py "
        "book/applications.ipynb) so that its cell tagged draw-weights "
        "writes them."
    )


def explorer_html(kind: str, lang: str, small: bool = False) -> str:
    if kind == "note":
        return f'<p class="mnist-needs-kernel">{NOTE[lang]}</p>'
    if kind == "printed":
        return f'<p class="mnist-needs-kernel">{PRINTED[lang]}</p>'
    if kind == "draw":
        about = (ABOUT_SMALL if small else ABOUT)[lang]
        return (
            f'<div class="mnist-draw" data-lang="{lang}"'
            f"{' data-small' if small else ''}>"
            f"{about.format(**page_weights()['about'])}</div>"
            "<noscript>Drawing a digit needs JavaScript.</noscript>"
        )
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
    lang = app.config.book_edition
    printed = app.builder.name == "singlehtml"  # the PDF: nothing to draw on
    for here in list(doctree.findall(nodes.raw)):
        if HERE in here.astext():
            here.replace_self(
                []
                if printed
                else nodes.raw(
                    "", explorer_html("draw", lang, True), format="html"
                )
            )
            app.env.metadata[docname]["mnist_draw"] = not printed
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
        kind = "printed" if printed and kinds[0] == "draw" else kinds[0]
        raw = nodes.raw("", explorer_html(kind, lang), format="html")
        outputs[0].children = [raw]
        if kinds[0] in ("conv", "pool"):
            app.env.metadata[docname]["mnist_explorer"] = True
        elif kind == "draw":
            app.env.metadata[docname]["mnist_draw"] = True


def add_script(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    """Only the pages with an explorer load its script; no page carries the
    widgets' saved state (no widget is left to read it)."""
    if app.env.metadata.get(pagename, {}).get("mnist_explorer"):
        app.add_js_file(SCRIPT)
    if app.env.metadata.get(pagename, {}).get("mnist_draw"):
        app.add_js_file(DRAW_SCRIPT)
    context["script_files"] = [
        js
        for js in context.get("script_files", [])
        if getattr(js, "attributes", {}).get("type") != WIDGET_STATE
    ]


def write_weights(app: Sphinx, exception: Exception | None) -> None:
    """_static/draw-weights.js: the page weights, as a script."""
    if exception is not None or app.builder.format != "html":
        return
    if not any(m.get("mnist_draw") for m in app.env.metadata.values()):
        return
    write_static_script(
        app.outdir,
        WEIGHTS,
        "MNIST_CNN_PAGE_WEIGHTS",
        page_weights(),
        "_ext/explorers.py from book/applications.ipynb",
    )


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-resolved", replace_widgets)
    app.connect("html-page-context", add_script)
    app.connect("build-finished", write_weights)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

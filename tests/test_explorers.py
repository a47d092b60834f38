"""The explorers of "Convolution" and "Pooling" in the built HTML compute what ``mnist_cnn.ops`` computes.

``_ext/explorers.py`` replaces each explorer widget's saved output with ``assets/explorers.js``,
which computes in the page. In Chromium (``make browser-test``), with the network cut off: the
feature map for every preset kernel and for 20 random kernels, strides, paddings and dilations
equals ``ops.conv2d`` on the same digit; the pooled map for 20 random windows, strides and modes
equals ``ops.max_pool2d`` / ``ops.avg_pool2d``; the output-size formula shows the map's size; every
control has a label and answers the keyboard; the Chinese edition labels its controls in Chinese.
The data the page carries (digits, labels, kernels) is checked without a browser in ``make test``.
"""

from __future__ import annotations

import base64
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mnist_cnn import data, ops
from tests.test_html import HTML, browser, open_page  # noqa: F401 (fixture)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
import explorers  # noqa: E402

TOLERANCE = 1e-5  # the page adds in float64, ops in float32 (values up to ~10)


@cache
def digits() -> torch.Tensor:
    # (20, 1, 1, 28, 28) in [0, 1], as ConvExplorer's _digit
    images = data.load_mnist().train_images[: explorers.N_DIGITS]
    return images.float().div(255).view(-1, 1, 1, 28, 28)


def test_the_page_carries_the_widgets_digits_and_kernels() -> None:
    """The JSON each explorer page embeds: the first 20 training images and
    their labels, and ops.CLASSIC_KERNELS, exactly."""
    payload = json.loads(explorers.explorer_data())
    mnist = data.load_mnist()
    pixels = np.stack(
        [
            np.frombuffer(base64.b64decode(d), np.uint8).reshape(28, 28)
            for d in payload["digits"]
        ]
    )
    assert payload["size"] == 28
    assert np.array_equal(pixels, mnist.train_images[:20].numpy())
    assert payload["labels"] == mnist.train_labels[:20].tolist()
    assert list(payload["kernels"]) == list(ops.CLASSIC_KERNELS)
    for name, k in ops.CLASSIC_KERNELS.items():
        assert payload["kernels"][name] == k.flatten().tolist(), name


def last(tab: Any) -> np.ndarray:
    result = tab.evaluate(
        "() => document.querySelector('.mnist-explorer').explorer.last"
    )
    return np.array(result["values"], dtype=np.float64).reshape(
        result["rows"], result["cols"]
    )


def control(tab: Any, name: str) -> Any:
    return tab.locator(f'.mnist-explorer [data-name="{name}"]')


def formula_size(tab: Any) -> int:
    text = tab.locator(".mnist-explorer-formula").inner_text()
    return int(text.rsplit("=", 1)[1])


def opened(browser: Any, page: str) -> Any:  # noqa: F811
    visit = open_page(browser, page, 1000)
    assert visit.errors == [] and visit.outside == [], (
        visit.errors,
        visit.outside,
    )
    tab = visit.tab
    assert tab.locator(".mnist-explorer").count() == 1, page
    # the frozen widget is gone from the page
    assert (
        tab.locator(
            'script[type="application/vnd.jupyter.widget-view+json"]'
        ).count()
        == 0
    )
    return tab


@pytest.mark.browser
def test_the_convolution_explorer_computes_ops_conv2d(browser) -> None:  # noqa: F811
    tab = opened(browser, "book/convolution.html")
    try:
        x = digits()[0]
        for name, kernel in ops.CLASSIC_KERNELS.items():
            control(tab, "kernel").select_option(name)
            # the nine boxes show 4 decimals and the map uses what they show,
            # as the widget does (1/9 -> 0.1111)
            shown = torch.round(kernel * 1e4) / 1e4
            want = ops.conv2d(x, shown.view(1, 1, 3, 3), padding=1)[0, 0]
            assert np.allclose(last(tab), want.numpy(), atol=TOLERANCE), name
        rng = np.random.default_rng(0)
        for trial in range(20):
            i = int(rng.integers(0, 20))
            w = np.round(rng.uniform(-2, 2, (3, 3)), 2)
            s, p, d = (int(v) for v in rng.integers((1, 0, 1), (5, 4, 4)))
            control(tab, "digit").select_option(str(i))
            for r in range(3):
                for c in range(3):
                    control(tab, f"w{r}{c}").fill(str(w[r, c]))
            for name, value in (
                ("stride", s),
                ("padding", p),
                ("dilation", d),
            ):
                control(tab, name).fill(str(value))
            want = ops.conv2d(
                digits()[i],
                torch.tensor(w, dtype=torch.float32).view(1, 1, 3, 3),
                stride=s,
                padding=p,
                dilation=d,
            )[0, 0]
            got = last(tab)
            setting = f"trial {trial}: digit {i}, s={s}, p={p}, d={d}, w={w}"
            assert got.shape == tuple(want.shape), setting
            assert np.allclose(got, want.numpy(), atol=TOLERANCE), setting
            assert formula_size(tab) == ops.conv_output_size(28, 3, s, p, d)
        assert control(tab, "kernel").input_value() == "custom"
    finally:
        tab.context.close()


@pytest.mark.browser
def test_the_pooling_explorer_computes_ops_pooling(browser) -> None:  # noqa: F811
    tab = opened(browser, "book/pooling.html")
    try:
        rng = np.random.default_rng(1)
        for trial in range(20):
            i = int(rng.integers(0, 20))
            mode = ("max", "average")[int(rng.integers(0, 2))]
            k, s = (int(v) for v in rng.integers(1, 8, 2))
            control(tab, "digit").select_option(str(i))
            control(tab, "mode").select_option(mode)
            control(tab, "window").fill(str(k))
            control(tab, "stride").fill(str(s))
            pool = ops.max_pool2d if mode == "max" else ops.avg_pool2d
            want = pool(digits()[i], k, s)[0, 0]
            got = last(tab)
            setting = f"trial {trial}: digit {i}, {mode}, k={k}, s={s}"
            assert got.shape == tuple(want.shape), setting
            assert np.allclose(got, want.numpy(), atol=TOLERANCE), setting
            assert formula_size(tab) == want.shape[0], setting
    finally:
        tab.context.close()


@pytest.mark.browser
@pytest.mark.parametrize(
    "page", ["book/convolution.html", "zh/convolution.html"]
)
def test_every_control_has_a_label_and_answers_the_keyboard(
    browser,  # noqa: F811
    page: str,
) -> None:
    tab = opened(browser, page)
    try:
        unlabelled = tab.evaluate(
            """() => [...document.querySelectorAll('.mnist-explorer input, .mnist-explorer select')]
                 .filter(e => !(e.labels.length || e.getAttribute('aria-label')))
                 .map(e => e.outerHTML)"""
        )
        assert unlabelled == []
        assert last(tab).shape == (28, 28)
        control(tab, "stride").focus()
        tab.keyboard.press("ArrowUp")  # stride 1 -> 2
        assert last(tab).shape == (14, 14)
        labels = tab.locator(".mnist-explorer-controls").inner_text()
        words = (
            ("步幅", "填充", "膨胀")
            if page.startswith("zh/")
            else (
                "stride",
                "padding",
                "dilation",
            )
        )
        assert all(w in labels for w in words), labels
        kernels = tab.evaluate(
            """() => [...document.querySelectorAll('.mnist-explorer [data-name="kernel"] option')]
                 .map(o => o.textContent)"""
        )
        assert ("锐化（sharpen）" in kernels) == page.startswith("zh/"), (
            kernels
        )
    finally:
        tab.context.close()


@pytest.mark.browser
@pytest.mark.parametrize(
    "page",
    [
        "book/convolution.html",
        "book/pooling.html",
        "zh/convolution.html",
        "zh/pooling.html",
    ],
)
@pytest.mark.parametrize("width", [1000, 375])
def test_the_explorer_fits_the_screen(browser, page: str, width: int) -> None:  # noqa: F811
    """On a desktop and on a phone (375 px) no part of the explorer is wider
    than the screen; a screenshot of each lands in _build/screenshots/."""
    visit = open_page(browser, page, width)
    try:
        box = visit.tab.locator(".mnist-explorer")
        overflow = visit.tab.evaluate(
            """() => [...document.querySelectorAll('.mnist-explorer *')]
                 .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                 .map(e => e.tagName + '.' + e.className)"""
        )
        assert overflow == [], overflow
        edition = page.split("/")[0]
        name = Path(page).stem
        shots = HTML.parent / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        box.screenshot(
            path=str(shots / f"explorer-{edition}-{name}-{width}.png")
        )
    finally:
        visit.tab.context.close()

"""Draw a digit in the HTML book: the page prepares a drawing as ``preprocess.to_mnist`` does and
runs the chapter's network as PyTorch does.

``_ext/explorers.py`` replaces the photo upload of "Applications" with ``assets/draw.js`` and
writes the network's weights (:func:`mnist_cnn.deploy.page_weights`, stored in the notebook's
output by the run that built the page) into ``_static/draw-weights.js``. Without a browser
(``make test``): the weights go out and come back unchanged, and the notebook's weights give the
logits that run stored. In Chromium (``make browser-test``), offline: for 50 MNIST test digits
put on the canvas at random sizes and places, the page's 28x28 equals ``to_mnist``'s on the same
pixels (at most 1 grey level apart; in practice equal) and its ten logits equal PyTorch's on the
page's 28x28 within 1e-4, with the same prediction; a mouse stroke and a touch stroke at 375 px
are read; the weights load only when a reader draws; the select answers the keyboard; the
Chinese edition labels the widget in Chinese. Screenshots and the timings land in
``_build/screenshots/``.
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
from PIL import Image

from mnist_cnn import data, deploy, models, paths, preprocess, training
from tests.test_html import HTML, SHOTS, browser, open_page  # noqa: F401 (fixture)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))
import explorers  # noqa: E402

SIDE = 280  # the canvas, as assets/draw.js
LOGIT_TOLERANCE = 1e-4  # the page adds in float64, PyTorch in float32
REPORT = SHOTS / "draw-report.json"


def random_book_cnn(seed: int) -> torch.nn.Module:
    """A BookCNN whose batch norms are not the identity."""
    torch.manual_seed(seed)
    model = models.BookCNN()
    for bn in model.modules():
        if isinstance(bn, torch.nn.BatchNorm2d):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.data.uniform_(0.5, 1.5)
            bn.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


def test_the_page_weights_come_back_unchanged() -> None:
    model = random_book_cnn(0)
    mnist = data.load_mnist()
    images, labels = mnist.test_images[:4], mnist.test_labels[:4]
    payload = deploy.page_weights(model, 0.13, 0.31, images, labels, {})
    back, mean, std = deploy.model_from_page_weights(payload)
    assert (mean, std) == (0.13, 0.31)
    for name, value in model.state_dict().items():
        assert torch.equal(back.state_dict()[name], value), name
    logits = training.predict_logits(model, images, mean, std)
    assert torch.equal(torch.tensor(payload["logits"]), logits)
    assert payload["labels"] == labels.tolist()


def test_page_weights_name_what_does_not_fit() -> None:
    payload = deploy.page_weights(
        random_book_cnn(1),
        0.1,
        0.3,
        torch.zeros(1, 28, 28, dtype=torch.uint8),
        torch.zeros(1),
        {},
    )
    tensors = payload["tensors"]
    payload["tensors"] = tensors[:-1]  # head.fc.bias left out
    with pytest.raises(ValueError, match=r"\['head\.fc\.bias'\] missing"):
        deploy.model_from_page_weights(payload)
    payload["tensors"] = tensors[1:]  # block1.conv.weight left out
    with pytest.raises(ValueError, match=r"block1\.conv\.weight"):
        deploy.model_from_page_weights(payload)


@cache
def book_network() -> tuple[torch.nn.Module, float, float]:
    return deploy.model_from_page_weights(explorers.page_weights())


def test_the_notebooks_weights_give_the_logits_its_run_stored() -> None:
    """The weights book/applications.ipynb stored are those of the run whose
    outputs the page shows: they give the logits that run computed, and the
    accuracy the page names is the one the chapter glues."""
    payload = explorers.page_weights()
    model, mean, std = book_network()
    mnist = data.load_mnist()
    n = len(payload["labels"])
    images = (
        np.frombuffer(base64.b64decode(payload["images"]), np.uint8)
        .reshape(n, 28, 28)
        .copy()
    )
    assert np.array_equal(images, mnist.test_images[:n].numpy())
    assert payload["labels"] == mnist.test_labels[:n].tolist()
    logits = training.predict_logits(
        model, torch.from_numpy(images), mean, std
    )
    assert torch.allclose(logits, torch.tensor(payload["logits"]), atol=1e-5)
    notebook = json.loads(paths.book("applications.ipynb").read_text())
    glued = [
        out["data"]["application/papermill.record/text/plain"]
        for cell in notebook["cells"]
        for out in cell.get("outputs", [])
        if out.get("metadata", {}).get("scrapbook", {}).get("name")
        == "test_acc"
    ]
    assert glued == [str(payload["about"]["acc"])]
    html = explorers.explorer_html("draw", "en")
    assert f"{payload['about']['acc']} % test accuracy" in html
    assert payload["about"]["checkpoint"] in html


# --- in Chromium ---------------------------------------------------------------------------


def canvas_image(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A (280, 280) uint8 drawing: ``digit`` (28x28, ink bright) as dark ink
    on white, scaled 4x to 10x (pixelated or smooth) at a random place."""
    scale = int(rng.integers(4, 11))
    how = Image.NEAREST if rng.integers(2) else Image.BILINEAR
    side = 28 * scale
    big = np.asarray(Image.fromarray(255 - digit).resize((side, side), how))
    image = np.full((SIDE, SIDE), 255, np.uint8)
    top, left = (int(v) for v in rng.integers(0, SIDE - side + 1, 2))
    image[top : top + side, left : left + side] = big
    return image


PUT = """async ([pixels]) => {
  const el = document.querySelector('.mnist-draw');
  const last = await el.mnistDraw.put(pixels, 280, 280);
  return {grey: Array.from(last.grey, v => Math.round(v * 255)),
          prepared: last.prepared && Array.from(last.prepared), logits: last.logits};
}"""
LAST = """() => {
  const last = document.querySelector('.mnist-draw').mnistDraw.last;
  return last && {grey: Array.from(last.grey, v => Math.round(v * 255)),
                  prepared: last.prepared && Array.from(last.prepared),
                  logits: last.logits, ms: last.ms};
}"""


def check_against_python(result: dict[str, Any]) -> tuple[int, float]:
    """The page's 28x28 against to_mnist on the page's own pixels, and its
    logits against PyTorch on the page's 28x28: (largest grey-level
    difference, largest logit difference); predictions must agree."""
    model, mean, std = book_network()
    grey = np.array(result["grey"], np.float64).reshape(SIDE, SIDE) / 255
    want = preprocess.to_mnist(grey).numpy().astype(int)
    page = np.array(result["prepared"]).reshape(28, 28)
    levels = int(np.abs(page - want).max())
    assert levels <= 1, levels
    page_t = torch.from_numpy(page.astype(np.uint8))[None]
    logits = training.predict_logits(model, page_t, mean, std)[0]
    ours = torch.tensor(result["logits"], dtype=torch.float32)
    gap = float((logits - ours).abs().max())
    assert gap <= LOGIT_TOLERANCE, gap
    python = training.predict_logits(
        model, torch.from_numpy(want.astype(np.uint8))[None], mean, std
    )
    assert int(ours.argmax()) == int(python.argmax())
    return levels, gap


def opened(browser: Any, page: str, width: int, touch: bool = False) -> Any:  # noqa: F811
    visit = open_page(browser, page, width, touch=touch)
    tab = visit.tab
    assert tab.locator(".mnist-draw canvas.mnist-draw-canvas").count() == 1
    # nothing heavy before a reader draws: the weights are not loaded yet
    assert tab.evaluate("() => window.MNIST_CNN_PAGE_WEIGHTS === undefined")
    assert tab.locator('script[src*="draw-weights"]').count() == 0
    return visit


def report(**figures: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    old = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    REPORT.write_text(json.dumps({**old, **figures}, indent=1))


@pytest.mark.browser
def test_the_page_reads_50_test_digits_as_pytorch_does(browser) -> None:  # noqa: F811
    visit = opened(browser, "book/applications.html", 1000)
    tab = visit.tab
    try:
        mnist = data.load_mnist()
        rng = np.random.default_rng(0)
        worst_levels, worst_gap = 0, 0.0
        for i in range(10, 60):
            image = canvas_image(mnist.test_images[i].numpy(), rng)
            result = tab.evaluate(PUT, [image.flatten().tolist()])
            # what the canvas holds is what was put there
            assert np.array_equal(np.array(result["grey"]), image.flatten())
            levels, gap = check_against_python(result)
            worst_levels, worst_gap = (
                max(worst_levels, levels),
                max(worst_gap, gap),
            )
        report(
            digits=50,
            largest_grey_level_difference=worst_levels,
            largest_logit_difference=worst_gap,
        )
        assert visit.errors == [] and visit.outside == [], visit.errors
    finally:
        tab.context.close()


def stroke_points(box: dict[str, float]) -> list[tuple[float, float]]:
    """A "7": a bar along the top, then down to the bottom left."""
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    corners = [(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]
    points = []
    for (a, b), (c, d) in zip(corners, corners[1:]):
        for t in np.linspace(0, 1, 12):
            points.append(
                (x + w * (a + (c - a) * t), y + h * (b + (d - b) * t))
            )
    return points


def mouse_stroke(tab: Any, pad: Any) -> None:
    points = stroke_points(pad.bounding_box())
    tab.mouse.move(*points[0])
    tab.mouse.down()
    for p in points[1:]:
        tab.mouse.move(*p)
    tab.mouse.up()


def read_after_stroke(tab: Any) -> dict[str, Any]:
    tab.wait_for_function(
        "() => { const l = document.querySelector('.mnist-draw').mnistDraw.last;"
        " return l && l.logits && l.ms !== undefined; }"
    )
    result = tab.evaluate(LAST)
    check_against_python(result)
    return result


@pytest.mark.browser
def test_a_mouse_stroke_is_read_and_timed(browser) -> None:  # noqa: F811
    visit = opened(browser, "book/applications.html", 1000)
    tab = visit.tab
    try:
        pad = tab.locator(".mnist-draw-canvas")
        pad.scroll_into_view_if_needed()
        times = []
        for _ in range(2):  # the first stroke also loads the weights
            tab.locator(".mnist-draw button").click()
            tab.evaluate(
                "() => { document.querySelector('.mnist-draw').mnistDraw.last = null; }"
            )
            mouse_stroke(tab, pad)
            times.append(read_after_stroke(tab)["ms"])
        status = tab.locator(".mnist-draw-status").inner_text()
        assert status.startswith("The network reads a "), status
        assert tab.locator(".mnist-draw-maps canvas").count() == 16 + 32 + 32
        report(
            first_stroke_to_prediction_ms=round(times[0], 1),
            stroke_to_prediction_ms=round(times[1], 1),
        )
        tab.locator(".mnist-draw").screenshot(
            path=str(SHOTS / "draw-en-desktop.png")
        )
        assert visit.errors == [] and visit.outside == [], visit.errors
    finally:
        tab.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("edition", ["book", "zh"])
def test_a_touch_stroke_is_read_on_a_phone(browser, edition: str) -> None:  # noqa: F811
    visit = opened(browser, f"{edition}/applications.html", 375, touch=True)
    tab = visit.tab
    try:
        pad = tab.locator(".mnist-draw-canvas")
        pad.scroll_into_view_if_needed()
        box = pad.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
        cdp = tab.context.new_cdp_session(tab)
        points = stroke_points(box)
        for kind, (x, y) in [("touchStart", points[0])] + [
            ("touchMove", p) for p in points[1:]
        ]:
            cdp.send(
                "Input.dispatchTouchEvent",
                {"type": kind, "touchPoints": [{"x": x, "y": y}]},
            )
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []}
        )
        read_after_stroke(tab)
        words = {
            "book": ("Clear", "The network reads a "),
            "zh": ("清除", "网络认为这是 "),
        }
        clear, reads = words[edition]
        assert tab.locator(".mnist-draw button").inner_text() == clear
        assert tab.locator(".mnist-draw-status").inner_text().startswith(reads)
        if edition == "zh":
            assert (
                "测试准确率" in tab.locator(".mnist-draw-about").inner_text()
            )
        lang = "en" if edition == "book" else "zh"
        tab.locator(".mnist-draw").screenshot(
            path=str(SHOTS / f"draw-{lang}-phone.png")
        )
        assert visit.errors == [] and visit.outside == [], visit.errors
    finally:
        tab.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("edition", ["book", "zh"])
def test_a_test_digit_is_chosen_with_the_keyboard(
    browser,  # noqa: F811
    edition: str,
) -> None:
    visit = opened(browser, f"{edition}/applications.html", 1000)
    tab = visit.tab
    try:
        pick = tab.locator(".mnist-draw select")
        assert (
            tab.evaluate(
                "() => document.querySelector('.mnist-draw select').labels.length"
            )
            == 1
        )
        assert tab.locator(".mnist-draw-canvas").get_attribute("aria-label")
        pick.focus()  # focusing loads the weights and fills the menu
        tab.wait_for_function(
            "() => document.querySelectorAll('.mnist-draw select option').length == 11"
        )
        tab.keyboard.press("ArrowDown")  # test digit #0
        result = read_after_stroke(tab)
        stored = explorers.page_weights()["logits"][0]
        assert int(np.argmax(result["logits"])) == int(np.argmax(stored))
        if edition == "zh":
            tab.locator(".mnist-draw").screenshot(
                path=str(SHOTS / "draw-zh-desktop.png")
            )
        assert visit.errors == [] and visit.outside == [], visit.errors
    finally:
        tab.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("edition", ["book", "zh"])
def test_the_book_starts_with_a_small_canvas(browser, edition: str) -> None:  # noqa: F811
    """The first page: the same network and steps, without the feature
    maps."""
    visit = opened(browser, f"{edition}/intro.html", 1000)
    tab = visit.tab
    try:
        assert tab.locator(".mnist-draw[data-small]").count() == 1
        pad = tab.locator(".mnist-draw-canvas")
        pad.scroll_into_view_if_needed()
        mouse_stroke(tab, pad)
        read_after_stroke(tab)
        assert tab.locator(".mnist-draw-layers").count() == 0
        lang = "en" if edition == "book" else "zh"
        tab.locator(".mnist-draw").screenshot(
            path=str(SHOTS / f"draw-{lang}-intro.png")
        )
        assert visit.errors == [] and visit.outside == [], visit.errors
    finally:
        tab.context.close()

"""The PDFs of both editions (``make pdf`` writes and then runs this):
read back with poppler's pdftotext and pdftoppm, they hold every chapter,
typeset formulas, glued numbers, Chinese text, working links and no blank
page."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import processes

ROOT = Path(__file__).resolve().parents[1]
PDF = ROOT / "_build" / "pdf"
EDITIONS = {"en": ROOT / "book", "zh": ROOT / "book" / "zh"}
CJK = re.compile(r"[\u4e00-\u9fff]")

pytestmark = pytest.mark.pdf


def pdf(edition: str) -> Path:
    path = PDF / f"cnn-from-scratch-{edition}.pdf"
    if not path.is_file():
        pytest.fail(f"{path} not found: run `make pdf`")
    return path


def text(edition: str) -> str:
    done = processes.run(
        # -raw: in the order drawn (else a run of CJK glyphs in an English
        # heading comes out on a line of its own)
        ["pdftotext", "-raw", "-enc", "UTF-8", str(pdf(edition)), "-"]
    )
    return done.stdout


def squeeze(s: str) -> str:
    """Text without white space: pdftotext breaks lines where it likes."""
    return re.sub(r"\s+", "", s)


def chapter_titles(edition: str) -> list[str]:
    """The first heading of every page of the edition, from its sources."""
    toc = [
        line.split("book/")[-1].strip()
        for line in (ROOT / "_toc.yml").read_text().splitlines()
        if "file: book/" in line
    ]
    titles = []
    for name in toc:
        folder = EDITIONS[edition]
        md = folder / f"{name}.md"
        if md.is_file():
            source = md.read_text()
        else:
            cells = json.loads((folder / f"{name}.ipynb").read_text())["cells"]
            source = "".join(cells[0]["source"])
        heading = next(ln for ln in source.splitlines() if ln.startswith("# "))
        titles.append(heading[2:].strip())
    return titles


def glued(notebook: str, key: str) -> str:
    """A glued number as the prose prints it: its stored value in the format
    of the page's first {glue:text}`key:format`."""
    nb = json.loads((ROOT / "book" / notebook).read_text())
    prose = "".join(
        "".join(c["source"])
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
    )
    spec = re.search(r"\{glue:text\}`" + key + r"(?::([^`]*))?`", prose)
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook", {})
            if meta.get("name") == key:
                data = out["data"]
                raw = data.get("text/plain") or next(iter(data.values()))
                value = float("".join(raw))
                fmt = spec.group(1) or ""
                if value.is_integer() and not fmt.endswith(("f", "%")):
                    return format(int(value), fmt)
                return format(value, fmt)
    raise KeyError(key)


@pytest.mark.parametrize("edition", sorted(EDITIONS))
def test_every_chapter_title_is_in_the_pdf(edition: str) -> None:
    body = squeeze(text(edition))
    missing = [t for t in chapter_titles(edition) if squeeze(t) not in body]
    assert not missing, missing


@pytest.mark.parametrize("edition", sorted(EDITIONS))
def test_page_count_and_no_blank_page(edition: str) -> None:
    info = processes.run(["pdfinfo", str(pdf(edition))]).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 100 <= pages <= 800, pages
    assert "A4" in info
    with tempfile.TemporaryDirectory() as tmp:
        processes.run(
            ["pdftoppm", "-r", "12", "-gray", str(pdf(edition)), f"{tmp}/p"]
        )
        images = sorted(Path(tmp).glob("p-*.pgm"))
        assert len(images) == pages
        blank = []
        for i, path in enumerate(images, start=1):
            page = Image.open(path)
            w, h = page.size
            # above the footer (the page number is on every page)
            body = page.crop((0, 0, w, h - h * 6 // 100))
            if body.getextrema()[0] > 200:
                blank.append(i)
    assert not blank, f"blank pages: {blank}"


@pytest.mark.parametrize("edition", sorted(EDITIONS))
def test_formulas_are_typeset_and_numbers_glued(edition: str) -> None:
    body = text(edition)
    # the output-size formula of the chapter Convolution, as MathJax set it
    assert "⌊(H + 2p − d(k − 1) − 1)/s⌋" in body
    # numbers the notebooks computed, glued into the prose of both editions
    for notebook, key in [
        ("data.ipynb", "n_train"),
        ("training.ipynb", "article_test_acc"),
    ]:
        value = glued(notebook, key)
        assert squeeze(value) in squeeze(body), (notebook, key, value)


@pytest.mark.parametrize("edition", sorted(EDITIONS))
def test_links_inside_the_pdf(edition: str) -> None:
    raw = pdf(edition).read_bytes()
    # cross-references, citations and the contents: named destinations
    assert raw.count(b"/Dest ") > 300
    assert b"/Outlines" in raw  # the bookmarks panel


def test_chinese_is_text_in_the_chinese_pdf() -> None:
    zh, en = text("zh"), text("en")
    # the English quotes the article and lists the Chinese terms
    assert len(CJK.findall(zh)) > 10 * len(CJK.findall(en))
    for word in ["卷积", "池化", "微调", "过拟合", "勘误"]:
        assert word in zh
    assert "\ufffd" not in zh  # no replacement characters (boxes)


def chapter_starts(edition: str) -> set[int]:
    """The pages (from 1) on which a chapter begins: where its anchor,
    ``document-<name>``, a named destination of the PDF, points."""
    dests = processes.run(["pdfinfo", "-dests", str(pdf(edition))]).stdout
    return {
        int(line.split()[0])
        for line in dests.splitlines()
        if '"document-' in line
    }


@pytest.mark.parametrize("edition", sorted(EDITIONS))
def test_no_page_inside_a_chapter_is_a_third_empty(edition: str) -> None:
    """A code cell or a figure that does not fit the rest of a page moves
    whole to the next one only if that leaves at most a third of the page
    empty; the last page of a chapter may end where it likes."""
    starts = chapter_starts(edition)
    # every chapter after the introduction, which opens the book
    assert len(starts) == len(chapter_titles(edition)), sorted(starts)
    with tempfile.TemporaryDirectory() as tmp:
        processes.run(
            ["pdftoppm", "-r", "20", "-gray", str(pdf(edition)), f"{tmp}/p"]
        )
        images = sorted(Path(tmp).glob("p-*.pgm"))
        empty = []
        for i, path in enumerate(images, start=1):
            if i + 1 in starts or i < min(starts) or i == len(images):
                continue  # a chapter's last page, the title and contents
            page = Image.open(path)
            w, h = page.size
            top, bottom = h * 5 // 100, h - h * 7 // 100  # the text block
            body = np.asarray(page.crop((0, top, w, bottom))) < 200
            rows = np.nonzero(body.any(axis=1))[0]
            last = rows.max() if rows.size else 0
            share = 1 - (last + 1) / body.shape[0]
            if share > 1 / 3:
                empty.append(f"page {i}: {share:.0%} empty")
    assert not empty, empty

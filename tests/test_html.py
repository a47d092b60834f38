"""The built HTML book read in a real browser with no network (``make browser-test``).

Every page of ``_build/html`` is opened from ``file://`` in Debian's Chromium, driven headless by
Playwright. Any request that leaves the build folder is answered with an error (and recorded), so a
page that would need the network fails here exactly as it would offline. Per page: no request
outside the build, no failed request, no console error, every formula typeset by MathJax, every
diagram an SVG, every image decoded, no frozen widget. A screenshot of each page lands in
``_build/screenshots/`` for a person to look at.

On a phone (375 px) and a small tablet (700 px): no page is wider than the screen, the chapter
menu and "On this page" open from their buttons, and a search over ``file://`` lists results
with excerpts. Chromium is ``$CHROMIUM`` or the first of chromium, chromium-browser,
google-chrome on PATH (the lookup the build uses for the diagrams, _ext/offline_html.py).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
from offline_html import (  # noqa: E402
    chromium_missing,
    find_chromium,
    page_text,
)

pytestmark = pytest.mark.browser

HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = find_chromium() or ""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pages() -> list[str]:
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if "_static" not in p.parts
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (HTML / "index.html").is_file():
        pytest.fail(
            f"no built book in {HTML}: run `make book` first, then `make browser-test`"
        )
    if not CHROMIUM:
        pytest.fail(chromium_missing())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def test_chromium_lookup(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """$CHROMIUM first, then chromium, chromium-browser, google-chrome on
    PATH (the Makefile's order too); a CHROMIUM that is not an executable
    is an error that names it, not a silent fall-back."""
    for name in ("chromium-browser", "google-chrome"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CHROMIUM", raising=False)
    assert find_chromium() == str(tmp_path / "chromium-browser")
    monkeypatch.setenv("CHROMIUM", "google-chrome")
    assert find_chromium() == str(tmp_path / "google-chrome")
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "nowhere"))
    assert find_chromium() is None
    assert f"CHROMIUM={tmp_path / 'nowhere'} is not an executable" in (
        chromium_missing()
    )
    monkeypatch.delenv("CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_chromium() is None
    assert "chromium, chromium-browser, google-chrome" in chromium_missing()


def inside_build(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    if parsed.scheme != "file":
        return False
    return Path(unquote(parsed.path)).resolve().is_relative_to(HTML.resolve())


@dataclass
class Visit:
    """A page of the book open in a browser tab with the network cut off, and
    what it did: requests that left the build, failed requests, console
    errors and warnings (uncaught exceptions included)."""

    tab: Any
    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def open_page(
    browser: Any,
    page: str,
    width: int,
    height: int = 900,
    query: str = "",
    touch: bool = False,
) -> Visit:
    """Open ``page`` (``?query`` appended) from file:// in a new context
    ``width`` x ``height`` px (a touch screen if ``touch``); return once its
    formulas are typeset and the network is idle. The caller closes
    ``visit.tab.context``."""
    context = browser.new_context(
        viewport={"width": width, "height": height},
        has_touch=touch,
        is_mobile=touch,
    )
    seen = Visit(context.new_page())

    def route(route, request) -> None:  # type: ignore[no-untyped-def]
        if inside_build(request.url):
            route.continue_()
        else:
            seen.outside.append(request.url)
            route.abort("internetdisconnected")

    context.route("**/*", route)
    tab = seen.tab
    tab.on(
        "requestfailed", lambda r: seen.failed.append(f"{r.url} ({r.failure})")
    )
    tab.on(
        "console",
        lambda m: (
            seen.errors.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    tab.on("pageerror", lambda e: seen.errors.append(f"uncaught: {e}"))
    tab.goto((HTML / page).as_uri() + query, wait_until="load")

    # MathJax 3 typesets after load: wait for it, then look at the result
    has_mathjax = tab.evaluate(
        "() => !!document.querySelector('script[src*=\"mathjax\"]')"
    )
    if has_mathjax:
        tab.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
            timeout=20_000,
        )
        tab.evaluate("() => MathJax.startup.promise")
    tab.wait_for_load_state("networkidle")
    return seen


def test_search_excerpts_show_formulas_as_text(tmp_path: Path) -> None:
    """The text the search's excerpts come from reads a formula the way the
    page shows it, not as TeX."""
    page = tmp_path / "page.html"
    page.write_text(
        '<article class="bd-article"><p>An input '
        '<span class="math">\\(x\\)</span> of shape '
        '<span class="math">\\((C_\\text{in}, H, W)\\)</span>; '
        '<div class="math">\\[y_{i,j} = \\frac{1}{k^2} \\sum_{m} '
        "\\alpha \\cdot x_{i+m} \\le 0\\]</div></p></article>"
    )
    assert page_text(page) == (
        '<div role="main">An input x of shape (C_in, H, W); '
        "y_(i,j) = (1)/(k^2) Σ_m α · x_(i+m) ≤ 0</div>"
    )


def test_every_page_was_built() -> None:
    """The pages this test opens are the book's: one per chapter of _toc.yml, plus the index pages."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [toc["root"]] + [
        c["file"] for part in toc["parts"] for c in part["chapters"]
    ]
    built = set(pages())
    missing = [c for c in chapters if f"{c}.html" not in built]
    assert not missing, (
        f"chapters without a page in {HTML}: {missing} (run `make book`)"
    )


def test_no_tab_title_repeats_the_books_name() -> None:
    """Each page's <title> names the book once: "Pooling — NAME", and the
    home page just "NAME", not "NAME — NAME"."""
    repeated = []
    for page in pages():
        found = re.search(r"<title>(.*?)</title>", (HTML / page).read_text())
        parts = found[1].split(" &#8212; ") if found else []
        if len(parts) == 2 and parts[0] == parts[1]:
            repeated.append(f"{page}: {found[1]}")
    assert repeated == []


@pytest.mark.parametrize("page", pages() or ["index.html"])
def test_page_reads_offline(browser, page: str) -> None:  # type: ignore[no-untyped-def]
    redirect = re.search(
        r'http-equiv="Refresh" content="0; url=([^"]+)"',
        (HTML / page).read_text(),
    )
    if redirect:  # index.html only forwards to the first chapter
        assert ((HTML / page).parent / redirect.group(1)).is_file(), (
            f"{page} forwards to a missing page"
        )
        return
    seen = open_page(browser, page, width=1280)
    browser_page, context = seen.tab, seen.tab.context
    outside, failed, console_errors = seen.outside, seen.failed, seen.errors

    report = browser_page.evaluate(
        """() => {
        const maths = [...document.querySelectorAll('div.math, span.math')];
        const objects = [...document.querySelectorAll('object[type="image/svg+xml"]')];
        const text = document.querySelector('main') ? document.querySelector('main').innerText : document.body.innerText;
        return {
          maths: maths.length,
          typeset: maths.filter(m => m.querySelector('mjx-container')).length,
          raw_tex: (text.match(/\\$\\$|\\\\\\[|\\\\\\(|\\\\frac|\\\\sum/g) || []).length,
          images: [...document.images].map(i => ({src: i.currentSrc || i.src, w: i.naturalWidth, ok: i.complete, alt: i.alt})),
          diagrams: objects.map(o => ({data: o.getAttribute('data'), h: o.getBoundingClientRect().height})),
          mermaid_source: document.querySelectorAll('pre.mermaid, div.mermaid').length,
          // a widget's saved output or state: it cannot answer a click here
          // (_ext/explorers.py replaces each)
          frozen_widgets: document.querySelectorAll('script[type^="application/vnd.jupyter.widget"]').length,
          launch: [...document.querySelectorAll('a[href*="colab.research.google.com"], a[href*="mybinder.org"]')].map(a => a.href),
          // code the page shows (cells, included functions) and printed outputs alike
          scrolling: [...document.querySelectorAll('div.highlight pre')]
            .filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth)
            .map(p => ({first: p.innerText.split('\\n').find(l => l.length > 0) || '',
                        longest: Math.max(...p.innerText.split('\\n').map(l => l.length)),
                        over: p.scrollWidth - p.clientWidth})),
          small_figures: [...document.querySelectorAll('div.cell_output img')]
            .filter(i => i.naturalWidth > 0 && i.clientWidth < 0.9 * i.naturalWidth)
            .map(i => ({src: i.currentSrc.split('/').pop(), shown: i.clientWidth, natural: i.naturalWidth})),
        };
    }"""
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser_page.screenshot(
        path=str(
            SHOTS / (page.replace("/", "__").removesuffix(".html") + ".png")
        ),
        full_page=True,
    )
    context.close()

    assert outside == [], (
        f"{page} asked for {len(outside)} resource(s) outside the build: {outside[:5]}"
    )
    assert failed == [], f"{page}: failed requests {failed[:5]}"
    assert console_errors == [], f"{page}: console errors {console_errors[:5]}"
    assert report["typeset"] == report["maths"], (
        f"{page}: {report['maths'] - report['typeset']} formula(s) not typeset"
    )
    assert report["raw_tex"] == 0, (
        f"{page}: TeX source visible in the text ({report['raw_tex']} places)"
    )
    broken = [
        i["src"] for i in report["images"] if not (i["ok"] and i["w"] > 0)
    ]
    assert broken == [], f"{page}: images that did not load: {broken[:5]}"
    # a figure says what it shows (a code cell's mystnb.image.alt; Sphinx
    # falls back to the file's path)
    unnamed = [
        i["src"]
        for i in report["images"]
        if not i["alt"] or "_images/" in i["alt"]
    ]
    assert unnamed == [], (
        f"{page}: figures without alternative text: {unnamed[:5]}"
    )
    assert report["mermaid_source"] == 0, (
        f"{page}: mermaid left as source text (not rendered at build time)"
    )
    for diagram in report["diagrams"]:
        svg = (HTML / page).parent / diagram["data"]
        assert svg.is_file(), (
            f"{page}: diagram {diagram['data']} missing from the build"
        )
        assert re.search(r"<svg[^>]*>.*<g", svg.read_text(), re.S), (
            f"{page}: {svg.name} is not a drawn SVG"
        )
        assert diagram["h"] > 100, (
            f"{page}: diagram {svg.name} drawn {diagram['h']:.0f} px high"
        )
        for link in re.findall(
            r'xlink:href="([^"#]+)"', svg.read_text()
        ):  # resolved from the SVG, which the page embeds as an <object>
            assert (svg.parent / link).is_file(), (
                f"{page}: diagram link {link} leads nowhere"
            )
    assert report["frozen_widgets"] == 0, f"{page}: a frozen widget"
    if (
        ROOT / page.replace(".html", ".ipynb")
    ).is_file():  # a chapter that is a notebook: open it live
        assert any(
            "colab.research.google.com" in u for u in report["launch"]
        ), f"{page}: no Colab launch button"
        assert any("mybinder.org" in u for u in report["launch"]), (
            f"{page}: no Binder launch button"
        )
    assert report["scrolling"] == [], (
        f"{page}: {len(report['scrolling'])} code block(s) scroll sideways at 1280 px "
        f"(the book's column holds 79 characters): {report['scrolling'][:3]}"
    )
    # a figure shrunk to fit the column shrinks its text with it (test_plots.py
    # checks the text sizes of a figure drawn at its own size)
    assert report["small_figures"] == [], (
        f"{page}: figures drawn below 90 % of their size: "
        f"{report['small_figures'][:3]}"
    )


# --------------------------------------------------------------- narrow screens

PHONE, TABLET = 375, 700  # px wide: a phone held upright, a small tablet
# Pages with the widest content (API signatures, the index's columns, long
# code and headings, formulas), and whether each has "On this page"
MENU_PAGES = {
    "book/api.html": True,
    "book/applications.html": True,
    "book/convolution.html": True,
    "genindex.html": False,
}
# (button, the dialog it opens, what the reader wants to see in it)
SIDEBARS = {
    "chapter menu": (
        "primary-toggle",
        "#pst-primary-sidebar-modal",
        "nav.bd-docs-nav a.reference",
    ),
    "On this page": (
        "secondary-toggle",
        "#pst-secondary-sidebar-modal",
        "nav.page-toc a.reference",
    ),
}
# What sticks out on the right of the screen with no scrolling box around it:
# the deepest such elements, for the failure message
STICKING_OUT = """(w) => {
  const clipped = (e) => {
    for (let a = e; a && a !== document.body; a = a.parentElement)
      if (a !== e && getComputedStyle(a).overflowX !== 'visible') return true;
    return false;
  };
  const out = (e) => e.getBoundingClientRect().right > w + 0.5 &&
    getComputedStyle(e).visibility !== 'hidden' && !clipped(e);
  const name = (e) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}`;
  const boxes = [...document.querySelectorAll('body *')]
    .filter(e => out(e) && ![...e.children].some(out))
    .map(e => `${name(e)} "${(e.innerText || '').slice(0, 40)}"` +
      ` to ${Math.round(e.getBoundingClientRect().right)} px`);
  // text that runs out of its (narrower) box
  const texts = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t = walk.nextNode(); t; t = walk.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(t);
    const right = range.getBoundingClientRect().right;
    const box = t.parentElement;
    if (right > w + 0.5 && getComputedStyle(box).overflowX === 'visible' &&
        !clipped(box) && !out(box))
      texts.push(`text in ${name(box)} "${t.data.trim().slice(0, 40)}"` +
        ` to ${Math.round(right)} px`);
  }
  return boxes.concat(texts);
}"""


def forwards(page: str) -> bool:
    """Whether a page only forwards to another (index.html)."""
    return 'http-equiv="Refresh"' in (HTML / page).read_text()


def inside_viewport(
    box: dict[str, float] | None, width: int, height: int
) -> bool:
    return (
        box is not None
        and box["width"] > 0
        and box["height"] > 0
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= width + 0.5
        and box["y"] + box["height"] <= height + 0.5
    )


@pytest.mark.parametrize(
    "page", [p for p in pages() if not forwards(p)] or ["book/intro.html"]
)
def test_page_fits_a_phone(browser, page: str) -> None:  # type: ignore[no-untyped-def]
    """At 375 px nothing widens the page: long code, tables, formulas and
    signatures scroll inside their own box or wrap."""
    seen = open_page(browser, page, width=PHONE, height=800)
    try:
        wide = seen.tab.evaluate("() => document.documentElement.scrollWidth")
        culprits = (
            seen.tab.evaluate(STICKING_OUT, PHONE) if wide > PHONE else []
        )
    finally:
        seen.tab.context.close()
    assert wide <= PHONE, (
        f"{page} is {wide} px wide on a {PHONE} px screen (it scrolls "
        f"sideways); sticking out: {culprits[:4]}"
    )
    assert seen.errors == [], (
        f"{page} at {PHONE} px: console errors {seen.errors[:5]}"
    )


@pytest.mark.parametrize("width", [PHONE, TABLET])
@pytest.mark.parametrize("page", sorted(MENU_PAGES))
def test_sidebars_open_on_narrow_screens(
    browser, page: str, width: int
) -> None:  # type: ignore[no-untyped-def]
    """The chapter menu and "On this page" open from the buttons a reader
    sees, inside the screen, with their links visible; Escape closes them."""
    height = 800
    seen = open_page(browser, page, width=width, height=height)
    tab = seen.tab
    wanted = [n for n in SIDEBARS if MENU_PAGES[page] or n == "chapter menu"]
    problems = []
    try:
        wide = tab.evaluate("() => document.documentElement.scrollWidth")
        for name in wanted:
            kind, dialog, content = SIDEBARS[name]
            buttons = tab.locator(f"button.{kind}:visible")
            if buttons.count() != 1:
                problems.append(f"{buttons.count()} visible {name} buttons")
                continue
            box = buttons.bounding_box()
            if not inside_viewport(box, width, height):
                problems.append(f"{name} button outside the screen: {box}")
                continue
            buttons.click()
            tab.wait_for_timeout(300)  # the dialog's opening transition
            opened = tab.evaluate(
                f"() => document.querySelector('{dialog}').open"
            )
            link = tab.locator(f"{dialog} {content}").first
            if not (opened and link.count() and link.is_visible()):
                problems.append(f"{name}: the button opened nothing")
                continue
            for what, shown in (
                ("dialog", tab.locator(dialog).bounding_box()),
                ("first link", link.bounding_box()),
            ):
                if not inside_viewport(shown, width, height):
                    problems.append(
                        f"{name}: {what} outside the screen: {shown}"
                    )
            tab.keyboard.press("Escape")
            tab.wait_for_function(
                f"() => !document.querySelector('{dialog}').open"
            )
    finally:
        tab.context.close()
    assert problems == [], f"{page} at {width} px: {problems}"
    assert wide <= width, f"{page} is {wide} px wide on a {width} px screen"
    assert seen.errors == [], (
        f"{page} at {width} px: console errors {seen.errors[:5]}"
    )


def wait_for_search(tab) -> None:  # type: ignore[no-untyped-def]
    """Until searchtools.js has written its summary line (in the page's
    language), which it writes last."""
    tab.wait_for_function(
        "() => (document.querySelector('#search-results .search-summary')"
        "?.innerText || '').trim()",
        timeout=20_000,
    )


@pytest.mark.parametrize(
    "page",
    [p for p in pages() if p.endswith("search.html")] or ["search.html"],
)
def test_search_over_file_url(browser, page: str) -> None:  # type: ignore[no-untyped-def]
    """A search from file:// on a phone lists results, each with an excerpt
    that shows the word (Chromium forbids reading the pages themselves; the
    build ships their text), and logs no error. The Chinese edition is
    searched for a Chinese word (its index is cut into words by jieba)."""
    word = "卷积" if page.startswith("zh/") else "convolution"
    seen = open_page(
        browser, page, width=PHONE, height=800, query=f"?q={quote(word)}"
    )
    tab = seen.tab
    try:
        wait_for_search(tab)
        tab.wait_for_load_state("networkidle")
        results = tab.evaluate(
            """() => [...document.querySelectorAll('#search-results ul.search > li')]
            .map(li => ({title: li.querySelector('a').innerText,
                         excerpt: li.querySelector('p.context')?.innerText || ''}))"""
        )
        wide = tab.evaluate("() => document.documentElement.scrollWidth")
    finally:
        tab.context.close()
    assert seen.outside == [], (
        f"{page}: requests outside the build {seen.outside[:5]}"
    )
    assert seen.errors == [], f"{page}: console errors {seen.errors[:5]}"
    assert seen.failed == [], f"{page}: failed requests {seen.failed[:5]}"
    assert len(results) >= 3, f"{page}: {len(results)} results for {word!r}"
    excerpts = [r["excerpt"] for r in results if r["excerpt"]]
    assert len(excerpts) >= 3, (
        f"{page}: results without excerpts: {results[:3]}"
    )
    assert all(word[:6] in e.lower() for e in excerpts), (
        f"{page}: excerpts without the word: {excerpts[:3]}"
    )
    assert not any("\\(" in e or "\\text" in e for e in excerpts), excerpts
    assert wide <= PHONE, f"{page} with results is {wide} px wide"


# The article's three Mermaid diagrams of section 3.2, verbatim (errata, entry
# 25), and the first two with their labels quoted
ARTICLE_DIAGRAMS = {
    "data": """graph TD;
    A[Load MNIST Data] --> B[Split into Train/Test]
    B --> C[Normalize Images]
    C --> D[Reshape to [Batch, Channels, Height, Width]]
""",
    "model": """graph TD;
    A[Model Class] --> B[Conv Layer 1](kernel_size=3x3)
    B --> C[ReLU Activation]
    B --> D[Max Pooling Layer]
    D --> E[Conv Layer 2]
""",
    "loop": """graph TD;
    A[Input Data Batch] --> B[Forward Pass through Model]
    B --> C[Loss Calculation]
    C --> D[Backward Pass]
    D --> E[Update Model Parameters using Optimizer]
""",
}
QUOTED = {
    "data": ARTICLE_DIAGRAMS["data"].replace(
        "D[Reshape to [Batch, Channels, Height, Width]]",
        'D["Reshape to [Batch, Channels, Height, Width]"]',
    ),
    "model": ARTICLE_DIAGRAMS["model"].replace(
        "B[Conv Layer 1](kernel_size=3x3)",
        'B["Conv Layer 1 (kernel_size=3x3)"]',
    ),
}


def test_the_articles_diagrams_do_not_parse(tmp_path: Path) -> None:
    """The book's Mermaid (mermaid-cli from package-lock.json, the renderer
    of the build) rejects the article's first two diagrams and draws the
    third, and the first two once their labels are quoted."""
    import os
    import subprocess

    mmdc = ROOT / "node_modules" / ".bin" / "mmdc"
    if not mmdc.exists() or not CHROMIUM:
        pytest.skip("needs `make book` (node_modules) and Chromium")
    env = {**os.environ, "PUPPETEER_EXECUTABLE_PATH": CHROMIUM}

    def renders(name: str, text: str) -> bool:
        src, out = tmp_path / f"{name}.mmd", tmp_path / f"{name}.svg"
        src.write_text(text)
        done = subprocess.run(
            [mmdc, "-p", ROOT / "assets" / "puppeteer.json"]
            + ["-i", src, "-o", out],
            capture_output=True,
            text=True,
            env=env,
        )
        if done.returncode == 0:
            return out.stat().st_size > 0
        assert "Parse error" in done.stderr + done.stdout, done.stderr
        return False

    assert not renders("data", ARTICLE_DIAGRAMS["data"])
    assert not renders("model", ARTICLE_DIAGRAMS["model"])
    assert renders("loop", ARTICLE_DIAGRAMS["loop"])
    assert renders("data-quoted", QUOTED["data"])
    assert renders("model-quoted", QUOTED["model"])


@pytest.mark.parametrize("word", ["学习率", "优化器", "过拟合", "反向传播"])
def test_the_chinese_search_finds_every_page_of_a_term(
    browser, word: str
) -> None:  # type: ignore[no-untyped-def]
    """Searched in the page, as a reader does: a term of the terms table
    lists at least every page whose prose uses it (tests/test_search_zh.py
    gives those pages; before jieba had the terms, 0 were listed)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_search_zh import prose_pages

    seen = open_page(
        browser, "zh/search.html", width=PHONE, height=800,
        query=f"?q={quote(word)}",
    )  # fmt: skip
    tab = seen.tab
    try:
        wait_for_search(tab)
        links = tab.evaluate(
            """() => [...document.querySelectorAll('#search-results ul.search > li a')]
            .map(a => a.getAttribute('href'))"""
        )
    finally:
        tab.context.close()
    found = {Path(urlparse(h).path).stem for h in links}
    want = set(prose_pages(word))
    assert want <= found, (
        f"{word}: listed {sorted(found)}, want {sorted(want)}"
    )

"""The built HTML book read in a real browser with no network (``make browser-test``).

Every page of ``_build/html`` is opened from ``file://`` in Debian's Chromium, driven headless by
Playwright. Any request that leaves the build folder is answered with an error (and recorded), so a
page that would need the network fails here exactly as it would offline. Per page: no request
outside the build, no failed request, no console error, every formula typeset by MathJax, every
diagram an SVG, every image decoded, every widget drawn. A screenshot of each page lands in
``_build/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
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
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's chromium (apt install chromium) or set CHROMIUM"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def inside_build(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    if parsed.scheme != "file":
        return False
    return Path(unquote(parsed.path)).resolve().is_relative_to(HTML.resolve())


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
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    failed: list[str] = []
    console_errors: list[str] = []

    def route(route, request) -> None:  # type: ignore[no-untyped-def]
        if inside_build(request.url):
            route.continue_()
        else:
            outside.append(request.url)
            route.abort("internetdisconnected")

    context.route("**/*", route)
    browser_page = context.new_page()
    browser_page.on(
        "requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})")
    )
    browser_page.on(
        "console",
        lambda m: console_errors.append(m.text) if m.type == "error" else None,
    )
    browser_page.on(
        "pageerror", lambda e: console_errors.append(f"uncaught: {e}")
    )
    browser_page.goto((HTML / page).as_uri(), wait_until="load")

    # MathJax 3 typesets after load: wait for it, then look at the result
    has_mathjax = browser_page.evaluate(
        "() => !!document.querySelector('script[src*=\"mathjax\"]')"
    )
    if has_mathjax:
        browser_page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
            timeout=20_000,
        )
        browser_page.evaluate("() => MathJax.startup.promise")
    widget_views = browser_page.locator(
        'script[type="application/vnd.jupyter.widget-view+json"]'
    ).count()
    if widget_views:
        browser_page.wait_for_function(
            "() => document.querySelectorAll('.jupyter-widgets.widget-container, .widget-box').length >= 1",
            timeout=20_000,
        )
    browser_page.wait_for_load_state("networkidle")

    report = browser_page.evaluate(
        """() => {
        const maths = [...document.querySelectorAll('div.math, span.math')];
        const objects = [...document.querySelectorAll('object[type="image/svg+xml"]')];
        const text = document.querySelector('main') ? document.querySelector('main').innerText : document.body.innerText;
        return {
          maths: maths.length,
          typeset: maths.filter(m => m.querySelector('mjx-container')).length,
          raw_tex: (text.match(/\\$\\$|\\\\\\[|\\\\\\(|\\\\frac|\\\\sum/g) || []).length,
          images: [...document.images].map(i => ({src: i.currentSrc || i.src, w: i.naturalWidth, ok: i.complete})),
          diagrams: objects.map(o => ({data: o.getAttribute('data'), h: o.getBoundingClientRect().height})),
          mermaid_source: document.querySelectorAll('pre.mermaid, div.mermaid').length,
          widget_views: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
          widgets_drawn: document.querySelectorAll('.jupyter-widgets.widget-container, .widget-box').length,
          widget_errors: document.querySelectorAll('.jupyter-widgets-error-widget, .widget-error').length,
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
        ):  # resolved from the page
            assert ((HTML / page).parent / link).is_file(), (
                f"{page}: diagram link {link} leads nowhere"
            )
    assert report["widgets_drawn"] >= (1 if report["widget_views"] else 0), (
        f"{page}: widgets not drawn"
    )
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
    assert report["widget_errors"] == 0, (
        f"{page}: {report['widget_errors']} widget(s) failed to render"
    )

"""Sphinx extension for this book: pages that read offline without console errors.

Parts of the stock Jupyter Book 1 stack misbehave in a browser that has no network or reads
the book from ``file://``; the browser test (tests/test_html.py) treats console errors as
failures:

- sphinx-thebe adds its inline ``const THEBE_JS_URL = ...`` script twice per page ("Identifier
  'THEBE_JS_URL' has already been declared"): drop repeated scripts from each page's list.
- Sphinx's search fetches every result's page to cut an excerpt from it, and Chromium refuses
  ``fetch`` over ``file://`` (a CORS error per result, then an uncaught "Failed to fetch"). The
  build writes the text of each page into ``_static/search-texts.js``; on the search page,
  ``assets/search-offline.js`` answers those fetches from it.
- The diagrams are drawn at build time by mermaid-cli in a headless Chromium
  (``assets/puppeteer.json``): point puppeteer at the same Chromium as the browser test,
  ``$CHROMIUM`` or the first of :data:`BROWSERS` on ``PATH`` (:func:`find_chromium`).

(pydata-sphinx-theme's "Got invalid theme mode" on a first visit is fixed in _config.yml:
``html_context: {default_mode: auto}``.)
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

# Chromium's names on PATH: Debian's package, Ubuntu's and Fedora's, Google's build
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
logger = logging.getLogger(__name__)
SEARCH_TEXTS = "search-texts.js"  # written into _static/ when the build ends
SEARCH_SHIM = "search-offline.js"  # assets/: reads it on the search page
# tags whose end is a break between words (the rest is inline text)
BLOCKS = frozenset(
    "p div li dt dd pre td th tr br table figure blockquote ul ol dl "
    "h1 h2 h3 h4 h5 h6 section".split()
)


def find_chromium() -> str | None:
    """The Chromium binary: ``$CHROMIUM`` (a path or a name on PATH) if set,
    else the first of :data:`BROWSERS` on PATH; None if there is none."""
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named)
    return next(filter(None, map(shutil.which, BROWSERS)), None)


def chromium_missing() -> str:
    """What to do when :func:`find_chromium` finds nothing."""
    named = os.environ.get("CHROMIUM")
    where = (
        f"CHROMIUM={named} is not an executable"
        if named
        else f"no Chromium on PATH (looked for {', '.join(BROWSERS)})"
    )
    return (
        f"{where}: install it (Debian: sudo apt install chromium) or set "
        "CHROMIUM=/path/to/chromium (make book CHROMIUM=...)"
    )


def use_chromium_for_diagrams(app: Sphinx, config: Config) -> None:
    """mermaid-cli's puppeteer starts ``$PUPPETEER_EXECUTABLE_PATH``; the
    book's puppeteer.json names no browser. Set it unless the reader did."""
    if getattr(config, "mermaid_output_format", "raw") == "raw":
        # drawn by the browser, or no diagrams
        return
    if os.environ.get("PUPPETEER_EXECUTABLE_PATH"):
        return
    chromium = find_chromium()
    if chromium is None:  # a warning: one line, and -W makes it fatal
        logger.warning(
            "the diagrams are drawn at build time in Chromium, and %s",
            chromium_missing(),
        )
        return
    os.environ["PUPPETEER_EXECUTABLE_PATH"] = chromium


def drop_repeated_scripts(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in context.get("script_files", []):
        # the same script is registered once with filename None and once with "" (same body)
        key = (
            getattr(script, "filename", None) or "",
            repr(sorted(getattr(script, "attributes", {}).items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


class ArticleText(HTMLParser):
    """The text of a page's ``<article class="bd-article">``, its sections
    and API entries kept as elements with their ids: what Sphinx's search
    cuts an excerpt from (searchtools.js, ``htmlToText``: the text of
    ``[role="main"] #anchor``). Scripts, styles and the "#" links of
    headings are left out, as searchtools.js leaves them out."""

    KEPT = ("section", "dt")  # a search result's anchor is one of these

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.inside = False  # in the article (pages hold one)
        self.skipping: str | None = None  # the tag whose text is dropped

    def handle_starttag(
        self, tag: str, attrs: list[tuple[str, str | None]]
    ) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag == "article" and "bd-article" in classes:
            self.inside = True
        if not self.inside or self.skipping:
            return
        if tag in ("script", "style") or "headerlink" in classes:
            self.skipping = tag
        elif tag in self.KEPT:
            anchor = html.escape(found.get("id") or "", quote=True)
            self.parts.append(
                f'<{tag} id="{anchor}">' if anchor else f"<{tag}>"
            )
        elif tag in BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if not self.inside:
            return
        if self.skipping:
            self.skipping = None if tag == self.skipping else self.skipping
        elif tag == "article":
            self.inside = False
        elif tag in self.KEPT:
            self.parts.append(f"</{tag}>")
        elif tag in BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if self.inside and not self.skipping:
            self.parts.append(html.escape(data, quote=False))

    def text(self) -> str:
        body = re.sub(r"\s+", " ", "".join(self.parts)).strip()
        body = MATH.sub(
            lambda m: readable_math(m.group(1) or m.group(2)), body
        )
        return f'<div role="main">{body}</div>'


# a formula as MathJax reads it in the page: \( ... \) inline, \[ ... \] displayed
MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
SYMBOLS = {
    "cdot": "·",
    "times": "×",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "in": "∈",
    "to": "→",
    "rightarrow": "→",
    "sum": "Σ",
    "prod": "Π",
    "infty": "∞",
    "partial": "∂",
    "nabla": "∇",
    "sqrt": "√",
    "ldots": "…",
    "dots": "…",
    "cdots": "…",
    "odot": "⊙",
    "circ": "∘",
    "pm": "±",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "eta": "η",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "pi": "π",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "Delta": "Δ",
    "Sigma": "Σ",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "lceil": "⌈",
    "rceil": "⌉",
    "mid": "|",
}


def readable_math(tex: str) -> str:
    """A formula's TeX as plain text for a search excerpt: ``\\text{in}`` ->
    ``in``, ``\\frac{a}{b}`` -> ``(a)/(b)``, ``\\alpha`` -> ``α``, spacing
    and sizing commands dropped, braces removed."""
    tex = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"(\1)/(\2)", tex)
    tex = re.sub(
        r"\\(?:text|mathrm|mathbf|mathit|operatorname|textrm|mathcal)\s*\{([^{}]*)\}",
        r"\1",
        tex,
    )
    # x_{i+m} -> x_(i+m), C_{in} -> C_in: a group of more than a name keeps brackets
    tex = re.sub(
        r"([_^])\{([^{}]*)\}",
        lambda m: (
            m.group(1)
            + (m.group(2) if m.group(2).isalnum() else f"({m.group(2)})")
        ),
        tex,
    )
    tex = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)\b", "", tex)
    tex = re.sub(r"\\(?:,|;|:|!|quad|qquad)", " ", tex)
    tex = re.sub(
        r"\\([A-Za-z]+)", lambda m: SYMBOLS.get(m.group(1), m.group(1)), tex
    )
    tex = tex.replace("\\{", "{").replace("\\}", "}").replace("\\\\", " ")
    tex = re.sub(r"(?<!\\)[{}]", "", tex)
    return re.sub(r"\s+", " ", tex).strip()


def page_text(page: Path) -> str:
    """A built page reduced to what the search's excerpt needs."""
    parser = ArticleText()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    return parser.text()


def add_search_scripts(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    """Only the search page loads the pages' texts (and what reads them)."""
    if pagename == "search" and app.builder.name == "html":
        app.add_js_file(SEARCH_TEXTS)
        app.add_js_file(SEARCH_SHIM)


def write_search_texts(app: Sphinx, exception: Exception | None) -> None:
    """``_static/search-texts.js``: ``window.BOOK_SEARCH_TEXTS``, each
    page's text by document name, read from the pages just written."""
    if exception is not None or app.builder.name != "html":
        return
    texts = {}
    for docname in sorted(app.env.found_docs):
        page = Path(app.builder.get_outfilename(docname))
        if page.is_file():
            texts[docname] = page_text(page)
    write_static_script(
        app.builder.outdir,
        SEARCH_TEXTS,
        "BOOK_SEARCH_TEXTS",
        texts,
        "_ext/offline_html.py: the text of every page, for the search's "
        "excerpts over file://",
    )


def write_static_script(
    outdir: str | Path, name: str, variable: str, data: Any, origin: str
) -> None:
    """``_static/<name>``: ``window.<variable> = <data as JSON>;``. A page
    read from file:// may load a script but not fetch a JSON file."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("</", "<\\/")  # safe inside a page's <script>
    static = Path(outdir) / "_static"
    static.mkdir(exist_ok=True)
    (static / name).write_text(
        f"// Written by {origin}\nwindow.{variable} = {text};\n",
        encoding="utf-8",
    )


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", use_chromium_for_diagrams)
    app.connect("html-page-context", add_search_scripts)
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    app.connect("build-finished", write_search_texts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Sphinx extension: mend what axe-core finds in the HTML the theme and the extensions write.

``tests/test_accessibility.py`` (``make browser-test``) runs axe-core on every page of both
editions and fails on any critical or serious violation. Four came from markup we do not write
ourselves (five, with the colour-mode button's); after the build, each page is mended where
they occur:

- a diagram (sphinxcontrib-mermaid's SVG ``<object>``) had no accessible name: it gets the
  ``:alt:`` text of its directive as ``aria-label``;
- the theme's search buttons are named "Search" but show "Search Ctrl+K" (or "搜索"), and the
  hidden-cell toggles are named "Toggle hidden content" but show "Show code cell source": a name
  must contain the words a reader sees (WCAG 2.5.3), so the mismatching ``aria-label`` goes and
  the visible text names them; the colour-mode button's icons lose their titles ("Light",
  "Dark"), which read as text that its name "Color mode" does not contain;
- the bibliography is a ``role="list"`` whose entries carry the deprecated role
  ``doc-biblioentry`` instead of ``listitem``.

And the home page's title, the book's name, names its tab once, not as "NAME — NAME".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

# <object data="…svg" type="image/svg+xml">
#             <p class="warning">ALT</p></object>
DIAGRAM = re.compile(
    r'<object (data="[^"]+\.svg" type="image/svg\+xml")>(\s*<p class="warning">)'
    r"([^<]*)(</p>)",
)
MENDS = (
    # the theme's search button: its visible text names it
    (
        re.compile(
            r'(<button class="[^"]*search-button-field[^"]*"[^>]*?) aria-label="[^"]*"'
        ),
        r"\1",
    ),
    # hidden-cell toggles (the Chinese edition translated the label first)
    (
        re.compile(
            r'<summary aria-label="(Toggle hidden content|显示或隐藏内容)">'
        ),
        "<summary>",
    ),
    # the colour-mode button is named "Color mode"; its icons' titles
    # ("Light", "Dark", "System Settings") made them text that does not match
    (
        re.compile(
            r'(<i class="theme-switch [^"]*"\s+data-mode="\w+")\s+title="[^"]*">'
        ),
        r'\1 aria-hidden="true">',
    ),
    (re.compile(r'role="doc-biblioentry"'), 'role="listitem"'),
    # the home page's title is the book's name: once in the tab, not twice
    (re.compile(r"<title>([^<]+) &#8212; \1</title>"), r"<title>\1</title>"),
)


def mend(html: str) -> str:
    """The page with the mends applied (idempotent)."""
    html = DIAGRAM.sub(
        lambda m: (
            f'<object {m[1]} aria-label="{m[3].strip()}">{m[2]}{m[3]}{m[4]}'
        ),
        html,
    )
    for pattern, replacement in MENDS:
        html = pattern.sub(replacement, html)
    return html


def mend_pages(app: Sphinx, exception: Exception | None) -> None:
    if exception or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = mend(text)
        if new != text:
            page.write_text(new, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    # after editions.translate_ui (priority 500), which translates labels
    app.connect("build-finished", mend_pages, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

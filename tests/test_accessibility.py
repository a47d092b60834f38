"""Every page of both editions passes axe-core with no critical or serious violation.

axe-core (npm, pinned in ``package-lock.json``; the engine of the accessibility checks the Sphinx
themes run) is loaded into each page of ``_build/html`` in Chromium, offline (``make
browser-test``). A critical or serious violation fails the page's test; the moderate and minor
ones are written, per page, to ``_build/axe/`` for a person to read. ``_ext/accessibility.py``
mends what axe found in the theme's markup; the tests of ``mend`` below run in ``make test``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.test_html import HTML, browser, forwards, open_page, pages  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
REPORT = ROOT / "_build" / "axe"
sys.path.insert(0, str(ROOT / "_ext"))
import accessibility  # noqa: E402

RUN_AXE = """() => axe.run(document, {resultTypes: ['violations']}).then(r =>
  r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                          nodes: v.nodes.map(n => n.target.join(' '))})))"""


def content_pages() -> list[str]:
    try:
        return [p for p in pages() if not forwards(p)]
    except FileNotFoundError:
        return []


@pytest.mark.browser
@pytest.mark.parametrize("page", content_pages())
def test_no_critical_or_serious_violation(browser, page: str) -> None:  # noqa: F811
    if not AXE.is_file():
        pytest.fail(
            f"{AXE} is missing: run `make vendor` (npm ci installs axe-core)"
        )
    visit = open_page(browser, page, 1000)
    try:
        visit.tab.add_script_tag(path=str(AXE))
        violations = visit.tab.evaluate(RUN_AXE)
    finally:
        visit.tab.context.close()
    out = REPORT / (page.removesuffix(".html") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(violations, indent=1, ensure_ascii=False))
    bad = [
        f"{v['impact']} {v['id']} ({v['help']}): {v['nodes'][:3]}"
        for v in violations
        if v["impact"] in ("critical", "serious")
    ]
    assert bad == [], f"{page}:\n" + "\n".join(bad)


SEARCH = (
    '<button class="btn search-button-field search-button__button pst-js-only" '
    'title="Search" aria-label="Search" data-bs-placement="bottom">'
)
THEME = (
    '<i class="theme-switch fa-solid fa-sun fa-lg" data-mode="light" '
    'title="Light"></i>'
)
DIAGRAM = (
    '<object data="../_images/mermaid-1.svg" type="image/svg+xml">\n'
    '            <p class="warning">The concept map.</p></object>'
)


def test_mend_names_what_axe_flagged() -> None:
    """Each mend on the markup the theme and the extensions write, and a
    second pass changes nothing."""
    cases = {
        SEARCH: 'title="Search" data-bs-placement',
        THEME: 'data-mode="light" aria-hidden="true"></i>',
        DIAGRAM: 'type="image/svg+xml" aria-label="The concept map.">',
        '<summary aria-label="Toggle hidden content">': "<summary>",
        '<summary aria-label="显示或隐藏内容">': "<summary>",
        '<div class="citation" role="doc-biblioentry">': 'role="listitem"',
        "<title>CNNs &#8212; CNNs</title>": "<title>CNNs</title>",
        "<title>Pooling &#8212; CNNs</title>": "<title>Pooling &#8212; CNNs</title>",
    }
    for html, expected in cases.items():
        mended = accessibility.mend(html)
        assert expected in mended, (html, mended)
        assert accessibility.mend(mended) == mended
    assert "aria-label" not in accessibility.mend(SEARCH)
    assert 'title="Light"' not in accessibility.mend(THEME)
    # other buttons keep their names
    other = '<button class="btn" aria-label="Download this page">'
    assert accessibility.mend(other) == other

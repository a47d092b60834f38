"""The book as one PDF per edition (``make pdf``): Chromium prints the
single-page HTML after MathJax has typeset it.

Why this route and not LaTeX: the PDF then shows exactly what the HTML
shows, from the same build (glued numbers, notebook outputs, tables,
figures, admonitions, the diagrams already rendered to SVG), with the
formulas typeset by the same MathJax and Chinese set in Noto CJK; Sphinx's
LaTeX writer would need every output type, widget and diagram converted
again, and a CJK-capable LaTeX set-up of its own.

Before printing, this script opens every collapsed cell (a PDF cannot be
clicked), numbers the chapters and their sections, puts a table of contents
with links after the title, turns the page's links to itself into links
inside the PDF, and checks that nothing is wider than the printed column.

    python tools/pdf.py _build/singlehtml/book/intro.html out.pdf --lang en
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import offline_html  # noqa: E402  (the Chromium look-up of the book build)

CONTENTS = {"en": "Contents", "zh": "目录"}
TITLES = {
    "en": "CNNs from scratch with PyTorch",
    "zh": "从零开始：用 PyTorch 实现卷积神经网络",
}

PRINT_CSS = """
@page { size: A4; margin: 15mm 14mm 17mm 14mm; }
html { font-size: 10pt; }
.bd-header, .bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary,
.bd-footer, .bd-footer-article, .bd-footer-content, .prev-next-area,
#pst-back-to-top, .search-button-field, .theme-switch-button, .headerlink,
.skip-link, .toggle-details__summary, button.toggle-button,
.cell_input .copybtn, button.copybtn { display: none !important; }
.bd-container, .bd-page-width, .bd-main, .bd-content,
.bd-article-container, .bd-article { max-width: none !important;
  width: 100% !important; min-width: 0 !important; flex: 1 1 100%;
  padding: 0 !important; margin: 0 !important; }
pre { white-space: pre-wrap !important; overflow-wrap: anywhere;
  overflow: visible !important; font-size: 8pt; }
div.highlight, div.cell_output, .output { overflow: visible !important;
  max-height: none !important; }
/* a figure is never cut, so one taller than a third of the text block could leave that much
   of a page empty when it moves to the next: at most 86 mm high (A4 prints 265 mm) */
img, svg { max-width: 100% !important; max-height: 86mm; width: auto; height: auto;
  object-fit: contain; break-inside: avoid; }
object[type="image/svg+xml"] { max-height: 86mm; max-width: 100%;
  width: auto; height: auto; break-inside: avoid; }
table { max-width: 100%; font-size: 8pt; }
td, th { overflow-wrap: anywhere; }
.table-wrapper, .pst-scrollable-table-container { overflow: visible !important; }
mjx-container[display="true"] { overflow: visible !important; }
/* the theme keeps code, admonitions and tables whole: one that does not fit the rest of a
   page then leaves up to all of it empty; let them break between lines and rows */
div.highlight, div.literal-block-wrapper, div[class*="highlight-"], div.cell,
div.cell_input, div.cell_output, .admonition, table { break-inside: auto !important; }
div.highlight, div[class*="highlight-"] { display: block !important; }
pre { orphans: 3; widows: 3; }
tr, img, svg, mjx-container { break-inside: avoid; }
.book-pdf-chapter { break-before: page; }
.book-pdf-toc { break-after: page; }
.book-pdf-toc ol { list-style: none; padding-left: 1.2em; }
.book-pdf-toc > ol { padding-left: 0; }
.book-pdf-toc a { text-decoration: none; }
"""

# open hidden cells, number chapters/sections, a linked table of contents,
# links to this very page made internal; returns the chapter titles
PREPARE_JS = """
([contents]) => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(
    e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('a[href]').forEach(a => {
    const url = new URL(a.href);
    const id = decodeURIComponent(url.hash.slice(1));
    if (url.protocol === 'file:' && id && document.getElementById(id))
      a.setAttribute('href', url.hash);
  });
  const toc = document.createElement('nav');
  toc.className = 'book-pdf-toc';
  toc.innerHTML = `<h2>${contents}</h2>`;
  const list = document.createElement('ol');
  toc.appendChild(list);
  const titles = [];
  const text = h => [...h.childNodes].filter(n => !(n.classList &&
      n.classList.contains('headerlink'))).map(n => n.textContent).join('').trim();
  const entry = (parent, h, label) => {
    if (!h.id) h.id = h.parentElement.id || ('h-' + Math.random().toString(36).slice(2));
    const target = h.parentElement.id || h.id;
    const li = document.createElement('li');
    li.innerHTML = `<a href="#${target}">${label} ${text(h)}</a>`;
    parent.appendChild(li);
    h.insertAdjacentText('afterbegin', label + ' ');
    return li;
  };
  let chapter = 0;
  document.querySelectorAll('span[id^="document-"]').forEach(span => {
    let section = span.nextElementSibling;
    while (section && section.tagName !== 'SECTION') section = section.nextElementSibling;
    if (!section) return;
    const h = section.querySelector(':scope > h1, :scope > h2');
    if (!h) return;
    chapter += 1;
    section.classList.add('book-pdf-chapter');
    // the chapter's anchor travels with it: left before the page break, it
    // could land alone on a page of its own after a chapter that fills its last
    section.insertAdjacentElement('afterbegin', span);
    titles.push(text(h));
    const li = entry(list, h, `${chapter}`);
    const sub = document.createElement('ol');
    let n = 0;
    section.querySelectorAll(':scope > section > h3').forEach(h3 => {
      n += 1;
      entry(sub, h3, `${chapter}.${n}`);
    });
    if (n) li.appendChild(sub);
  });
  // after the title and the subtitle, before the introduction's sections
  const first = document.querySelector('article h1').closest('section')
      .querySelector(':scope > section');
  first.insertAdjacentElement('beforebegin', toc);
  return titles;
}
"""

# display formulas wider than the column are set smaller (MathJax sizes in em), centred
# formulas would otherwise spill over both edges and print cut off; returns how many
FIT_MATH_JS = """
() => {
  let n = 0;
  document.querySelectorAll('mjx-container[display="true"]').forEach(m => {
    const room = m.parentElement.getBoundingClientRect().width;
    const math = m.querySelector(':scope > mjx-math');
    const wide = math ? math.getBoundingClientRect().width : 0;
    if (wide > room) {
      m.style.fontSize = `${Math.floor(9700 * room / wide) / 100}%`;
      n += 1;
    }
  });
  return n;
}
"""

# elements whose content runs past either edge of the printed column
OVERFLOW_JS = """
() => {
  const right = document.documentElement.clientWidth + 1;
  const out = [];
  const outside = r => r.right > right || r.left < -1;
  document.querySelectorAll('article *').forEach(e => {
    if (e.closest('mjx-assistive-mml')) return;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || !outside(r)) return;
    if (e.parentElement && outside(e.parentElement.getBoundingClientRect())) return;
    out.push(`${e.tagName.toLowerCase()}.${e.className} (${Math.round(Math.max(r.right - right, -r.left))} px): `
             + (e.textContent || '').trim().slice(0, 70));
  });
  return out;
}
"""


def chromium() -> str:
    """The Chromium the book build uses (``_ext/offline_html.py``:
    ``$CHROMIUM``, else chromium, chromium-browser, google-chrome on PATH)."""
    found = offline_html.find_chromium()
    if found is None:
        raise SystemExit(f"error: {offline_html.chromium_missing()}")
    return found


def prepare(page: Page, lang: str) -> list[str]:
    """Typeset, open, number and check the page; the chapter titles."""
    page.emulate_media(media="print")
    page.add_style_tag(content=PRINT_CSS)
    page.wait_for_function(
        "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
    )
    page.evaluate("() => MathJax.startup.promise")
    titles = page.evaluate(PREPARE_JS, [CONTENTS[lang]])
    page.evaluate("() => MathJax.typesetPromise()")
    page.wait_for_timeout(500)
    fitted = page.evaluate(FIT_MATH_JS)
    print(f"{fitted} display formulas set smaller to fit the column")
    wide = page.evaluate(OVERFLOW_JS)
    if wide:
        raise SystemExit(
            f"error: {len(wide)} elements wider than the printed column:\n  "
            + "\n  ".join(wide[:30])
        )
    return titles


def print_pdf(html: Path, out: Path, lang: str) -> list[str]:
    refused: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        # A4 less the margins, at 96 px per inch: the column the PDF prints
        page = browser.new_page(viewport={"width": 680, "height": 1000})
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(("file:", "data:"))
                else (refused.append(route.request.url), route.abort())
            ),
        )
        # Sphinx writes the single page of a root document in a folder
        # (book/intro.html) with asset paths relative to the build's top
        html = html.resolve()
        top = html.parent.parent if html.parent.name == "book" else html.parent
        printed = top / "_print.html"
        shutil.copyfile(html, printed)
        page.goto(printed.as_uri(), wait_until="load")
        titles = prepare(page, lang)
        out.parent.mkdir(parents=True, exist_ok=True)
        page.pdf(
            path=str(out),
            format="A4",
            print_background=True,
            outline=True,
            tagged=True,
            display_header_footer=True,
            header_template="<span></span>",
            footer_template=(
                '<div style="font-size:8px;width:100%;text-align:center">'
                f"{TITLES[lang]} · "
                '<span class="pageNumber"></span> / '
                '<span class="totalPages"></span></div>'
            ),
            margin={
                "top": "15mm",
                "bottom": "17mm",
                "left": "14mm",
                "right": "14mm",
            },
        )
        browser.close()
    if refused:
        raise SystemExit(f"error: the page asked the network for {refused}")
    return titles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the single-page HTML")
    parser.add_argument("out", type=Path, help="the PDF to write")
    parser.add_argument("--lang", choices=sorted(TITLES), default="en")
    args = parser.parse_args(argv)
    if not args.html.is_file():
        raise SystemExit(
            f"error: {args.html} not found; build it first (make pdf does)"
        )
    titles = print_pdf(args.html, args.out, args.lang)
    size = args.out.stat().st_size / 1e6
    print(f"{args.out}: {len(titles)} chapters, {size:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

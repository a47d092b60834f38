"""Sphinx extension for this book: pages that read offline without console errors.

One part of the stock Jupyter Book 1 stack logs an error in every browser console, which the
browser test (tests/test_html.py) treats as failures:

- sphinx-thebe adds its inline ``const THEBE_JS_URL = ...`` script twice per page ("Identifier
  'THEBE_JS_URL' has already been declared"): drop repeated scripts from each page's list.

(pydata-sphinx-theme's "Got invalid theme mode" on a first visit is fixed in _config.yml:
``html_context: {default_mode: auto}``.)
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


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


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

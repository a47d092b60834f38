"""nbval, with tolerance bands for what training produces (loaded by the root ``conftest.py``).

nbval compares every output a notebook cell produces with the output stored in the notebook,
character for character. That is right for what is exact on every machine — shapes, counts,
formulas, integer results, parameter counts — and wrong for anything trained: another CPU
(``ATEN_CPU_CAPABILITY``), another thread count or a GPU sums in another order, and after a few
thousand optimizer steps the fourth decimal of an accuracy differs although nothing is wrong.

So a code cell tagged ``nbval-tolerance`` is compared in two parts:

* its **glued values** (``myst_nb.glue``, the numbers the prose quotes) are compared by name with
  the stored ones: within the band that ``tests/tolerances.yml`` gives for that name
  (``abs``: absolute, ``rel``: relative to the stored value, ``any``: not compared, for a choice
  such as "the best method" that may flip between machines), and exactly when the file names none;
* its **printed text** must have the same shape as the stored text — the same words, lines and
  layout — with every number in it masked, so a table that gained a row or a message that changed
  still fails, but the trained figures it prints are checked only through their glued values.

Every other cell is compared by nbval as usual, exactly. The stored outputs the page shows stay
those of the reference run (see the chapter "Run times"). With ``NBVAL_TOLERANCE_REPORT=path``
every toleranced comparison is appended to ``path`` as a JSON line: notebook, name, stored,
computed, band — the figures the issue notes quote for other machines.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
import yaml
from nbval.plugin import IPyNbCell

TAG = "nbval-tolerance"
TOLERANCES = Path(__file__).resolve().parent / "tolerances.yml"
GLUE_MIME = "application/papermill.record/text/plain"
# a number with the blanks that pad it (a wider number shifts a column: same shape)
NUMBER = re.compile(
    r"[ \t]*(?:[-+]?(?:\d+(?:,\d{3})*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|\bnan\b|\binf\b)"
)


@lru_cache(maxsize=1)
def tolerances() -> dict[str, dict[str, dict[str, float | bool]]]:
    """``{notebook file name: {glue name: band}}`` from ``tests/tolerances.yml``."""
    table = yaml.safe_load(TOLERANCES.read_text()) or {}
    for notebook, names in table.items():
        for name, band in names.items():
            if (
                not isinstance(band, dict)
                or not set(band) <= {"abs", "rel", "any"}
                or not band
            ):
                raise ValueError(
                    f"{TOLERANCES}: {notebook} -> {name}: a band is {{abs: x}}, {{rel: x}} or {{any: true}}, got {band!r}"
                )
    return table


def mask_numbers(text: str) -> str:
    """The text with every number and its padding replaced by `` #`` (``"acc  0.9941"`` -> ``"acc #"``)."""
    return NUMBER.sub(" #", text)


def glue_name(output: dict[str, Any]) -> str | None:
    """The name a ``glue(...)`` output was stored under, or None for any other output."""
    return output.get("metadata", {}).get("scrapbook", {}).get("name")


def within(
    stored: float, computed: float, band: dict[str, float | bool]
) -> bool:
    """Whether ``computed`` lies in the band around ``stored`` (either bound suffices)."""
    if band.get("any"):
        return True
    if math.isnan(stored) or math.isnan(computed):
        return math.isnan(stored) and math.isnan(computed)
    allowed = max(
        float(band.get("abs", 0.0)), float(band.get("rel", 0.0)) * abs(stored)
    )
    return abs(computed - stored) <= allowed


def _value(output: dict[str, Any]) -> Any:
    """A glued value as a float where it is a number (``99.41``, ``'2e-06'``, ``'29,818'``), else as stored."""
    text = output.get("data", {}).get(GLUE_MIME, "")
    try:
        value = ast.literal_eval(
            text
        )  # the repr glue stored: 99.41, 'LoRA', '2e-06'
    except (ValueError, SyntaxError):
        return text
    if isinstance(value, str):
        try:
            return float(value.replace(",", ""))
        except ValueError:
            return value  # a name, compared exactly unless the band is "any"
    return (
        float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else value
    )


def compare_glue(
    notebook: str, ref: list[dict[str, Any]], test: list[dict[str, Any]]
) -> list[str]:
    """Problems found comparing the glued values of one cell (empty when they agree)."""
    table = tolerances().get(notebook, {})
    ref_values = {glue_name(o): _value(o) for o in ref if glue_name(o)}
    test_values = {glue_name(o): _value(o) for o in test if glue_name(o)}
    if list(ref_values) != list(test_values):
        return [
            f"glued names differ: stored {list(ref_values)}, computed {list(test_values)}"
        ]
    problems = []
    report = os.environ.get("NBVAL_TOLERANCE_REPORT")
    for name, stored in ref_values.items():
        computed, band = test_values[name], table.get(name)
        if (
            band is None
            or not isinstance(stored, float)
            or not isinstance(computed, float)
        ):
            ok = band is not None and band.get("any") or stored == computed
            band_text = "exact" if band is None else str(band)
        else:
            ok = within(stored, computed, band)
            band_text = str(band)
        if report and band is not None:
            with open(report, "a") as f:
                f.write(
                    json.dumps(
                        {
                            "notebook": notebook,
                            "name": name,
                            "stored": stored,
                            "computed": computed,
                            "band": band,
                            "ok": bool(ok),
                        }
                    )
                    + "\n"
                )
        if not ok:
            problems.append(
                f"glue {name!r}: stored {stored!r}, computed {computed!r}, allowed: {band_text} "
                f"(bands: {TOLERANCES.relative_to(TOLERANCES.parents[1])})"
            )
    return problems


def _masked(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Outputs without glue records, with the numbers in their text masked."""
    masked = []
    for o in outputs:
        if glue_name(o):
            continue
        o = nbformat.from_dict(
            dict(o)
        )  # nbval reads outputs as NotebookNodes (o.output_type)
        if "text" in o:
            o["text"] = mask_numbers(o["text"])
        if "data" in o:
            o["data"] = {
                k: mask_numbers(v)
                if k.startswith("text/") and isinstance(v, str)
                else v
                for k, v in o["data"].items()
            }
        masked.append(o)
    return masked


_nbval_compare = IPyNbCell.compare_outputs


def compare_outputs(
    self: IPyNbCell, test: list[Any], ref: list[Any], skip_compare: Any = None
) -> bool:
    if TAG not in self.cell.metadata.get("tags", []):
        return _nbval_compare(self, test, ref, skip_compare)
    problems = compare_glue(Path(str(self.fspath)).name, ref, test)
    if problems:
        self.comparison_traceback = [
            "Glued values outside their tolerance bands:"
        ] + problems
        return False
    return _nbval_compare(self, _masked(test), _masked(ref), skip_compare)


IPyNbCell.compare_outputs = compare_outputs

"""Plausible ranges of the figures not confirmed: the ``plausible`` field next to ``confidence``.

A parameter whose value is not ``confirmed`` may say within which range the true figure
plausibly lies, and why (``reason``: a public source, or the text's own structure)::

    a_rate:
      value: ...
      confidence: unverified
      plausible: {min: ..., max: ..., reason: "..."}
    an_amount:
      by_taille: {1: ..., 2: ...}
      confidence: {1: confirmed, 2: unverified}
      plausible:
        by_taille: {2: {min: ..., max: ...}}
        reason: "..."

The loader checks each range (:func:`check_plausible`): a number parameter, the range in
its unit, ``min <= value <= max`` for each cell, a cell the table has. ``sweep
--uncertainty`` draws within them (:func:`uncertain_cells`). A range never changes a
confidence tag: it only says how far the figure may be off.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from .diagnostic import msg

__all__ = ["Cell", "check_plausible", "uncertain_cells"]


@dataclasses.dataclass(frozen=True)
class Cell:
    """One figure that is not confirmed and has a plausible range: a parameter, or one of its tailles."""

    parameter: str
    taille: int | None  # None for a parameter with one value
    value: Decimal | int
    low: Decimal | int
    high: Decimal | int
    unit: str | None
    confidence: str
    reason: str


def _number(value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _same_text(document, path, cell) -> bool:
    """True when the figure at ``path + cell`` was written in the file that wrote its range.

    A range brackets the figure its author wrote: when a later text changes the figure (an
    amendment's ``change`` or ``edit``), the range no longer speaks of it and is left aside.
    """
    if document is None or not hasattr(document, "file_of"):
        return True
    return document.file_of(path + cell) == document.file_of(path + ("plausible",))


def check_plausible(compiler, name: str, spec: dict, path: tuple) -> None:
    """Report (through ``compiler.error``) what is wrong with the ``plausible`` field of one parameter."""
    plausible = spec.get("plausible")
    if plausible is None:
        return
    document = getattr(compiler, "doc", None)
    where = path + ("plausible",)
    unit = plausible.get("unit")
    if unit is not None and unit != spec.get("unit"):
        compiler.error("E204", msg("parameter '{name}': its plausible range is in {unit}, its value in {own}",
                                   name=name, unit=unit, own=spec.get("unit") or "—"), where + ("unit",))
    if "value" in spec:
        if not _number(spec["value"]) or isinstance(spec["value"], (datetime.date, str)):
            compiler.error("E204", msg("parameter '{name}': only a number has a plausible range", name=name), where)
            return
        if "min" not in plausible or "max" not in plausible:
            compiler.error("E204", msg("parameter '{name}': a plausible range of one value gives min and max",
                                       name=name), where)
            return
        if _same_text(document, path, ("value",)):
            _check_cell(compiler, name, spec["value"], plausible["min"], plausible["max"], where, None)
        return
    cells = plausible.get("by_taille")
    if cells is None:
        compiler.error("E303", msg("parameter '{name}' has a value per taille: its plausible range gives "
                                   "by_taille too", name=name), where)
        return
    table = {str(k): (k, v) for k, v in (spec.get("by_taille") or {}).items()}
    for key, cell in cells.items():
        if str(key) not in table:
            compiler.error("E303", msg("parameter '{name}' gives a plausible range for taille {taille} but no value",
                                       name=name, taille=key), where + ("by_taille", key), key=True)
            continue
        written, value = table[str(key)]
        if _same_text(document, path, ("by_taille", written)):
            _check_cell(compiler, name, value, cell["min"], cell["max"], where + ("by_taille", key), key)


def _check_cell(compiler, name, value, low, high, where, taille):
    if low <= value <= high:
        return
    if taille is None:
        message = msg("parameter '{name}': its value {value} is outside its plausible range {low} to {high}",
                      name=name, value=value, low=low, high=high)
    else:
        message = msg("parameter '{name}', taille {taille}: its value {value} is outside its plausible range "
                      "{low} to {high}", name=name, taille=taille, value=value, low=low, high=high)
    compiler.error("E204", message, where)


def plausible_ranges(document, spec: dict, path: tuple) -> tuple[dict, str]:
    """``(ranges, reason)`` of one parameter as the compiled ruleset keeps them: taille (None for
    a single value) -> (min, max), for the figures whose range was written in the same text."""
    plausible = spec.get("plausible") or {}
    reason = plausible.get("reason", "")
    if "by_taille" not in spec:
        if "min" in plausible and "max" in plausible and _same_text(document, path, ("value",)):
            return {None: (plausible["min"], plausible["max"])}, reason
        return {}, reason
    written = {int(k): k for k in spec.get("by_taille") or {}}
    ranges = {}
    for key, cell in (plausible.get("by_taille") or {}).items():
        taille = int(key) if str(key).isdigit() else None  # anything else is check_plausible's E303
        if taille in written and isinstance(cell, dict) and "min" in cell and "max" in cell and _same_text(
                document, path, ("by_taille", written[taille])):
            ranges[taille] = (cell["min"], cell["max"])
    return ranges, reason


def uncertain_cells(ruleset) -> tuple[list, list]:
    """``(cells, unranged)``: the figures of ``ruleset`` not confirmed that have a plausible
    range (:class:`Cell`), and the ``(parameter, taille)`` of those that have none."""
    cells, unranged = [], []
    for name, parameter in ruleset.parameters.items():
        ranges, reason = parameter.ranges, parameter.range_reason
        if parameter.by_taille is None:
            confidence = parameter.confidence if isinstance(parameter.confidence, str) else "unverified"
            if confidence == "confirmed" or not _number(parameter.value):
                continue
            if None in ranges:
                cells.append(Cell(name, None, parameter.value, *ranges[None], parameter.unit, confidence, reason))
            else:
                unranged.append((name, None))
            continue
        for taille, value in sorted(parameter.by_taille.items()):
            confidence = parameter.confidence_for(taille)
            if confidence == "confirmed" or not _number(value):
                continue
            if taille in ranges:
                cells.append(Cell(name, taille, value, *ranges[taille], parameter.unit, confidence, reason))
            else:
                unranged.append((name, taille))
    return cells, unranged

"""Amendments as overlays: apply an avenant (or a proposal) to the text it amends.

An amending ruleset names its base (``amends``) and states only its changes,
like a consolidated legal text::

    changes:
      parameters: {set: {name: parameter}, edit: {name: edit}, remove: [name]}
      definitions: {set: {name: definition}, remove: [name]}
      missions | lines | obligations | indicators | payments:
        add: [item]                      # a new item, complete
        change: [{id: x, field: value}]  # only the fields that change; null removes one
        remove: [id, or {id: x, in_force: date}]
      taille | contract | rounding | annual_maximum: {...}  # replaced whole

An ``edit`` scales, shifts or completes a parameter without restating it
(:func:`.edits.edit_parameter`). Removing a mission removes what goes with it
(:func:`.edits.mission_dependents`). In a proposal, the figures the text writes are
tagged ``proposed``. Any item, change or removal may carry ``in_force``: it applies
from that date only. :func:`consolidate` builds the full document of the amended text at a
date, every node keeping the file, line and column it was written at, so the
compiler's diagnostics point into the right file.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
from decimal import Decimal

from .diagnostic import Diagnostic, msg, suggest
from .edits import (
    PROPOSED,
    edit_parameter,
    mission_dependents,
    proposed_parameter,
    proposed_taille,
    size_classes,
    size_table_problems,
    taille_literal_warnings,
)
from .ruleset import DatedProvision  # a compiled ruleset holds them (defined there: see engine/cache.py)
from .yaml_loader import Document

__all__ = ["DatedProvision", "consolidate", "in_force_view", "dated_provisions", "mission_date_problems",
           "LIST_SECTIONS", "MAP_SECTIONS"]

LIST_SECTIONS = ("missions", "indicators", "lines", "obligations", "payments")
MAP_SECTIONS = ("parameters", "definitions")
REPLACED_SECTIONS = ("rounding", "contract", "taille", "annual_maximum")
METADATA = ("id", "title", "kind", "status", "reference", "note", "dates")
_SINGULAR = {"missions": "mission", "indicators": "indicator", "lines": "line",
             "obligations": "obligation", "payments": "payment rule", "parameters": "parameter",
             "definitions": "definition"}
# The same, as a reader reads them, in their language.
_KIND_TEXTS = {"missions": msg("mission"), "indicators": msg("indicator"), "lines": msg("line"),
               "obligations": msg("obligation"), "payments": msg("payment rule"), "parameters": msg("parameter"),
               "definitions": msg("definition")}


def _in_force_of(value) -> datetime.date | None:
    if isinstance(value, dict) and isinstance(value.get("in_force"), str):
        return datetime.date.fromisoformat(value["in_force"])
    return None


@dataclasses.dataclass
class _Entry:
    data: object
    source: Document
    path: tuple
    overrides: list = dataclasses.field(default_factory=list)  # (field, value, source, path)
    grafts: list = dataclasses.field(default_factory=list)  # (field, source, path): where an edited field was written


class _Grafter:
    """Copies the positions of a subtree from one document to another place."""

    def __init__(self):
        self._indexes: dict[int, dict] = {}

    def _index(self, document: Document) -> dict:
        index = self._indexes.get(id(document))
        if index is None:
            index = {}
            for table_name in ("marks", "key_marks", "styles", "origins"):
                for key in getattr(document, table_name):
                    for size in range(len(key) + 1):
                        index.setdefault((table_name, key[:size]), []).append(key)
            self._indexes[id(document)] = index
        return index

    def graft(self, target: Document, target_path: tuple, source: Document, source_path: tuple):
        index = self._index(source)
        size = len(source_path)
        for table_name in ("marks", "key_marks", "styles", "origins", "aliases"):
            source_table, target_table = getattr(source, table_name), getattr(target, table_name)
            for key in index.get((table_name, source_path), ()):
                target_table[target_path + key[size:]] = source_table[key]
        target.origins[target_path] = source.file_of(source_path)
        own_path = source.source_path(source_path)
        if own_path != target_path:
            target.aliases[target_path] = own_path
        target.sources.update(source.sources)


def _removal_id(item):
    return item["id"] if isinstance(item, dict) else item


def consolidate(base: Document, amendment: Document, day: datetime.date | None):
    """The full document of ``amendment`` applied to ``base`` (a full document).

    ``day`` None applies every change; otherwise a change or removal with an
    ``in_force`` after ``day`` is left out. Returns ``(document, problems,
    removed)``: ``problems`` holds errors and warnings (``severity``);
    ``removed`` maps each name the amendment removes (itself or with a mission)
    to the path of its removal, so that what still reads it can be reported there.
    """
    problems: list[Diagnostic] = []
    removed: dict[str, tuple] = {}
    removed_missions: dict[str, tuple] = {}
    failed_edits: set[str] = set()
    changes = amendment.data.get("changes") or {}
    base_id = base.data.get("id")
    proposal = amendment.data.get("kind") == "proposal"
    quantum = Decimal(str((changes.get("rounding") or base.data.get("rounding") or {}).get("quantum", "0.01")))

    def problem(code, message, path, key=False):
        problems.append(amendment.diagnostic(code, message, path, key=key))

    def active(value) -> bool:
        when = _in_force_of(value)
        return day is None or when is None or when <= day

    def remove(name, spec, entries):
        for index, item in enumerate(spec.get("remove") or []):
            path = ("changes", name, "remove", index)
            key = _removal_id(item)
            if key not in entries:
                guess = suggest(key, entries)
                hint = msg(" (did you mean '{guess}'?)", guess=guess) if guess else ""
                problem("E307", msg("removes {what} '{key}', which {base} does not have{hint}", what=_KIND_TEXTS[name],
                                    key=key, base=base_id, hint=hint), path)
            elif active(item):
                del entries[key]
                removed[key] = path
                if name == "missions":
                    removed_missions[key] = path

    sections: dict[str, dict] = {}
    for name in LIST_SECTIONS:
        sections[name] = {item["id"]: _Entry(item, base, (name, index))
                          for index, item in enumerate(base.data.get(name) or [])}
    for name in MAP_SECTIONS:
        sections[name] = {key: _Entry(value, base, (name, key))
                          for key, value in (base.data.get(name) or {}).items()}

    for name in MAP_SECTIONS:
        spec = changes.get(name) or {}
        entries = sections[name]
        for key, value in (spec.get("set") or {}).items():
            if active(value):
                path = ("changes", name, "set", key)
                grafts = []
                if proposal and name == "parameters":
                    value = proposed_parameter(value)
                elif proposal:  # a definition: what reads it rests on the proposal's formula
                    if not isinstance(value, dict):  # the short form: its text is the expression's
                        value, grafts = {"expression": value}, [("expression", amendment, path)]
                    value = {**value, "confidence": PROPOSED}
                entries[key] = _Entry(value, amendment, path, grafts=grafts)
        for key, edit in (spec.get("edit") or {}).items():
            path = ("changes", name, "edit", key)
            entry = entries.get(key)
            if key in (spec.get("set") or {}):
                problem("E323", msg("parameter '{name}' is both set and edited: set it whole, or edit it",
                                    name=key), path, key=True)
            elif entry is None:
                guess = suggest(key, entries)
                hint = msg(" (did you mean '{guess}'?)", guess=guess) if guess else ""
                problem("E307", msg("edits parameter '{name}', which {base} does not have{hint}", name=key,
                                    base=base_id, hint=hint), path, key=True)
            elif active(edit):
                edited = edit_parameter(key, entry.data, edit, quantum=quantum, proposal=proposal,
                                        problem=problem, path=path)
                if edited is None:
                    failed_edits.add(key)  # reported at the edit: not again as a table that misses a taille
                else:
                    entry.data = edited
                    entry.grafts += [(field, amendment, path + (source,)) for field, source in (
                        ("by_taille", "by_taille"), ("value", "scale" if "scale" in edit else "shift"),
                        ("reference", "reference"), ("confidence", "confidence")) if source in edit]
        remove(name, spec, entries)

    for name in LIST_SECTIONS:
        spec = changes.get(name) or {}
        entries = sections[name]
        what = _KIND_TEXTS[name]
        for index, item in enumerate(spec.get("add") or []):
            path = ("changes", name, "add", index)
            if item["id"] in entries:
                problem("E308", msg("adds {what} '{id}', which {base} already has: use 'change' to modify it",
                                    what=what, id=item['id'], base=base_id), path + ("id",))
                continue
            if proposal and name != "missions" and name != "indicators":
                item = {**item, "confidence": PROPOSED}
            entries[item["id"]] = _Entry(item, amendment, path)
        for index, item in enumerate(spec.get("change") or []):
            path = ("changes", name, "change", index)
            entry = entries.get(item["id"])
            if entry is None:
                guess = suggest(item["id"], entries)
                hint = msg(" (did you mean '{guess}'?)", guess=guess) if guess else ""
                problem("E307", msg("changes {what} '{id}', which {base} does not have{hint}", what=what,
                                    id=item['id'], base=base_id, hint=hint), path + ("id",))
                continue
            if not active(item):
                continue
            for field, value in item.items():
                if field not in ("id", "in_force"):
                    entry.overrides.append((field, value, amendment, path + (field,)))
            if proposal and set(item) & _FIGURES:
                entry.overrides.append(("confidence", PROPOSED, amendment, path))
        remove(name, spec, entries)

    if removed_missions:
        _remove_with_missions(sections, removed_missions, removed, changes, base, problem)

    grafter = _Grafter()
    result = Document(amendment.file, {})
    data = result.data
    for key in METADATA:
        if key in amendment.data:
            data[key] = copy.deepcopy(amendment.data[key])
            grafter.graft(result, (key,), amendment, (key,))
    for key in REPLACED_SECTIONS:
        if key in changes:
            data[key] = copy.deepcopy(changes[key])
            if key == "taille" and proposal:
                data[key] = proposed_taille(base.data.get("taille"), data[key])
            grafter.graft(result, (key,), amendment, ("changes", key))
        elif key in base.data:
            data[key] = copy.deepcopy(base.data[key])
            grafter.graft(result, (key,), base, (key,))
    # The texts whose result formulas read (engine/crosstext.py): written at the top of any
    # text; an amending text's replace its base's, else the base's are inherited.
    for source in (amendment, base):
        if "other_texts" in source.data:
            data["other_texts"] = copy.deepcopy(source.data["other_texts"])
            grafter.graft(result, ("other_texts",), source, ("other_texts",))
            break
    for name in MAP_SECTIONS:
        if sections[name]:
            data[name] = {}
            for key, entry in sections[name].items():
                data[name][key] = copy.deepcopy(entry.data)
                grafter.graft(result, (name, key), entry.source, entry.path)
                for field, source, path in entry.grafts:
                    grafter.graft(result, (name, key, field), source, path)
    for name in LIST_SECTIONS:
        if not sections[name]:
            continue
        data[name] = []
        for index, entry in enumerate(sections[name].values()):
            item = copy.deepcopy(entry.data)
            data[name].append(item)
            grafter.graft(result, (name, index), entry.source, entry.path)
            for field, value, source, path in entry.overrides:
                if value is None:
                    item.pop(field, None)
                    continue
                item[field] = copy.deepcopy(value)
                grafter.graft(result, (name, index, field), source, path)
    result.origins[()] = amendment.file
    if "taille" in changes and size_classes(base.data.get("taille")) != size_classes(changes["taille"]):
        _check_new_size_table(changes, sections["parameters"], failed_edits, amendment, problem)
        taille_literal_warnings(result, amendment.file, base.data.get("taille"), changes["taille"],
                                lambda path, index, message: problems.append(result.diagnostic(
                                    "W020", message, path, severity="warning", index=index)))
    return result, problems, removed


# The fields of a change that hold figures: a proposal that writes one makes the item its own.
_FIGURES = frozenset({"when", "amount", "maximum", "runs_from", "deadline", "done", "installments"})


def _check_new_size_table(changes, parameters: dict, failed: set, amendment: Document, problem):
    """One diagnostic per by_taille parameter that the amendment's new size table does not fit
    (``failed``: the edits already reported)."""
    classes = changes["taille"]["classes"]
    tailles = {str(c["taille"]) for c in classes}
    edit = (changes.get("parameters") or {}).get("edit") or {}
    added = {key for key, entry in parameters.items() if entry.source is amendment and key not in edit} | failed

    def class_path(taille):
        index = next((i for i, c in enumerate(classes) if str(c["taille"]) == taille), None)
        return ("changes", "taille") if index is None else ("changes", "taille", "classes", index)

    size_table_problems({key: entry.data for key, entry in parameters.items()}, tailles, set(edit), added,
                        problem, class_path)


def _effective(entry: _Entry):
    """An item of a list section with the changes made to it."""
    item = dict(entry.data)
    for field, value, _, _ in entry.overrides:
        if value is None:
            item.pop(field, None)
        else:
            item[field] = value
    return item


def _written_at(entry: _Entry, field: tuple) -> str:
    """``file:line:col`` of a formula of an entry, where it was last written."""
    source, path = entry.source, entry.path + field
    for name, _, override_source, override_path in entry.overrides:
        if field and name == field[0]:
            source, path = override_source, override_path + field[1:]
    diagnostic = source.diagnostic("", "", path)
    return f"{diagnostic.file}:{diagnostic.line}:{diagnostic.column}" if diagnostic.line else diagnostic.file


def _remove_with_missions(sections, missions: dict, removed: dict, changes, base: Document, problem):
    """Removes what goes with the removed ``missions`` (see :func:`.edits.mission_dependents`);
    one diagnostic names every formula outside them that still reads one of them."""
    items = {name: {key: (_effective(entry) if name in LIST_SECTIONS else entry.data)
                    for key, entry in sections[name].items()} for name in sections}
    basis = (changes.get("taille") or base.data.get("taille") or {}).get("basis")
    dropped, readers = mission_dependents(items, set(missions), basis if isinstance(basis, str) else None)
    first = next(iter(missions.values()))
    for name, keys in dropped.items():
        for key in keys:
            del sections[name][key]
            removed.setdefault(key, first)
    if readers:
        names = ", ".join(f"'{m}'" for m in missions)
        parts = [msg("{section}.{id}.{field} at {where} reads {names}", section=section, id=key,
                     field=".".join(str(p) for p in field) or "expression",
                     where=_written_at(sections[section][key], field), names=", ".join(what))
                 for section, key, field, what in readers]
        problem("E325", msg("removes mission {missions}, but formulas outside it still read the mission or "
                            "what goes with it ({count}): {readers}; change or remove them in this text too",
                            missions=names, count=len(parts), readers=parts), first)


# The sections whose items name the mission they belong to (``mission: id``).
_OF_A_MISSION = ("lines", "obligations", "indicators", "definitions")


def _items_of(document: Document, name: str):
    """``(key, item)`` of each item of a list or map section."""
    value = document.data.get(name) or ([] if name in LIST_SECTIONS else {})
    return list(enumerate(value)) if name in LIST_SECTIONS else list(value.items())


def mission_date_problems(document: Document) -> list[Diagnostic]:
    """E360 for each item of a mission dated before the mission itself: it would name, from its
    own date, a mission not yet in force. (An item without a date follows its mission's.)"""
    missions = {item["id"]: _in_force_of(item) for item in document.data.get("missions") or []
                if isinstance(item, dict)}
    problems = []
    for name in _OF_A_MISSION:
        for key, item in _items_of(document, name):
            if not isinstance(item, dict) or missions.get(item.get("mission")) is None:
                continue
            own, mission = _in_force_of(item), missions[item["mission"]]
            if own is not None and own < mission:
                problems.append(document.diagnostic("E360", msg(
                    "{what} '{id}' is in force from {own}, before its mission '{mission}' ({day}): "
                    "give it the mission's date or a later one, or no date (it then follows the mission)",
                    what=_KIND_TEXTS[name], id=item["id"] if name in LIST_SECTIONS else key, own=own.isoformat(),
                    mission=item["mission"], day=mission.isoformat()), (name, key, "in_force")))
    return problems


def _not_yet_with_missions(document: Document, day: datetime.date) -> dict:
    """section -> keys of the items that go with a mission not yet in force on ``day`` and have
    no date of their own: its lines, obligations, indicators and definitions, the parameters
    and definitions only those read, the payment rules that pay only its lines
    (:func:`.edits.mission_dependents`, as for a removed mission)."""
    later = {item["id"] for item in document.data.get("missions") or []
             if isinstance(item, dict) and (_in_force_of(item) or day) > day}
    if not later:
        return {}
    # mission_dependents reads every section as {id: item}; a list section is kept by index.
    keys, items = {}, {}
    for name in LIST_SECTIONS + MAP_SECTIONS:
        if name != "missions":
            found = [(item["id"] if name in LIST_SECTIONS else key, key, item)
                     for key, item in _items_of(document, name) if name in MAP_SECTIONS or isinstance(item, dict)]
            keys[name] = {ident: key for ident, key, _ in found}
            items[name] = {ident: item for ident, _, item in found}
    basis = (document.data.get("taille") or {}).get("basis")
    dropped, _ = mission_dependents(items, later, basis if isinstance(basis, str) else None)
    # An item with its own date keeps it (E360 refuses one dated before its mission).
    return {name: {keys[name][ident] for ident in idents if _in_force_of(items[name][ident]) is None}
            for name, idents in dropped.items()}


def in_force_view(document: Document, day: datetime.date | None) -> Document:
    """``document`` without the items whose own ``in_force`` is after ``day``, nor those of a
    mission not yet in force that have no date of their own (they follow their mission's)."""
    if day is None:
        return document
    with_missions = _not_yet_with_missions(document, day)
    dropped_lists = {name: [i for i, item in enumerate(document.data.get(name) or [])
                            if (_in_force_of(item) or day) > day or i in with_missions.get(name, ())]
                     for name in LIST_SECTIONS}
    dropped_maps = {name: [k for k, v in (document.data.get(name) or {}).items()
                           if (_in_force_of(v) or day) > day or k in with_missions.get(name, ())]
                    for name in MAP_SECTIONS}
    if not any(dropped_lists.values()) and not any(dropped_maps.values()):
        return document
    grafter = _Grafter()
    result = Document(document.file, {}, origins=dict(document.origins), sources=dict(document.sources),
                      aliases=dict(document.aliases))
    for key, value in document.data.items():
        if key in LIST_SECTIONS and dropped_lists[key]:
            kept = [i for i in range(len(value)) if i not in dropped_lists[key]]
            result.data[key] = [value[i] for i in kept]
            result.marks[(key,)] = document.marks.get((key,))
            for new, old in enumerate(kept):
                grafter.graft(result, (key, new), document, (key, old))
        elif key in MAP_SECTIONS and dropped_maps[key]:
            result.data[key] = {k: v for k, v in value.items() if k not in dropped_maps[key]}
            result.marks[(key,)] = document.marks.get((key,))
            for k in result.data[key]:
                grafter.graft(result, (key, k), document, (key, k))
        else:
            result.data[key] = value
            grafter.graft(result, (key,), document, (key,))
    return result


def dated_provisions(document: Document, ruleset_id: str) -> list[DatedProvision]:
    """Every item of a full or amending document that carries its own ``in_force``."""
    found = []
    data = document.data
    for name in LIST_SECTIONS:
        for item in data.get(name) or []:
            when = _in_force_of(item)
            if when:
                found.append(DatedProvision(when, f"{_SINGULAR[name]} '{item['id']}'", ruleset_id))
    for name in MAP_SECTIONS:
        for key, value in (data.get(name) or {}).items():
            when = _in_force_of(value)
            if when:
                found.append(DatedProvision(when, f"{_SINGULAR[name]} '{key}'", ruleset_id))
    changes = data.get("changes") or {}
    for name in LIST_SECTIONS + MAP_SECTIONS:
        spec = changes.get(name) or {}
        for verb in ("add", "change", "remove"):
            for item in spec.get(verb) or []:
                when = _in_force_of(item)
                if when:
                    found.append(DatedProvision(
                        when, f"{verb} {_SINGULAR[name]} '{_removal_id(item)}'", ruleset_id))
        for verb in ("set", "edit"):  # an edit sets a value too (diff reads the verbs add, set, change, remove)
            for key, value in (spec.get(verb) or {}).items():
                when = _in_force_of(value)
                if when:
                    found.append(DatedProvision(when, f"set {_SINGULAR[name]} '{key}'", ruleset_id))
    return sorted(found, key=lambda p: p.day)

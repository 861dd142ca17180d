"""Amendments as overlays: apply an avenant (or a proposal) to the text it amends.

An amending ruleset names its base (``amends``) and states only its changes,
like a consolidated legal text::

    changes:
      parameters: {set: {name: parameter}, remove: [name]}
      definitions: {set: {name: definition}, remove: [name]}
      missions | lines | obligations | indicators | payments:
        add: [item]                      # a new item, complete
        change: [{id: x, field: value}]  # only the fields that change; null removes one
        remove: [id, or {id: x, in_force: date}]
      taille | contract | rounding | annual_maximum: {...}  # replaced whole

Any item, change or removal may carry ``in_force``: it applies from that date
only. :func:`consolidate` builds the full document of the amended text at a
date, every node keeping the file, line and column it was written at, so the
compiler's diagnostics point into the right file.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime

from .diagnostic import Diagnostic, msg, suggest
from .yaml_loader import Document

__all__ = ["DatedProvision", "consolidate", "in_force_view", "dated_provisions", "LIST_SECTIONS",
           "MAP_SECTIONS"]

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


@dataclasses.dataclass(frozen=True)
class DatedProvision:
    """A provision with its own entry into force: what it is, and from when."""

    day: datetime.date
    description: str
    ruleset: str


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
    removed)``: ``removed`` maps each name the amendment removes to the path of
    its removal, so that what still reads it can be reported there.
    """
    problems: list[Diagnostic] = []
    removed: dict[str, tuple] = {}
    changes = amendment.data.get("changes") or {}
    base_id = base.data.get("id")

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
                entries[key] = _Entry(value, amendment, ("changes", name, "set", key))
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
        remove(name, spec, entries)

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
    return result, problems, removed


def in_force_view(document: Document, day: datetime.date | None) -> Document:
    """``document`` without the items whose own ``in_force`` is after ``day``."""
    if day is None:
        return document
    dropped_lists = {name: [i for i, item in enumerate(document.data.get(name) or [])
                            if (_in_force_of(item) or day) > day] for name in LIST_SECTIONS}
    dropped_maps = {name: [k for k, v in (document.data.get(name) or {}).items()
                           if (_in_force_of(v) or day) > day] for name in MAP_SECTIONS}
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
        for key, value in (spec.get("set") or {}).items():
            when = _in_force_of(value)
            if when:
                found.append(DatedProvision(when, f"set {_SINGULAR[name]} '{key}'", ruleset_id))
    return sorted(found, key=lambda p: p.day)

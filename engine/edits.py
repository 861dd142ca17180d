"""What an amendment does to a text beyond replacing items whole: table edits, a new size
table, a removed mission, and the figures a proposal puts forward.

:mod:`.amend` consolidates an amending text over its base; it calls the functions here,
which work on the raw YAML data (numbers already ``int`` or ``Decimal``) and report
problems through a callback, each at the amending file's node:

* :func:`edit_parameter` -- ``changes.parameters.edit``: scale or shift a parameter, give
  the cells of a new taille, without restating the table;
* :func:`size_table_problems` -- the ``by_taille`` tables that miss a taille the new size
  table adds (or keep one it drops): one diagnostic per parameter;
* :func:`mission_dependents` -- what goes with a removed mission, and what still reads it;
* :func:`proposed_taille` -- the classes a proposal changes are its own figures;
* :func:`taille_literal_warnings` -- formulas that compare the taille with a number whose
  meaning the new size table changed.
"""

from __future__ import annotations

import ast
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .diagnostic import msg
from .expressions import MAX_EXPRESSION_CHARS
from .helpers import MISSION_FUNCTIONS
from .ruleset import weakest

__all__ = ["PROPOSED", "MAX_AMOUNT", "edit_parameter", "proposed_parameter", "size_table_problems",
           "size_classes", "proposed_taille", "formulas_of", "mission_dependents",
           "taille_literal_warnings"]

PROPOSED = "proposed"
# The largest amount a ruleset may hold (schemas/ruleset.schema.json, $defs/amount).
MAX_AMOUNT = Decimal("999999999999.99")
# The units whose values are euros: rounded to the ruleset's quantum (as compiler.check_cents reads them).
_MONEY_UNITS = (None, "EUR")
# Names a formula reads: identifiers outside string literals.
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)


def _number(value: Decimal):
    """``value`` as YAML would have read it written out: an int when whole, else a Decimal."""
    return int(value) if value == value.to_integral_value() else value


def _per_taille(spec, taille: str, default):
    """The entry of a number-or-map field (``scale``, ``shift``) for ``taille``."""
    if spec is None:
        return default
    if isinstance(spec, dict):
        return spec.get(taille, default)
    return spec


def _tags(confidence, cells) -> dict:
    """A parameter's confidence as one tag per cell (str taille -> tag)."""
    if isinstance(confidence, dict):
        return {key: confidence.get(key, "unverified") for key in cells}
    return {key: confidence for key in cells}


def _folded(tags: dict):
    """One tag when every cell has the same, else the map."""
    values = set(tags.values())
    return values.pop() if len(values) == 1 else dict(tags)


def proposed_parameter(spec: dict) -> dict:
    """A parameter a proposal sets: its own figure, tagged ``proposed`` (never an upgrade:
    'proposed' is the weakest tag)."""
    return {**spec, "confidence": PROPOSED}


def edit_parameter(name: str, base: dict, edit: dict, *, quantum: Decimal, proposal: bool, problem, path):
    """The parameter ``base`` after ``edit`` (a ``changes.parameters.edit`` entry), or None.

    Each cell (or the ``value``) becomes ``value * scale + shift``; an amount in euros is
    then rounded half up to ``quantum``. ``by_taille`` cells are set outright (None removes
    one). Cells not named keep their value and confidence; the cells written take the
    edit's confidence (``proposed`` in a proposal), the weaker of it and the old cell's
    when computed from it, and lose the old cell's ``plausible`` range. The reference
    becomes the old one followed by the edit's.

    ``problem(code, message, path, key=False)`` reports each problem at the edit's node; the result
    is None when there was any.
    """
    found = []

    def fail(message, where=()):
        found.append(True)
        problem("E323", message, path + where, key=len(where) == 2)  # a taille of a map: at its key

    money = base.get("unit") in _MONEY_UNITS
    scale, shift, cells = edit.get("scale"), edit.get("shift"), edit.get("by_taille")
    tag = PROPOSED if proposal else edit["confidence"]
    result = {key: value for key, value in base.items() if key not in ("by_taille", "value", "confidence")}
    result["reference"] = f"{base['reference']} ; {edit['reference']}"
    if edit.get("note"):
        result["note"] = f"{base['note']} ; {edit['note']}" if base.get("note") else edit["note"]

    def computed(value, factor, offset, where):
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            fail(msg("parameter '{name}' is not a number, so it cannot be scaled or shifted", name=name), where)
            return None
        try:
            number = Decimal(value) * Decimal(factor) + Decimal(offset)
            if money:
                number = number.quantize(quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation:  # a quantum too fine for the figure: reported like any out-of-range value
            number = MAX_AMOUNT + 1
        if not 0 <= number <= MAX_AMOUNT:
            fail(msg("parameter '{name}' would be {value}, outside 0 to {limit}", name=name, value=number,
                     limit=MAX_AMOUNT), where)
            return None
        return _number(number)

    if "by_taille" not in base:
        for field, value in (("scale", scale), ("shift", shift), ("by_taille", cells)):
            if isinstance(value, dict) or (field == "by_taille" and value is not None):
                fail(msg("parameter '{name}' has one value, not a value per taille: give {field} as one "
                         "number", name=name, field=field), (field,))
        if found:
            return None
        value = computed(base.get("value"), 1 if scale is None else scale, 0 if shift is None else shift, ())
        if value is None:
            return None
        result["value"] = value
        result.pop("plausible", None)  # the range was where the old figure plausibly lay
        old_tag = base["confidence"] if isinstance(base["confidence"], str) else weakest(*base["confidence"].values())
        result["confidence"] = weakest(old_tag, tag if isinstance(tag, str) else weakest(*tag.values()))
        return result

    old = dict(base["by_taille"])
    old_tags = _tags(base["confidence"], old)
    for field, value in (("scale", scale), ("shift", shift)):
        for key in (value if isinstance(value, dict) else {}):
            if key not in old:
                fail(msg("{field} names taille {taille}, which parameter '{name}' has no value for: give "
                         "that cell under by_taille", field=field, taille=key, name=name), (field, key))
            elif key in (cells or {}):
                fail(msg("taille {taille} of parameter '{name}' is both given under by_taille and "
                         "computed by {field}: keep one", taille=key, name=name, field=field), (field, key))
    if found:
        return None

    def tag_for(key):
        if proposal:
            return PROPOSED
        if isinstance(tag, dict):
            if key not in tag:
                fail(msg("the edit writes taille {taille} of parameter '{name}' but confidence has no tag for it",
                         taille=key, name=name), ("confidence",))
                return "unverified"
            return tag[key]
        return tag

    def touches(spec, key) -> bool:
        return spec is not None and (not isinstance(spec, dict) or key in spec)

    new, tags = {}, {}
    for key, value in old.items():
        if key in (cells or {}) or not (touches(scale, key) or touches(shift, key)):
            new[key], tags[key] = value, old_tags[key]
            continue
        edited = computed(value, _per_taille(scale, key, 1), _per_taille(shift, key, 0),
                          ("scale" if touches(scale, key) else "shift",))
        if edited is not None:
            new[key], tags[key] = edited, weakest(old_tags[key], tag_for(key))
    for key, value in (cells or {}).items():
        if value is None:
            if key not in old:
                fail(msg("by_taille removes taille {taille} of parameter '{name}', which has no value for it",
                         taille=key, name=name), ("by_taille", key))
            new.pop(key, None)
            tags.pop(key, None)
            continue
        new[key], tags[key] = value, tag_for(key)
    if found:
        return None
    if not new:
        fail(msg("the edit leaves parameter '{name}' with no value for any taille", name=name), ("by_taille",))
        return None
    result["by_taille"] = dict(sorted(new.items()))
    result["confidence"] = _folded({key: tags[key] for key in result["by_taille"]})
    written = {key for key in new if new[key] != old.get(key) or key in (cells or {})
               or touches(scale, key) or touches(shift, key)}
    _drop_ranges(result, written)
    return result


def _drop_ranges(parameter: dict, written: set) -> None:
    """Drop the ``plausible`` range of the cells an edit writes: it said where the old figure
    plausibly lay (engine/plausible.py), not the proposal's; the cells not written keep theirs."""
    plausible = parameter.get("plausible")
    if not isinstance(plausible, dict) or not written:
        return
    ranges = plausible.get("by_taille")
    kept = {key: value for key, value in ranges.items() if key not in written} if isinstance(ranges, dict) else {}
    if kept and set(plausible) <= {"by_taille", "reason", "unit"}:
        parameter["plausible"] = {**plausible, "by_taille": kept}
    else:
        parameter.pop("plausible")


def size_classes(taille) -> list:
    """The classes of a size table as comparable tuples (taille, min, max)."""
    if not isinstance(taille, dict):
        return []
    return sorted((c["taille"], c.get("min"), c.get("max")) for c in taille.get("classes") or [])


def proposed_taille(base_taille, new_taille: dict) -> dict:
    """A proposal's size table, each class it changes tagged ``proposed``; a class it restates
    as it was keeps the base's tag (an unverified boundary stays unverified)."""
    base_tags = {}
    if isinstance(base_taille, dict):
        for c in base_taille.get("classes") or []:
            base_tags[(c["taille"], c.get("min"), c.get("max"))] = c.get("confidence", base_taille["confidence"])
    classes = []
    for c in new_taille["classes"]:
        same = base_tags.get((c["taille"], c.get("min"), c.get("max")))
        classes.append({**c, "confidence": same or PROPOSED})
    return {**new_taille, "classes": classes,
            "confidence": new_taille["confidence"] if size_classes(base_taille) == size_classes(new_taille)
            else PROPOSED}


def size_table_problems(parameters: dict, tailles: set, edited: set, added: set, problem, class_path):
    """One diagnostic per ``by_taille`` parameter that does not match a new size table.

    ``parameters`` maps each name to its consolidated spec; ``tailles`` the new table's
    tailles (as text); ``edited`` the names this amendment edits (reported at the edit),
    ``added`` those it sets whole (the compiler reports those). ``class_path(taille)`` is
    the path of the new table's class for a taille, where the others are reported.
    """
    for name, spec in parameters.items():
        cells = spec.get("by_taille") if isinstance(spec, dict) else None
        if cells is None or name in added:
            continue
        missing = sorted(tailles - set(cells), key=int)
        extra = sorted(set(cells) - tailles, key=int)
        if not missing and not extra:
            continue
        where = ("changes", "parameters", "edit", name) if name in edited else class_path(
            missing[0] if missing else None)
        if missing:
            problem("E324", msg("parameter '{name}' has no value for taille {tailles}, which this text's size "
                                "table adds: give it under changes.parameters.edit.{name}.by_taille "
                                "(the other cells are inherited)", name=name, tailles=", ".join(missing)), where)
        if extra:
            problem("E324", msg("parameter '{name}' gives taille {tailles}, which this text's size table no "
                                "longer has: remove the cell with changes.parameters.edit.{name}.by_taille "
                                "({taille}: null)", name=name, tailles=", ".join(extra), taille=extra[0]), where)


# -- formulas ------------------------------------------------------------------------

def formulas_of(section: str, spec) -> list:
    """(field path, text) of each formula of an item of ``section``."""
    if section == "definitions":
        if isinstance(spec, dict):
            return [(("expression",), spec.get("expression"))]
        return [((), spec)]
    if not isinstance(spec, dict):
        return []
    if section == "lines":
        fields = ("when", "amount", "maximum", "runs_from")
    elif section == "obligations":
        fields = ("when", "deadline", "done")
    elif section == "payments":
        found = [(("when",), spec.get("when"))] if "when" in spec else []
        for index, item in enumerate(spec.get("installments") or []):
            found += [(("installments", index, field), item.get(field)) for field in ("share", "due")]
        return [(p, t) for p, t in found if isinstance(t, str)]
    else:
        return []
    return [((field,), spec[field]) for field in fields if isinstance(spec.get(field), str)]


def _names(text: str) -> set:
    return set(_NAME.findall(_STRING.sub("", text)))


def _quotes(text: str, word: str) -> bool:
    return f"'{word}'" in text or f'"{word}"' in text


def mission_dependents(items: dict, missions: set, basis: str | None):
    """What goes with the removed ``missions``, and what outside them still reads them.

    ``items`` maps each section (lines, obligations, indicators, definitions,
    parameters, payments) to {id: spec} as consolidated, the removed missions gone.
    Returns ``(dropped, readers)``: ``dropped`` maps section -> ids that go with the
    missions (their lines, obligations, indicators and definitions; the definitions
    and parameters only those read; the payment rules that paid only their lines);
    ``readers`` lists (section, id, field path, what it reads) for the formulas that
    stay and read one of them, which the caller reports in one diagnostic.
    """
    dropped = {section: set() for section in items}
    for section in ("lines", "obligations", "indicators", "definitions"):
        for key, spec in items.get(section, {}).items():
            if isinstance(spec, dict) and spec.get("mission") in missions:
                dropped[section].add(key)

    # What each item reads, and how many items still standing read each name: a definition or
    # parameter that only dropped items read goes with them. A worklist keeps this linear in
    # the size of the text (a chain of definitions read only by a removed line goes link by link).
    reads = {(section, key): set().union(*(_names(text) for _, text in formulas_of(section, spec)))
             for section, entries in items.items() for key, spec in entries.items()}
    count: dict = {}
    for (section, key), names in reads.items():
        if key not in dropped[section]:
            for name in names:
                count[name] = count.get(name, 0) + 1
    for name in (_names(basis) if basis else ()):
        count[name] = count.get(name, 0) + 1
    owner = {key: section for section in ("definitions", "parameters") for key in items.get(section, {})}
    work = [(section, key) for section, ids in dropped.items() for key in ids]
    while work:
        for name in reads[work.pop()]:
            section = owner.get(name)
            if section is not None and not count.get(name) and name not in dropped[section]:
                dropped[section].add(name)
                for read in reads[(section, name)]:
                    count[read] = count.get(read, 0) - 1
                work.append((section, name))

    def kept_formulas():
        for section, entries in items.items():
            for key, spec in entries.items():
                if key not in dropped[section]:
                    for field, text in formulas_of(section, spec):
                        yield section, key, field, text

    volets_left = {spec.get("volet") for key, spec in items.get("lines", {}).items()
                   if key not in dropped["lines"]}
    volets_gone = {items["lines"][key].get("volet") for key in dropped["lines"]}
    for key, spec in items.get("payments", {}).items():
        volets = set(spec.get("volets") or ())
        if volets & volets_gone and not volets & volets_left:
            dropped["payments"].add(key)

    gone = set().union(*(ids for section, ids in dropped.items() if section != "payments"))
    readers = []
    for section, key, field, text in kept_formulas():
        names = sorted(_names(text) & gone)
        # A mission, or one of its lines selected by id (sum_lines('id', ...), sum_maxima), is
        # read as a quoted word, not as a name.
        quoted = sorted(m for m in missions | dropped.get("lines", set()) if _quotes(text, m))
        if names or quoted:
            readers.append((section, key, field, names + [f"'{m}'" for m in quoted]))
    return {section: ids for section, ids in dropped.items() if ids}, readers


# -- the meaning of a taille written as a number -----------------------------------------

def _compares_taille(text: str, numbers: dict) -> int | None:
    """The index in ``text`` of a comparison of ``taille`` with a number (or with a
    parameter of ``numbers``, whose value is one), or None."""
    if not isinstance(text, str) or "taille" not in text or len(text) > MAX_EXPRESSION_CHARS:
        return None
    stripped = text.strip()
    try:
        tree = ast.parse("(" + stripped + "\n)", mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the compiler reports it

    def literal(node) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, int) and not isinstance(node.value, bool)
        if isinstance(node, ast.Name):
            return node.id in numbers
        if isinstance(node, (ast.Tuple, ast.List)):
            return any(literal(e) for e in node.elts)
        return False

    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not all(isinstance(op, _COMPARISONS) for op in node.ops):
            continue
        operands = [node.left, *node.comparators]
        at = next((o for o in operands if isinstance(o, ast.Name) and o.id == "taille"), None)
        if at is not None and any(literal(o) for o in operands if o is not at):
            lines = stripped.split("\n")
            line = at.lineno - 1
            column = at.col_offset - (1 if line == 0 else 0)
            lead = len(text) - len(text.lstrip())
            return lead + sum(len(part) + 1 for part in lines[:line]) + column
    return None


def _bounds(low, high) -> str:
    return f"{low if low is not None else 0}..{high if high is not None else '∞'}"


def size_table_change(before, after) -> str:
    """What a new size table changes, taille by taille.

    >>> old = {"confidence": "confirmed", "classes": [{"taille": 1, "max": 9}, {"taille": 2, "min": 10}]}
    >>> new = {"confidence": "confirmed", "classes": [{"taille": 1, "max": 9}, {"taille": 2, "min": 10, "max": 19},
    ...                                               {"taille": 3, "min": 20}]}
    >>> size_table_change(old, new)
    '2: 10..∞ -> 10..19; 3: ∅ -> 20..∞'
    """
    def by_taille(table):
        found: dict = {}
        for taille, low, high in size_classes(table):
            found.setdefault(taille, []).append(_bounds(low, high))
        return {taille: ", ".join(parts) for taille, parts in found.items()}

    old, new = by_taille(before), by_taille(after)
    return "; ".join(f"{taille}: {old.get(taille, '∅')} -> {new.get(taille, '∅')}"
                     for taille in sorted(set(old) | set(new)) if old.get(taille) != new.get(taille))


def _literal_warning(change: str):
    return msg("compares the taille with a number, and this text changes the size table (taille {change}): "
               "check that the number still means the class it meant", change=change)


def taille_literal_warnings(document, own_file: str, before, after, warn):
    """Warn at each formula written before this text that compares the taille with a number,
    when the size table changes (``before`` and ``after`` differ): 'taille == 4' meant the
    largest CPTS, and may not any more.

    ``document`` is the consolidated document; ``own_file`` the amending text's file (its own
    formulas were written for its table); ``warn(path, index, message)`` reports one.
    A scalar parameter that holds a taille (``taille == some_parameter``) counts as a
    number when this text does not set it.
    """
    if size_classes(before) == size_classes(after):
        return
    data = document.data
    numbers = {name for name, spec in (data.get("parameters") or {}).items()
               if isinstance(spec, dict) and "value" in spec and isinstance(spec["value"], int)
               and not isinstance(spec["value"], bool) and document.file_of(("parameters", name)) != own_file}
    change = size_table_change(before, after)
    for section in ("lines", "obligations", "payments"):
        for index, spec in enumerate(data.get(section) or []):
            for field, text in formulas_of(section, spec):
                path = (section, index) + field
                if document.file_of(path) == own_file:
                    continue
                where = _compares_taille(text, numbers)
                if where is not None:
                    warn(path, where, _literal_warning(change))
    for name, spec in (data.get("definitions") or {}).items():
        for field, text in formulas_of("definitions", spec):
            path = ("definitions", name) + field
            if document.file_of(path) == own_file:
                continue
            where = _compares_taille(text, numbers)
            if where is not None:
                warn(path, where, _literal_warning(change))

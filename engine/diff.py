"""What changed between two rulesets, by meaning rather than by text.

Consumes two compiled rulesets and compares what they say: metadata and in-force
dates, the size table, parameters (values per taille, references, confidence),
missions, lines (formulas side by side, and each line's maximum per taille as the
barème gives it), obligations, payment rules, indicators and provisions with their
own in-force date. The result is plain data; rendering is the CLI's business.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from decimal import Decimal

from .bareme import annual_maximum, reachable_maximum, static_maximum, tailles_of
from .ruleset import Definition, Ruleset

__all__ = [
    "Change", "AmountChange", "Step", "Cause", "Chain", "ItemDiff", "SizeTableChange", "DiffSummary", "RulesetDiff",
    "ProfileComparison", "diff_rulesets", "knock_on_causes", "group_causes", "size_moves", "summarize",
    "compare_profile", "compare_profile_table", "compare_profiles", "static_maximum", "tailles_of",
]


@dataclasses.dataclass(frozen=True)
class Change:
    """One field that differs: its name, the old and the new value (None when absent)."""

    field: str
    old: object
    new: object


@dataclasses.dataclass(frozen=True)
class AmountChange:
    """A figure for one taille (None for a value that does not depend on it), old -> new."""

    taille: int | None
    old: Decimal | None
    new: Decimal | None

    @property
    def difference(self) -> Decimal | None:
        if self.old is None or self.new is None:
            return None
        return self.new - self.old

    @property
    def percent(self) -> Decimal | None:
        if self.old in (None, 0) or self.new is None:
            return None
        return ((self.new - self.old) * 100 / self.old).quantize(Decimal("0.1"))


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a dependency path: an item read, and how (``name``: the formula names it;
    ``selection``: an aggregate over lines, such as ``sum_lines('volet', 'fixe')``, selects it;
    ``volet``: a payment rule pays the line, its volet being among the rule's)."""

    kind: str  # line | definition | parameter
    id: str
    via: str  # name | selection | volet (a payment rule pays the line: its volet is among the rule's)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "via": self.via}


@dataclasses.dataclass(frozen=True)
class Cause:
    """Why a line whose own formulas did not change may pay something else: a changed item it
    reads, directly or through other lines and definitions. ``path`` runs from what the line
    reads first to that item (the last step); ``status`` is the item's (added, removed, changed)."""

    path: tuple  # Step
    status: str

    @property
    def item(self) -> Step:
        return self.path[-1]

    def to_dict(self) -> dict:
        return {"path": [step.to_dict() for step in self.path], "status": self.status}


@dataclasses.dataclass(frozen=True)
class Chain:
    """Causes of one shape told once: the same kinds of steps, read the same way, ending on items
    of the same status (ten lines selected by an aggregate, each reading its own changed parameter).

    ``steps`` holds (kind, via) per step; ``paths`` the ids along each cause's path, in order.
    """

    steps: tuple
    status: str
    paths: tuple

    def varying(self) -> tuple:
        """The step positions whose id differs from one path to another."""
        return tuple(n for n in range(len(self.steps)) if len({path[n] for path in self.paths}) > 1)

    def to_dict(self) -> dict:
        return {"steps": [{"kind": kind, "via": via} for kind, via in self.steps], "status": self.status,
                "paths": [list(path) for path in self.paths]}


def group_causes(causes) -> tuple:
    """Causes grouped by shape (Chain), in the order their first cause comes."""
    groups: dict = {}
    for cause in causes:
        shape = tuple((step.kind, step.via) for step in cause.path)
        groups.setdefault((shape, cause.status), []).append(tuple(step.id for step in cause.path))
    return tuple(Chain(shape, status, tuple(paths)) for (shape, status), paths in groups.items())


@dataclasses.dataclass(frozen=True)
class ItemDiff:
    """An item (line, parameter, mission …) added, removed or changed.

    For an added or removed item, ``changes`` holds its fields (old or new None). A line,
    obligation or payment rule whose own formulas are unchanged but which reads something that
    changed (a knock-on effect) is ``changed`` with ``through`` naming what it reads that changed
    (Cause; for a payment rule, also the lines it pays whose amount changed) and, for a line,
    ``amounts`` its maximum per taille where that is computable and differs.
    """

    kind: str  # line | parameter | mission | definition | obligation | payment | indicator
    id: str
    status: str  # added | removed | changed
    mission: str | None
    label: str | None
    changes: tuple = ()  # Change, for a changed item
    amounts: tuple = ()  # AmountChange: per taille, for lines and parameters
    through: tuple = ()  # Cause: for a knock-on effect
    volet: str | None = None  # a line's volet (the new text's)

    @property
    def knock_on(self) -> bool:
        """A knock-on effect: for a line, through another line or definition, not only a parameter
        it names; for an obligation or a payment rule, through anything it reads or pays."""
        if self.kind != "line":
            return bool(self.through)
        return any(len(c.path) > 1 or c.item.kind != "parameter" for c in self.through)

    def chains(self) -> tuple:
        """``through`` grouped by shape (:func:`group_causes`)."""
        return group_causes(self.through)

    def paid_lines(self) -> tuple:
        """For a payment rule: the causes that are lines it pays whose amount changed."""
        return tuple(c for c in self.through if c.item.via == "volet")


@dataclasses.dataclass(frozen=True)
class SizeTableChange:
    """A change of the size table, told once: every table by taille and every line whose amount
    depends on the taille read it, so they are counted here, not listed as knock-on effects.

    ``added`` / ``removed``: tailles only one side has; ``moved``: (taille, old bounds, new
    bounds) of the tailles both have whose bounds differ; ``parameters``: the by_taille
    parameters (either side); ``lines``: the lines whose amount depends on the taille (either
    side); ``literal``: the lines, definitions, obligations and payment rules whose own formulas
    name the taille (``taille == 4``), whose meaning the new boundaries change.
    """

    added: tuple
    removed: tuple
    moved: tuple
    parameters: tuple
    lines: tuple
    literal: tuple

    def to_dict(self) -> dict:
        return {"tailles_added": list(self.added), "tailles_removed": list(self.removed),
                "bounds_moved": [{"taille": t, "old": a, "new": b} for t, a, b in self.moved],
                "by_taille_parameters": list(self.parameters), "lines_reading_taille": list(self.lines),
                "formulas_naming_taille": list(self.literal)}


@dataclasses.dataclass(frozen=True)
class DiffSummary:
    """What a reader wants first: the yearly maximum per taille before and after, what was added
    and removed, and how many figures changed.

    ``maxima`` holds one AmountChange per taille (empty when neither text declares an
    ``annual_maximum``; old or new None where a side declares none or cannot be computed);
    ``*_added`` / ``*_removed`` hold (id, label) pairs; ``changed_figures`` counts the parameter
    values (one per taille for a table) that differ, added and removed ones included.
    """

    maxima: tuple
    maximum_label: str | None
    missions_added: tuple
    missions_removed: tuple
    lines_added: tuple
    lines_removed: tuple
    changed_figures: int
    knock_ons: tuple = ()  # ItemDiff: lines changed through another line or definition they read
    counted_volets: tuple = ()  # the volets the yearly maximum adds up (the new text's, else the old's)
    knock_on_obligations: tuple = ()  # ItemDiff: obligations whose condition or deadline reads what changed
    knock_on_payments: tuple = ()  # ItemDiff: payment rules whose shares or dates read what changed,
    # or that pay lines whose amount changed
    size_table: SizeTableChange | None = None  # the size table's change, when it changed
    # (taille, "old" | "new"): a yearly maximum the side's text has for that taille but that the
    # profile decides (a counted line's maximum reads more than parameters and the taille's bounds)
    by_profile: tuple = ()

    def to_dict(self) -> dict:
        def pairs(items):
            return [{"id": key, "label": label} for key, label in items]
        return {
            "annual_maximum": {
                "label": self.maximum_label,
                "tailles": [_amount_dict(a) for a in self.maxima]},
            "missions_added": pairs(self.missions_added), "missions_removed": pairs(self.missions_removed),
            "lines_added": pairs(self.lines_added), "lines_removed": pairs(self.lines_removed),
            "changed_figures": self.changed_figures,
            "knock_on_lines": [
                {"id": i.id, "label": i.label, "in_annual_maximum": self.counts(i),
                 "tailles": [_amount_dict(a) for a in i.amounts],
                 "through": [c.to_dict() for c in i.through],
                 "chains": [c.to_dict() for c in i.chains()]} for i in self.knock_ons],
            "knock_on_obligations": [_knock_on_dict(i) for i in self.knock_on_obligations],
            "knock_on_payments": [_knock_on_dict(i) for i in self.knock_on_payments],
            "size_table": None if self.size_table is None else self.size_table.to_dict(),
        }

    def counts(self, item) -> bool | None:
        """Whether a knock-on line is counted in the yearly maximum (None: no yearly maximum)."""
        if not self.counted_volets:
            return None
        return item.volet in self.counted_volets


def _str(value):
    return None if value is None else str(value)


def _knock_on_dict(item) -> dict:
    return {"id": item.id, "label": item.label, "through": [c.to_dict() for c in item.through],
            "chains": [c.to_dict() for c in item.chains()]}


def _amount_dict(a: AmountChange) -> dict:
    return {"taille": a.taille, "old": _str(a.old), "new": _str(a.new), "difference": _str(a.difference),
            "percent": _str(a.percent)}


# How engine/amend.py describes a provision with its own date: "[verb ]kind 'key'".
_PROVISION = re.compile(r"(?:(add|set|change|remove) )?(payment rule|\w+) '(.+)'")

_KIND_ORDER = ("mission", "line", "parameter", "definition", "obligation", "payment", "indicator")


@dataclasses.dataclass(frozen=True)
class RulesetDiff:
    old: Ruleset
    new: Ruleset
    metadata: tuple  # Change
    taille: tuple  # Change (classes, basis)
    items: tuple  # ItemDiff
    provisions: tuple  # Change: provisions with their own date, old -> new
    summary: DiffSummary | None = None

    @property
    def identical(self) -> bool:
        return not (self.metadata or self.taille or self.items or self.provisions)

    def provision_groups(self) -> list:
        """The provisions whose own date changed, grouped by (old date, new date), then by what
        was done: [(old, new, [(verb, kind, [keys])])]; verb is add, set, change or remove,
        kind line, mission, parameter … (None, None and the description for one not so written)."""
        groups: dict = {}
        for change in self.provisions:
            match = _PROVISION.fullmatch(change.field)
            what = (None, None) if match is None else (match.group(1) or "add", match.group(2))
            key = change.field if match is None else match.group(3)
            groups.setdefault((change.old, change.new), {}).setdefault(what, []).append(key)
        return [(old, new, [(verb, kind, keys) for (verb, kind), keys in by_what.items()])
                for (old, new), by_what in groups.items()]

    def by_mission(self) -> dict:
        """Item diffs grouped by mission (None, last, for what belongs to no single mission),
        the mission first, then its lines, parameters and the rest."""
        groups: dict = {}
        for item in sorted(self.items, key=lambda i: _KIND_ORDER.index(i.kind)):
            groups.setdefault(item.mission, []).append(item)
        if None in groups:
            groups[None] = groups.pop(None)
        return groups


def _text(value):
    if value is None:
        return None
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return " ".join(str(value).split())


def _fields(old, new, names) -> list[Change]:
    changes = []
    for name in names:
        a, b = _text(getattr(old, name)), _text(getattr(new, name))
        if a != b:
            changes.append(Change(name, a, b))
    return changes


def _compare(kind, old_items: dict, new_items: dict, fields, mission_of, label_of, extra=None):
    result = []
    for key in list(old_items) + [k for k in new_items if k not in old_items]:
        old, new = old_items.get(key), new_items.get(key)
        if old is None or new is None:
            present = new if old is None else old
            values = tuple(Change(f, None, v) if old is None else Change(f, v, None)
                           for f in fields if (v := _text(getattr(present, f))) is not None)
            amounts = tuple(a for a in (extra(old, new) if extra else [])
                            if a.old is not None or a.new is not None)
            result.append(ItemDiff(kind, key, "added" if old is None else "removed", mission_of(present),
                                   label_of(present), values, amounts))
        else:
            changes = _fields(old, new, fields)
            amounts = tuple(a for a in (extra(old, new) if extra else []) if a.old != a.new)
            if changes or amounts:
                result.append(ItemDiff(kind, key, "changed", mission_of(new), label_of(new),
                                       tuple(changes), amounts))
    return result


def diff_rulesets(old: Ruleset, new: Ruleset) -> RulesetDiff:
    """The semantic difference from ``old`` to ``new``."""
    tailles = tailles_of(old, new)
    metadata = _fields(old, new, ("id", "title", "kind", "status", "reference", "signed", "published",
                                  "in_force", "until", "contract_years", "quantum", "chain"))

    # The yearly maximum's declaration: which volets it adds up, and on what it rests.
    for field, read in (("annual_maximum", lambda spec: ", ".join(spec.volets)),
                        ("annual_maximum_reference", lambda spec: _text(spec.reference))):
        before, after = (None if r.annual_maximum is None else read(r.annual_maximum) for r in (old, new))
        if before != after:
            metadata.append(Change(field, before, after))

    def classes(ruleset):
        if ruleset.taille is None:
            return None
        return "; ".join(f"{c.taille}: {c.low}..{'' if c.high is None else c.high}"
                         + ("" if c.confidence == "confirmed" else f" ({c.confidence})")
                         for c in ruleset.taille.classes)

    taille = []
    for field, a, b in (("classes", classes(old), classes(new)),
                        ("basis", old.taille and old.taille.basis.text, new.taille and new.taille.basis.text)):
        if a != b:
            taille.append(Change(field, a, b))

    owner = _parameter_owners(new) | _parameter_owners(old)

    def parameter_amounts(a, b):
        keys = tailles if (a and a.by_taille) or (b and b.by_taille) else [None]
        for t in keys:
            old_value = _number(a.value_for(t)) if a else None
            new_value = _number(b.value_for(t)) if b else None
            if old_value is not None or new_value is not None:
                yield AmountChange(t, old_value, new_value)

    def parameter_confidence(p):
        if p.by_taille is None:
            return p.confidence_for(None)
        return ", ".join(f"{t}: {p.confidence_for(t)}" for t in tailles if t in p.by_taille)

    items = []
    items += _compare(
        "mission", old.missions, new.missions, ("label", "kind", "reference"),
        lambda m: m.id, lambda m: m.label)
    items += _compare(
        "parameter", {k: _ParameterView(v, parameter_confidence(v)) for k, v in old.parameters.items()},
        {k: _ParameterView(v, parameter_confidence(v)) for k, v in new.parameters.items()},
        ("label", "unit", "reference", "confidence", "value"),
        lambda p: owner.get(p.name), lambda p: p.label,
        lambda a, b: parameter_amounts(a and a.parameter, b and b.parameter))
    items += _compare(
        "definition", old.definitions, new.definitions, ("expression", "mission"),
        lambda d: d.mission, lambda d: d.label)

    only_new, only_old = _tailles_of_one_side(old, new)

    def line_amounts(a, b):
        # Only where every side that has the line (and the taille) gives its maximum from
        # parameters alone: a conditional maximum is shown by its formula, not as a missing amount.
        for t in tailles:
            before = static_maximum(old, a, t) if a and t not in only_new else None
            after = static_maximum(new, b, t) if b and t not in only_old else None
            if (a is None or before is not None or t in only_new) and (b is None or after is not None or t in only_old):
                yield AmountChange(t, before, after)

    items += _compare(
        "line", {line.id: line for line in old.lines}, {line.id: line for line in new.lines},
        ("label", "mission", "volet", "when", "amount", "maximum", "reference", "confidence"),
        lambda line: line.mission, lambda line: line.label, line_amounts)
    items = _with_knock_ons(old, new, items, tailles)
    items += _compare(
        "obligation", {o.id: o for o in old.obligations}, {o.id: o for o in new.obligations},
        ("label", "mission", "when", "deadline", "done", "reference", "confidence"),
        lambda o: o.mission, lambda o: o.label)
    items += _compare(
        "payment", {p.id: _PaymentView(p) for p in old.payments}, {p.id: _PaymentView(p) for p in new.payments},
        ("label", "volets", "when", "installments", "reference", "confidence"),
        lambda p: None, lambda p: p.label)
    items = _with_other_knock_ons(old, new, items)
    items += _compare(
        "indicator", {i["id"]: _IndicatorView(i) for i in old.indicators},
        {i["id"]: _IndicatorView(i) for i in new.indicators},
        ("label", "mission", "reference", "confidence"), lambda i: i.mission, lambda i: i.label)

    def provisions(ruleset):
        return {p.description: p.day for p in ruleset.provisions}

    old_provisions, new_provisions = provisions(old), provisions(new)
    provision_changes = tuple(
        Change(description, _text(old_provisions.get(description)), _text(new_provisions.get(description)))
        for description in sorted(set(old_provisions) | set(new_provisions))
        if old_provisions.get(description) != new_provisions.get(description))
    return RulesetDiff(old, new, tuple(metadata), tuple(taille), tuple(items), provision_changes,
                       summarize(old, new, items))


def summarize(old: Ruleset, new: Ruleset, items) -> DiffSummary:
    """The summary of a diff: takes both rulesets and the item diffs of :func:`diff_rulesets`."""
    before, after = annual_maximum(old), annual_maximum(new)
    maxima = ()
    if before is not None or after is not None:
        maxima = tuple(AmountChange(t, (before or {}).get(t), (after or {}).get(t)) for t in tailles_of(old, new))
    label = (new.annual_maximum or old.annual_maximum).label if maxima else None

    def listed(kind, status):
        return tuple((i.id, i.label) for i in items if i.kind == kind and i.status == status)

    figures = 0
    for entry in items:
        if entry.kind != "parameter":
            continue
        figures += sum(1 for a in entry.amounts if a.old != a.new)
        figures += sum(1 for c in entry.changes if c.field == "value")
    rank = {line.id: n for n, line in enumerate(new.lines)}
    knock_ons = tuple(sorted((i for i in items if i.kind == "line" and i.knock_on), key=lambda i: rank[i.id]))
    declared = new.annual_maximum or old.annual_maximum
    others = {kind: tuple(i for i in items if i.kind == kind and i.knock_on) for kind in ("obligation", "payment")}
    return DiffSummary(maxima, label, listed("mission", "added"), listed("mission", "removed"),
                       listed("line", "added"), listed("line", "removed"), figures, knock_ons,
                       declared.volets if declared else (), others["obligation"], others["payment"],
                       _size_table_change(old, new),
                       tuple((t, side) for side, ruleset, values in (("old", old, before), ("new", new, after))
                             if values is not None for t in tailles_of(ruleset) if values.get(t) is None))


def _bounds(ruleset: Ruleset) -> dict:
    """Taille -> its ranges of the basis, as text ("80001..175000"; several for a taille split
    into ranges)."""
    found: dict = {}
    for size_class in (ruleset.taille.classes if ruleset.taille is not None else ()):
        high = "" if size_class.high is None else size_class.high
        found.setdefault(size_class.taille, []).append(f"{size_class.low}..{high}")
    return {taille: ", ".join(ranges) for taille, ranges in found.items()}


def _size_table_change(old: Ruleset, new: Ruleset) -> SizeTableChange | None:
    """What a change of the size table reaches (None when its classes did not change)."""
    before, after = _bounds(old), _bounds(new)
    if before == after:
        return None
    moved = tuple((t, before[t], after[t]) for t in sorted(set(before) & set(after)) if before[t] != after[t])
    parameters = sorted({name for ruleset in (old, new) for name, p in ruleset.parameters.items()
                         if p.by_taille is not None})
    lines = list(dict.fromkeys(line.id for ruleset in (new, old) for line in ruleset.lines
                               if line.id in ruleset.reads_taille))
    literal = []
    for ruleset in (new, old):
        named = [(d.name, [d.expression]) for d in ruleset.definitions.values()]
        named += [(line.id, [getattr(line, f) for f in _LINE_FORMULAS]) for line in ruleset.lines]
        named += [(o.id, [getattr(o, f) for f in _OBLIGATION_FORMULAS]) for o in ruleset.obligations]
        named += [(rule.id, _payment_formulas(rule)) for rule in ruleset.payments]
        literal += [name for name, expressions in named if "taille" in _names_of(expressions)]
    return SizeTableChange(tuple(sorted(set(after) - set(before))), tuple(sorted(set(before) - set(after))),
                           moved, tuple(parameters), tuple(lines), tuple(dict.fromkeys(literal)))


def size_moves(behaviour) -> dict:
    """(taille under the old text, taille under the new) -> how many profiles, for the profiles
    of ``behaviour`` (ProfileComparison) whose taille differs; sorted."""
    moves: dict = {}
    for row in behaviour:
        if row.old_size != row.new_size:
            moves[(row.old_size, row.new_size)] = moves.get((row.old_size, row.new_size), 0) + 1
    return dict(sorted(moves.items(), key=lambda kv: tuple(-1 if t is None else t for t in kv[0])))


# What a line's value rests on besides what it reads: a change of these is a change of the line.
_LINE_FORMULAS = ("when", "amount", "maximum", "runs_from")


def _formula(expression) -> str | None:
    return None if expression is None else " ".join(expression.text.split())


def _changed_items(old: Ruleset, new: Ruleset) -> dict:
    """Name -> (kind, status) of each parameter, definition and line whose value may differ:
    added, removed, or changed in value or formula (a line also in volet or mission, which
    aggregates select it by)."""
    found = {}

    def parameter_value(p):
        return p.value if p.by_taille is None else tuple(sorted(p.by_taille.items()))

    def line_key(line):
        return tuple(_formula(getattr(line, f)) for f in _LINE_FORMULAS) + (line.volet, line.mission)

    sides = (
        ("parameter", old.parameters, new.parameters, parameter_value),
        ("definition", old.definitions, new.definitions, lambda d: _formula(d.expression)),
        ("line", {line.id: line for line in old.lines}, {line.id: line for line in new.lines}, line_key),
    )
    for kind, before, after, key in sides:
        for name in set(before) | set(after):
            if name not in before:
                found[name] = (kind, "added")
            elif name not in after:
                found[name] = (kind, "removed")
            elif key(before[name]) != key(after[name]):
                found[name] = (kind, "changed")
    return found


def _direct_names(item) -> set:
    """The names an item's formulas name themselves (not those an aggregate selects)."""
    if isinstance(item, Definition):
        return set(item.expression.names)
    names = set()
    for field in _LINE_FORMULAS:
        expression = getattr(item, field, None)
        if expression is not None:
            names |= expression.names
    return names


def _paths(ruleset: Ruleset, start: str | None, changed: dict, reads=None, direct=None) -> dict:
    """Changed name -> the shortest path (Step tuple) from ``start`` to it in the ruleset's
    ``reads`` map, going through lines and definitions that did not change themselves.

    ``start`` is a line or definition of the ruleset; for anything else (an obligation, a
    payment rule), None, with ``reads`` the names its formulas read and ``direct`` those they
    name themselves.
    """
    items = {**ruleset.definitions, **{line.id: line for line in ruleset.lines}}

    def kind_of(name):
        if name in ruleset.parameters:
            return "parameter"
        return "definition" if name in ruleset.definitions else "line"

    def reads_of(name):
        if name is None:
            return reads, direct
        return ruleset.reads.get(name, ()), _direct_names(items[name])

    found: dict = {}
    seen = {start}
    frontier = [(start, ())]
    while frontier:
        following = []
        for name, path in frontier:
            names, named = reads_of(name)
            for read in sorted(names):
                if read in seen or not (read in items or read in ruleset.parameters):
                    continue
                seen.add(read)
                step = path + (Step(kind_of(read), read, "name" if read in named else "selection"),)
                if read in changed:
                    found[read] = step
                elif read in items:
                    following.append((read, step))
        frontier = following
    return found


def knock_on_causes(old: Ruleset, new: Ruleset, line_id: str, changed: dict | None = None) -> tuple:
    """What a line present in both rulesets reads (directly, or through lines and definitions
    that did not change) that changed: a Cause per changed item, by the compiled ``reads`` maps
    (an added item is found in the new ruleset, a removed one in the old).

    Takes both rulesets, the line's id and optionally :func:`_changed_items`'s result.
    Returns a tuple of Cause, nearest first, then by id.
    """
    changed = _changed_items(old, new) if changed is None else changed
    return _causes_on_both_sides(changed, (old, new), lambda ruleset: _paths(ruleset, line_id, changed))


def _causes_on_both_sides(changed: dict, rulesets, paths_in) -> tuple:
    """Causes from the paths ``paths_in(ruleset)`` finds in each of ``rulesets`` (the shorter
    where both find one), nearest first, then by id."""
    paths = {}
    for ruleset in rulesets:
        for name, path in paths_in(ruleset).items():
            if name not in paths or len(path) < len(paths[name]):
                paths[name] = path
    return tuple(Cause(path, changed[name][1])
                 for name, path in sorted(paths.items(), key=lambda kv: (len(kv[1]), kv[0])))


def _with_knock_ons(old: Ruleset, new: Ruleset, items: list, tailles) -> list:
    """The item diffs with each knock-on effect: a line whose own formulas are unchanged but
    which reads something changed gets its causes and its maximum per taille (0 where its
    condition excludes the taille), before and after, where computable and different."""
    changed = _changed_items(old, new)
    before = {line.id: line for line in old.lines}
    result = list(items)
    index = {(i.kind, i.id): n for n, i in enumerate(result)}
    for line in new.lines:
        previous = before.get(line.id)
        if previous is None or any(_formula(getattr(previous, f)) != _formula(getattr(line, f))
                                   for f in _LINE_FORMULAS):
            continue
        causes = knock_on_causes(old, new, line.id, changed)
        if not causes:
            continue
        at = index.get(("line", line.id))
        amounts = result[at].amounts if at is not None else ()
        if not amounts:
            # A taille only one text's size table has: "—" on the other side, not "not computable".
            only_new, only_old = _tailles_of_one_side(old, new)
            known = [AmountChange(t, None if t in only_new else reachable_maximum(old, previous, t),
                                  None if t in only_old else reachable_maximum(new, line, t)) for t in tailles]
            known = [a for a in known if (a.old is not None or a.taille in only_new)
                     and (a.new is not None or a.taille in only_old) and (a.old, a.new) != (None, None)]
            # The tailles where the maximum moves; when it moves nowhere, those where the line can
            # pay, so that a reader sees it unchanged rather than not computed.
            amounts = tuple(a for a in known if a.old != a.new) or tuple(a for a in known if a.old)
        if at is None:
            index[("line", line.id)] = len(result)
            result.append(ItemDiff("line", line.id, "changed", line.mission, line.label, (), amounts, causes,
                                   line.volet))
        else:
            result[at] = dataclasses.replace(result[at], amounts=amounts, through=causes, volet=line.volet)
    return result


_OBLIGATION_FORMULAS = ("when", "deadline", "done")


def _payment_formulas(rule) -> tuple:
    """A payment rule's formulas: its condition, then each installment's share and due date."""
    return (rule.when,) + tuple(e for i in rule.installments for e in (i.share, i.due))


def _names_of(expressions) -> set:
    names = set()
    for expression in expressions:
        if expression is not None:
            names |= expression.names
    return names


def _with_other_knock_ons(old: Ruleset, new: Ruleset, items: list) -> list:
    """The item diffs with the knock-on effects on obligations and payment rules present in both
    texts with the same formulas: an obligation whose condition, deadline or « done when » reads
    something changed; a payment rule whose condition, shares or due dates do, or which pays a
    line (of one of its volets, in either text) whose amount changed: added, removed, changed in
    its formulas, or itself a knock-on effect."""
    changed = _changed_items(old, new)
    moved = {name: status for name, (kind, status) in changed.items() if kind == "line"}
    moved.update({i.id: "changed" for i in items if i.kind == "line" and i.through and i.id not in moved})
    rank = {line.id: n for n, line in enumerate(list(new.lines) + list(old.lines))}
    result = list(items)
    index = {(i.kind, i.id): n for n, i in enumerate(result)}

    def paths_for(sides, formulas_of):
        def paths(ruleset):
            names = _names_of(formulas_of(sides[ruleset is new]))
            return _paths(ruleset, None, changed, names, names)
        return paths

    def record(kind, item, causes, mission):
        at = index.get((kind, item.id))
        if at is None:
            index[(kind, item.id)] = len(result)
            result.append(ItemDiff(kind, item.id, "changed", mission, item.label, (), (), causes))
        else:
            result[at] = dataclasses.replace(result[at], through=causes)

    before = {o.id: o for o in old.obligations}
    for obligation in new.obligations:
        previous = before.get(obligation.id)
        if previous is None or any(_formula(getattr(previous, f)) != _formula(getattr(obligation, f))
                                   for f in _OBLIGATION_FORMULAS):
            continue
        formulas = paths_for((previous, obligation), lambda o: [getattr(o, f) for f in _OBLIGATION_FORMULAS])
        causes = _causes_on_both_sides(changed, (old, new), formulas)
        if causes:
            record("obligation", obligation, causes, obligation.mission)

    before = {p.id: p for p in old.payments}
    for rule in new.payments:
        previous = before.get(rule.id)
        if previous is None or previous.volets != rule.volets or [_formula(e) for e in _payment_formulas(previous)] \
                != [_formula(e) for e in _payment_formulas(rule)]:
            continue
        causes = _causes_on_both_sides(changed, (old, new), paths_for((previous, rule), _payment_formulas))
        paid = {line.id for ruleset in (old, new) for line in ruleset.lines
                if line.volet in rule.volets and line.id in moved}
        causes += tuple(Cause((Step("line", line_id, "volet"),), moved[line_id])
                        for line_id in sorted(paid, key=rank.get))
        if causes:
            record("payment", rule, causes, None)
    return result


def _tailles_of_one_side(old: Ruleset, new: Ruleset) -> tuple:
    """(the tailles only the new size table has, those only the old one has)."""
    before, after = set(tailles_of(old)), set(tailles_of(new))
    return after - before, before - after


def _number(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    return None


def _parameter_owners(ruleset: Ruleset) -> dict:
    """Parameter -> the one mission whose lines read it (none when several or none do)."""
    owners: dict = {}
    for item in list(ruleset.lines) + list(ruleset.obligations):
        names = set()
        for field in ("when", "amount", "maximum", "deadline", "done"):
            expression = getattr(item, field, None)
            if expression is not None:
                names |= expression.names
        for name in names & set(ruleset.parameters):
            owners.setdefault(name, set()).add(item.mission)
    return {name: next(iter(missions)) for name, missions in owners.items() if len(missions) == 1}


class _ParameterView:
    """A parameter as the diff compares it: non-number values as text, confidence per taille."""

    def __init__(self, parameter, confidence):
        self.parameter = parameter
        self.name = parameter.name
        self.label = parameter.label
        self.unit = parameter.unit
        self.reference = parameter.reference
        self.confidence = confidence
        self.value = None if _number(parameter.value) is not None or parameter.by_taille else parameter.value


class _PaymentView:
    def __init__(self, rule):
        self.id = rule.id
        self.label = rule.label
        self.volets = rule.volets
        self.when = rule.when
        self.installments = "; ".join(
            f"{i.label}: {i.share.text} à {i.due.text}" for i in rule.installments)
        self.reference = rule.reference
        self.confidence = rule.confidence


class _IndicatorView:
    def __init__(self, spec):
        self.id = spec["id"]
        self.label = spec.get("label")
        self.mission = spec.get("mission")
        self.reference = spec.get("reference")
        self.confidence = spec.get("confidence")


@dataclasses.dataclass(frozen=True)
class ProfileComparison:
    """One profile evaluated under both rulesets on one date."""

    name: str
    file: str
    date: datetime.date
    old_total: Decimal
    new_total: Decimal
    missions: dict  # mission id (None for lines of no mission) -> (old amount, new amount)
    old_size: int | None = None  # the profile's taille under each text on the date
    new_size: int | None = None

    @property
    def difference(self) -> Decimal:
        return self.new_total - self.old_total

    def mission_differences(self) -> dict:
        """Mission -> (old amount, new amount, difference), in the order of ``missions``."""
        return {m: (a, b, b - a) for m, (a, b) in self.missions.items()}

    def to_dict(self) -> dict:
        return {
            "name": self.name, "file": self.file, "date": self.date.isoformat(),
            "old_total": str(self.old_total), "new_total": str(self.new_total),
            "difference": str(self.new_total - self.old_total),
            "old_size": self.old_size, "new_size": self.new_size,
            "missions": {str(m) if m is not None else "_none": {"old": str(a), "new": str(b), "difference": str(b - a)}
                         for m, (a, b) in self.missions.items()},
        }


def compare_profile(old_result, new_result) -> ProfileComparison:
    """Totals and per-mission amounts of one profile under two rulesets."""
    missions: dict = {}
    for side, result in ((0, old_result), (1, new_result)):
        for line in result.lines:
            pair = missions.setdefault(line.mission, [Decimal("0.00"), Decimal("0.00")])
            pair[side] += line.amount
    profile = new_result.profile
    return ProfileComparison(profile.name, profile.file, new_result.date, old_result.total, new_result.total,
                             {m: (a, b) for m, (a, b) in missions.items()}, old_result.size, new_result.size)


def compare_profile_table(timelines, path: str, day: datetime.date, known_missions, *, csv_dialect: str = "auto",
                          outcomes: list | None = None, assume=None, gaps=None) -> list[ProfileComparison]:
    """What each CPTS of a CSV or JSON Lines file of profiles receives under each of two timelines
    on ``day``: the file read and checked as `batch` and `compare` read it
    (:func:`~.batch.read_profiles`, ``csv_dialect`` among :data:`~.batch.CSV_DIALECTS`), then as
    :func:`compare_profiles` (``assume`` and ``gaps`` too). Raises InputError with every problem of every row."""
    from .batch import check_profiles, read_profiles
    from .diagnostic import InputError
    from .impact import profile_comparisons
    from .profile import compile_profile

    known = set(known_missions)
    sources = read_profiles(path, known, csv_dialect)
    problems = check_profiles(sources, known)
    if problems:
        raise InputError(problems)
    profiles = [compile_profile(source.document) for source in sources]
    return profile_comparisons(timelines, profiles, day, outcomes=outcomes, assume=assume, gaps=gaps)


def compare_profiles(timelines, documents, day: datetime.date, known_missions, *,
                     outcomes: list | None = None, assume=None, gaps=None) -> list[ProfileComparison]:
    """What each profile among ``documents`` receives under each of two timelines on ``day``.

    Takes the (old, new) timelines, loaded YAML documents (a ruleset among them adds the missions
    it declares to ``known_missions``, other kinds are skipped), the date and the mission ids
    known. Returns one ProfileComparison a profile, in order. Raises InputError with every
    problem of every profile. ``outcomes``, when given, receives the vectorised backend's outcomes
    (:func:`~.impact.profile_comparisons`), which applies ``assume`` (the analyst's rates of
    achievement, :class:`~.assumptions.Assumed`) to every profile and counts in ``gaps`` the
    years of later contracts read with no rate.
    """
    from .diagnostic import InputError
    from .library import declared_missions, document_kind
    from .profile import compile_profile, validate_profile

    known = set(known_missions)
    for document in documents:
        if document_kind(document) == "ruleset":  # a text given beside the profiles
            known |= declared_missions(document)
    problems, profiles = [], []
    for document in documents:
        if document_kind(document) != "profile":
            continue
        found = validate_profile(document, known)
        if found:
            problems.extend(found)
            continue
        profiles.append(compile_profile(document))
    if problems:
        raise InputError(problems)
    # Each text from its own date (DESIGN.md § Time): the year's amounts under each timeline; many
    # profiles go to the vectorised backend (the one dispatch: engine/impact.py).
    from .impact import profile_comparisons

    return profile_comparisons(timelines, profiles, day, outcomes=outcomes, assume=assume, gaps=gaps)

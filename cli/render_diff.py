"""Formatters for ``aci-rules diff``: a table for a person, markdown for a memo, JSON for a program.

Text and markdown open with the summary the engine computed (the yearly maximum per taille
before and after, what was added and removed, how many figures changed), then the detail by
mission. Items are named by their label, the id in parentheses; fields by their French name;
formulas as written, with a French reading; each per-taille table once (a parameter whose
figures a line already shows points to that line). JSON keeps the engine's English keys.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal

from aci_rules.engine.diff import RulesetDiff, group_causes, size_moves

from .i18n import N_, _, language, render
from .reading import read_formula
from .render import _plain, euros, json_dumps

__all__ = ["diff_to_dict", "knock_on_view", "render_diff_text", "render_diff_markdown", "render_diff_json"]

class _Words(dict):
    """English words (catalog templates) that read in the current language."""

    def __getitem__(self, key):
        return render(super().__getitem__(key))

    def get(self, key, default=None):
        return self[key] if key in self else default


# Every word a reader sees, in one place (the catalogs give the French).
_KIND = _Words({"line": N_("line"), "parameter": N_("parameter"), "mission": N_("mission"),
                "definition": N_("definition"), "obligation": N_("obligation"), "payment": N_("payment rule"),
                "indicator": N_("indicator")})
_KINDS = _Words({"line": N_("lines"), "parameter": N_("parameters"), "mission": N_("missions"),
                 "definition": N_("definitions"), "obligation": N_("obligations"), "payment": N_("payment rules"),
                 "indicator": N_("indicators")})
_STATUS = _Words({"added": N_("added"), "removed": N_("removed"), "changed": N_("changed")})
_FEMININE = {"line", "mission", "definition", "obligation", "payment"}
_MARK = {"added": "+", "removed": "-", "changed": "~"}
_FIELD = _Words({
    "id": N_("identifier"), "title": N_("label"), "label": N_("label"), "kind": N_("kind"), "status": N_("status"),
    "reference": N_("reference"), "signed": N_("signed on"), "published": N_("published on"),
    "in_force": N_("in force on"), "until": N_("until"), "contract_years": N_("contract length (years)"),
    "quantum": N_("rounding"), "chain": N_("consolidated texts"), "annual_maximum": N_("yearly maximum (volets)"),
    "annual_maximum_reference": N_("reference of the yearly maximum"), "classes": N_("classes"),
    "basis": N_("basis"), "mission": N_("mission"), "volet": N_("volet"), "when": N_("condition"),
    "amount": N_("amount"), "maximum": N_("maximum"), "confidence": N_("confidence"), "unit": N_("unit"),
    "value": N_("value"), "expression": N_("formula"), "deadline": N_("deadline"), "done": N_("done when"),
    "volets": N_("volets"), "installments": N_("installments"), "amount_maximum": N_("amount and maximum"),
})
_FORMULAS = {"when", "amount", "maximum", "expression", "deadline", "done", "basis"}
# Conditions and dates are read aloud; an amount only when it has a condition or a function in it.
_ALWAYS_READ = {"when", "expression", "deadline", "done"}
_VERB = _Words({"add": N_("addition"), "set": N_("value"), "change": N_("change"), "remove": N_("removal")})
_PROVISION_KIND = _Words({"line": N_("line"), "mission": N_("mission"), "parameter": N_("parameter"),
                          "definition": N_("definition"), "obligation": N_("obligation"),
                          "indicator": N_("indicator"), "payment rule": N_("payment rule")})
_GENERAL = N_("Outside missions (general provisions)")
_WIDTH = 110


def _money(value) -> str:
    return "—" if value is None else euros(value)


def _maximum(summary, amount, side: str) -> str:
    """A yearly maximum of the summary: "—" where the side's text has no such taille or no
    yearly maximum, "by profile" where the profile decides it."""
    if (amount.taille, side) in summary.by_profile:
        return _("by profile")
    return _money(getattr(amount, side))


def _signed(value: Decimal | None, percent: Decimal | None) -> str:
    if value is None:
        return ""
    sign = "+" if value > 0 else ""
    text = f"{sign}{euros(value)}"
    if percent is not None:
        text += " (" + _("{percent}%").format(percent=f"{'+' if percent > 0 else ''}{_decimal(percent)}") + ")"
    return text


def _decimal(value) -> str:
    """A number with the decimal mark of the reader's language."""
    return _plain(value).replace(".", ",") if language() == "fr" else _plain(value)


def _amount_value(amount, value):
    # Counts and rates (no taille) are shown as numbers, amounts per taille as euros.
    if value is None:
        return "—"
    return euros(value) if amount.taille is not None else _decimal(value)


def _status(item, several=False) -> str:
    return _agreed(item.status, item.kind, several)


def _agreed(status, kind, several=False) -> str:
    """added / removed / changed, agreeing in French with the kind's gender and number."""
    word = _STATUS[status]
    if language() != "fr":
        return word
    return word + ("e" if kind in _FEMININE else "") + ("s" if several else "")


def _named(label, key) -> str:
    return _("“{label}” ({key})").format(label=label, key=key) if label else f"({key})"


def _value(field, value) -> str:
    """A field's value as a reader wants it: confidence per taille collapsed when all alike."""
    if value is None:
        return "—"
    if field == "confidence" and ":" in value:
        tags = dict(part.split(": ", 1) for part in value.split(", ") if ": " in part)
        if len(set(tags.values())) == 1:
            return _("{tag} (every taille)").format(tag=next(iter(tags.values())))
        groups: dict = {}
        for taille, tag in tags.items():
            groups.setdefault(tag, []).append(taille)
        return _("; ").join(f"{tag} (taille{'s' if len(t) > 1 else ''} {', '.join(t)})" for tag, t in groups.items())
    return value


def _reading(field, value) -> str | None:
    if field not in _FORMULAS or not value or language() != "fr":  # the reading is French (cli/reading.py)
        return None
    if field not in _ALWAYS_READ and " if " not in value and "(" not in value:
        return None
    return read_formula(value)


def _side_names(diff: RulesetDiff, names) -> tuple:
    return names or (diff.old.id, diff.new.id)


def _mission_title(diff: RulesetDiff, mission_id) -> str:
    if mission_id is None:
        return render(_GENERAL)
    mission = diff.new.missions.get(mission_id) or diff.old.missions.get(mission_id)
    name = _named(mission.label if mission else None, mission_id)
    if mission_id not in diff.old.missions:
        return _("Mission {name} — added").format(name=name)
    if mission_id not in diff.new.missions:
        return _("Mission {name} — removed").format(name=name)
    return _("Mission {name}").format(name=name)


def _reads(diff: RulesetDiff, item) -> set:
    """The parameters a line's maximum (or amount) reads, on the side(s) that have it."""
    names = set()
    for ruleset in (diff.old, diff.new):
        for line in ruleset.lines:
            if line.id == item.id:
                names |= (line.maximum or line.amount).names
    return names


def _tables(diff: RulesetDiff) -> dict:
    """Item (kind, id) -> the (label, id) of the line whose identical per-taille table is shown
    instead, for each table that would repeat one (a parameter read by that line, or a second
    line reading the same parameter)."""
    shown: dict = {}  # table key -> (line label, id, names it reads)
    instead = {}
    for items in diff.by_mission().values():
        for item in items:
            if item.kind not in ("line", "parameter") or not any(a.taille is not None for a in item.amounts):
                continue
            key = tuple((a.taille, a.old, a.new) for a in item.amounts)
            reads = _reads(diff, item) if item.kind == "line" else {item.id}
            first = shown.get(key)
            if first is not None and (reads & first[2] or item.id in first[2]):
                instead[(item.kind, item.id)] = first[:2]
            elif item.kind == "line":
                shown[key] = (item.label, item.id, reads)
    return instead


def _merged(items) -> list:
    """Changed parameters with the same changes and no figures are told once, as one group."""
    out: list = []
    for item in items:
        previous = out[-1] if out else None
        if (item.kind == "parameter" and item.status == "changed" and not item.amounts and previous
                and previous[0].kind == "parameter" and previous[0].status == "changed"
                and not previous[0].amounts and previous[0].changes == item.changes):
            previous.append(item)
        else:
            out.append([item])
    return out


def _provisions(diff: RulesetDiff) -> list:
    """(old date, new date, [French description]) of the engine's groups of provisions."""
    out = []
    for old, new, entries in diff.provision_groups():
        phrases = []
        for verb, kind, keys in entries:
            what = "" if verb is None else _("{verb} ({kind}):").format(verb=_VERB.get(verb),
                                                                       kind=_PROVISION_KIND.get(kind, kind))
            phrases.append(f"{what} {', '.join(keys)}".strip())
        out.append((old, new, phrases))
    return out


def diff_to_dict(diff: RulesetDiff, behaviour=None, names=None, summary_only=False) -> dict:
    """The JSON document of a diff (and of the behavioural diff, when given); English keys.
    With ``summary_only``, the sides, ``identical`` and ``summary`` alone."""
    def amount(a):
        return {"taille": a.taille, "old": None if a.old is None else str(a.old),
                "new": None if a.new is None else str(a.new),
                "difference": None if a.difference is None else str(a.difference),
                "percent": None if a.percent is None else str(a.percent)}

    old_name, new_name = _side_names(diff, names)
    document = {
        "old": {"id": diff.old.id, "chain": list(diff.old.chain), "name": old_name},
        "new": {"id": diff.new.id, "chain": list(diff.new.chain), "name": new_name},
        "identical": diff.identical,
        "summary": diff.summary.to_dict() if diff.summary is not None else None,
        "metadata": [{"field": c.field, "old": c.old, "new": c.new} for c in diff.metadata],
        "taille": [{"field": c.field, "old": c.old, "new": c.new} for c in diff.taille],
        "items": [{"kind": i.kind, "id": i.id, "status": i.status, "mission": i.mission, "label": i.label,
                   "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in i.changes],
                   "amounts": [amount(a) for a in i.amounts],
                   "through": [c.to_dict() for c in i.through],
                   "chains": [c.to_dict() for c in i.chains()]} for i in diff.items],
        "provisions": [{"provision": c.field, "old": c.old, "new": c.new} for c in diff.provisions],
    }
    if summary_only:
        document = {key: document[key] for key in ("old", "new", "identical", "summary")}
    if behaviour is not None:
        document["profiles"] = [row.to_dict() for row in behaviour]
        if document["summary"] is not None and diff.summary.size_table is not None:
            document["summary"]["size_table"]["profiles_changing_taille"] = [
                {"old": a, "new": b, "count": n} for (a, b), n in size_moves(behaviour).items()]
    return document


def render_diff_json(diff: RulesetDiff, behaviour=None, names=None, summary_only=False) -> str:
    return json_dumps(diff_to_dict(diff, behaviour, names, summary_only))


# -- text ---------------------------------------------------------------------------------------


def _wrap(text: str, indent: str, first: str = "") -> list:
    return textwrap.wrap(text, _WIDTH, initial_indent=indent + first, subsequent_indent=indent + " " * len(first)) \
        or [indent + first]


def _figures(count: int) -> str:
    if count == 0:
        return _("Changed figures: none")
    if count == 1:
        return _("Changed figures: 1 parameter value (per taille), added, removed or changed")
    return _("Changed figures: {count} parameter values (per taille), added, removed or changed").format(count=count)


def _added_and_removed(summary) -> tuple:
    """The summary's added and removed missions and lines, each group with its title."""
    return ((_("Missions added"), summary.missions_added), (_("Missions removed"), summary.missions_removed),
            (_("Lines added"), summary.lines_added), (_("Lines removed"), summary.lines_removed))


def _sides(width: int) -> str:
    """The before / after / difference heads of a table of figures, right-aligned."""
    return f"{_('before'):>{width}} {_('after'):>15}   {_('difference')}"


def _causes(causes) -> list:
    """Dependency paths as a reader follows them, each shape told once (engine.diff.Chain): one
    path as its steps then what happened to the last; paths that differ at one step only as
    that step's ids listed; paths that differ at several steps as their shape, then each path."""
    return [_chain(chain) for chain in group_causes(causes)]


def _chain(chain) -> str:
    varying = chain.varying()
    last_several = len(chain.steps) - 1 in varying
    word = _agreed(chain.status, chain.steps[-1][0], last_several)
    if len(varying) <= 1:
        steps = []
        for n, (kind, via) in enumerate(chain.steps):
            ids = list(dict.fromkeys(path[n] for path in chain.paths))
            steps.append(_step(kind, ", ".join(ids), via, len(ids) > 1))
        return " → ".join(steps) + f" — {word}"
    shape = " → ".join(_step(kind, None, via) for kind, via in chain.steps)
    paths = _("; ").join(" → ".join(path) for path in chain.paths)
    return _("{count} paths {shape} — {status}: {paths}").format(
        count=len(chain.paths), shape=shape, status=word, paths=paths)


def _step(kind, key, via, several=False) -> str:
    text = (_KINDS if several else _KIND)[kind] + ("" if key is None else f" ({key})")
    if via == "selection":
        text += " " + (_("(each selected by an aggregate)") if several else _("(selected by an aggregate)"))
    elif via == "volet":
        text += " " + (_("(each paid by this rule)") if several else _("(paid by this rule)"))
    return text


def _knock_on_place(summary, item) -> str:
    counted = summary.counts(item)
    if counted is None:
        return ""
    return ", " + (_("counted in the yearly maximum") if counted else _("not counted in the yearly maximum"))


def _knock_ons_text(summary, behaviour=None) -> list:
    out = []
    if not summary.knock_ons:
        out.append("  " + _("Knock-on effects: none"))
    else:
        out.append("  " + _("Knock-on effects ({count}): lines unchanged in themselves that read what changed, "
                            "and their maximum per taille").format(count=len(summary.knock_ons)))
    for item in summary.knock_ons:
        out.extend(_wrap(_named(item.label, item.id) + _knock_on_place(summary, item), "      "))
        for cause in _causes(item.through):
            out.extend(_wrap(cause, "        ", _("through: ")))
        if _unchanged(item):
            out.extend(_wrap(_unchanged_maxima(item), "        "))
            continue
        for a in item.amounts:
            out.append(f"        taille {a.taille!s:<2} {_money(a.old):>15} → {_money(a.new):>15}   "
                       f"{_signed(a.difference, a.percent)}".rstrip())
    for title, items in _other_knock_ons(summary):
        out.extend(_wrap(title, "  "))
        for item in items:
            causes = _other_causes(item)
            paid = causes.pop() if item.paid_lines() else None
            out.extend(_wrap(_named(item.label, item.id) + (_(": ") + paid if paid else ""), "      "))
            for cause in causes:
                out.extend(_wrap(cause, "        ", _("through: ")))
    out.extend("  " + line if n == 0 else line for n, line in enumerate(_size_table_text(summary, behaviour)))
    return out


def _other_knock_ons(summary) -> list:
    """(title, items) of the obligations and payment rules changed by what they read or pay."""
    out = []
    if summary.knock_on_obligations:
        out.append((_("Obligations whose condition or deadline reads what changed ({count}):").format(
            count=len(summary.knock_on_obligations)), summary.knock_on_obligations))
    if summary.knock_on_payments:
        out.append((_("Payment rules whose shares or dates read what changed, or that pay lines whose amount "
                      "changes ({count}):").format(count=len(summary.knock_on_payments)), summary.knock_on_payments))
    return out


def _other_causes(item) -> list:
    """An obligation's or a payment rule's causes: what its formulas read, then (a payment rule)
    the lines it pays whose amount changes, by status."""
    read = [c for c in item.through if c.item.via != "volet"]
    out = _causes(read)
    paid = item.paid_lines()
    if paid:
        by_status: dict = {}
        for cause in paid:
            by_status.setdefault(cause.status, []).append(cause.item.id)
        out.append(_("pays {count} lines whose amount changes: {lines}").format(
            count=len(paid), lines=_("; ").join(f"{', '.join(ids)} ({_agreed(status, 'line', len(ids) > 1)})"
                                                for status, ids in by_status.items()))
                   if len(paid) > 1 else
                   _("pays a line whose amount changes: {lines}").format(
                       lines=f"{paid[0].item.id} ({_agreed(paid[0].status, 'line')})"))
    return out


def _size_table_lines(summary, behaviour=None) -> list:
    """The size table's change told once (title first): what moved, what reads it, and with
    profiles how many CPTS change taille."""
    change = summary.size_table
    if change is None:
        return []
    what = [_("taille {taille} added").format(taille=t) for t in change.added]
    what += [_("taille {taille} removed").format(taille=t) for t in change.removed]
    what += [_("taille {taille}: {old} → {new}").format(taille=t, old=a, new=b) for t, a, b in change.moved]
    out = [_("The size table changes: {what}").format(what=_("; ").join(what))]
    out.append(_("Every table by taille ({parameters} parameters) and every line whose amount depends on the taille "
                 "({lines} lines) reads it: they are not listed one by one as knock-on effects.").format(
        parameters=len(change.parameters), lines=len(change.lines)))
    if change.literal:
        out.append(_("Formulas that name the taille itself, whose meaning moves with the boundaries: {names}").format(
            names=", ".join(change.literal)))
    if behaviour is None:
        out.append(_("With --profiles and --date, the diff counts the CPTS that change taille."))
    else:
        moves = size_moves(behaviour)
        moving = sum(moves.values())
        out.append((_("Of the {total} profiles, {count} change taille: {moves}") if moving > 1 else
                    _("Of the {total} profiles, one changes taille: {moves}") if moving else
                    _("Of the {total} profiles, none changes taille.")).format(
            total=len(behaviour), count=moving,
            moves=_("; ").join(_("{old} → {new}: {count}").format(old=_size_name(a), new=_size_name(b), count=n)
                               for (a, b), n in moves.items())))
    return out


def knock_on_view(diff: RulesetDiff, behaviour=None) -> dict:
    """The summary's knock-on effects and size table change as a page shows them: ``entries`` one
    entry per affected line, obligation or payment rule (kind, id, label, where it is counted,
    its chains read aloud, its maximum per taille), ``size_table`` the lines telling the size
    table's change (empty when it did not change)."""
    summary = diff.summary
    if summary is None:
        return {"entries": [], "size_table": []}
    entries = []
    for item in summary.knock_ons + summary.knock_on_obligations + summary.knock_on_payments:
        entries.append({
            "kind": _KIND[item.kind], "id": item.id, "label": item.label,
            "place": _knock_on_place(summary, item).lstrip(", ") if item.kind == "line" else "",
            "causes": _item_causes(item),
            "unchanged": _unchanged_maxima(item) if _unchanged(item) else None,
            "amounts": [] if _unchanged(item) else [a for a in item.amounts if a.taille is not None]})
    return {"entries": entries, "size_table": _size_table_lines(summary, behaviour)}


def _item_causes(item) -> list:
    return _causes(item.through) if item.kind == "line" else _other_causes(item)


def _through_title(item) -> str:
    return _("through what it reads or pays:") if item.paid_lines() else _("through what it reads:")


def _size_name(taille) -> str:
    return _("no taille") if taille is None else str(taille)


def _size_table_text(summary, behaviour=None) -> list:
    lines = _size_table_lines(summary, behaviour)
    if not lines:
        return []
    out = _wrap(lines[0], "")
    for line in lines[1:]:
        out.extend(_wrap(line, "      "))
    return out


def _unchanged(item) -> bool:
    """A knock-on line whose maximum moves at no taille (its amounts hold the tailles where it can pay)."""
    return bool(item.through) and bool(item.amounts) and all(a.old == a.new for a in item.amounts)


def _unchanged_maxima(item) -> str:
    return _("maximum unchanged: {cells}").format(
        cells=_("; ").join(_("{taille}: {amount}").format(taille=a.taille, amount=_money(a.new))
                           for a in item.amounts if a.taille is not None))


def _summary_text(diff: RulesetDiff, behaviour=None) -> list:
    summary = diff.summary
    out = [_("Overview")]
    if summary.maxima:
        out.append("  " + _("{label}, per taille").format(label=summary.maximum_label))
        out.append(f"    {'':<9} {_sides(15)}")
        for a in summary.maxima:
            out.append(f"    taille {a.taille!s:<2} {_maximum(summary, a, 'old'):>15} "
                       f"{_maximum(summary, a, 'new'):>15}   "
                       f"{_signed(a.difference, a.percent)}".rstrip())
    for title, pairs in _added_and_removed(summary):
        if not pairs:
            out.append("  " + _("{title}: none").format(title=title))
            continue
        out.append("  " + _("{title} ({count}):").format(title=title, count=len(pairs)))
        for key, label in pairs:
            out.extend(_wrap(_named(label, key), "      ", ""))
    out.append(f"  {_figures(summary.changed_figures)}")
    out.extend(_knock_ons_text(summary, behaviour))
    return out


def _change_text(field, old, new, status) -> list:
    name = _FIELD.get(field, field)
    if status != "changed":
        value = new if status == "added" else old
        out = _wrap(_value(field, value), "      ", _("{name}: ").format(name=name))
        reading = _reading(field, value)
        if reading:
            out.extend(_wrap(reading, "        ", _("reading: ")))
        return out
    old_text, new_text = _value(field, old), _value(field, new)
    if field not in _FORMULAS and len(old_text) + len(new_text) + len(name) < 80:
        return ["      " + _("{name}: {old} → {new}").format(name=name, old=old_text, new=new_text)]
    out = ["      " + _("{name}:").format(name=name)]
    width = max(len(_("before")), len(_("after"))) + 2
    out.extend(_wrap(old_text, "        ", _("before").ljust(width)))
    out.extend(_wrap(new_text, "        ", _("after").ljust(width)))
    reading = _reading(field, new)
    if reading:
        out.extend(_wrap(reading, "        ", _("reading (after): ")))
    return out


def _item_title(item, group, named, strong=lambda word: word) -> str:
    if len(group) > 1:
        return (f"{strong(_KINDS[item.kind])} " + ", ".join(named(i.label, i.id) for i in group)
                + f" — {_status(item, several=True)}")
    if item.kind == "mission":
        return f"{strong(_KIND[item.kind])} ({item.id}) — {_status(item)}"
    knock_on = " " + _("(knock-on effect)") if item.knock_on and not item.changes else ""
    return f"{strong(_KIND[item.kind])} {named(item.label, item.id)} — {_status(item)}{knock_on}"


def _whole_fields(item) -> list:
    """(French name, value) of an added or removed item: the unit goes with its value, the
    confidence with the reference; the label and mission are in the title already."""
    values = {c.field: (c.new if item.status == "added" else c.old) for c in item.changes}
    unit = values.pop("unit", None)
    confidence = values.pop("confidence", None)
    values.pop("label", None)
    values.pop("mission", None)
    single = [a for a in item.amounts if a.taille is None]
    if single:
        value = single[0].new if item.status == "added" else single[0].old
        values["value"] = _amount_value(single[0], value)
    if unit and "value" in values and unit not in ("EUR", "nombre", "date"):
        values["value"] = f"{values['value']} {unit}"
    if values.get("amount") is not None and values.get("amount") == values.get("maximum"):
        values["amount_maximum"] = values.pop("amount")
        values.pop("maximum")
    if confidence is not None:
        confidence = _value("confidence", confidence)
        if "value" in values:
            values["value"] = f"{values['value']} [{confidence}]"
        elif values.get("reference"):
            values["reference"] = f"[{confidence}] {values['reference']}"
        else:
            values["confidence"] = confidence
    return [(field, value) for field, value in values.items()]


def _per_taille_line(item) -> str:
    cells = [_("{taille}: {amount}").format(taille=a.taille, amount=_money(a.new if item.status == 'added' else a.old))
             for a in item.amounts if a.taille is not None]
    return (_("maximum per taille") if item.kind == "line" else _("per taille")) + " — " + _("; ").join(cells)


def _item_text(diff, group, instead) -> list:
    item = group[0]
    out = _wrap(_item_title(item, group, _named), "  ", f"{_MARK[item.status]} ")
    if item.through:
        out.append("      " + _through_title(item))
        for cause in _item_causes(item):
            out.extend(_wrap(cause, "        "))
    if item.status == "changed":
        for change in item.changes:
            out.extend(_change_text(change.field, change.old, change.new, item.status))
    else:
        for field, value in _whole_fields(item):
            if field == "confidence":
                out.append("      " + _("{name}: {value}").format(name=_FIELD["confidence"], value=value))
            else:
                out.extend(_change_text(field, None, value, "added"))
    if (item.kind, item.id) in instead:
        out.append("      " + _("amounts per taille: see the line ({id})").format(id=instead[(item.kind, item.id)][1]))
    elif item.status != "changed":
        if any(a.taille is not None for a in item.amounts):
            out.extend(_wrap(_per_taille_line(item), "      "))
    elif _unchanged(item):
        out.extend(_wrap(_unchanged_maxima(item), "      "))
    elif item.amounts:
        for a in item.amounts:
            if a.taille is None:
                out.append("      " + _("{name}: {old} → {new}").format(
                    name=_FIELD["value"], old=_amount_value(a, a.old), new=_amount_value(a, a.new)))
        per_taille = [a for a in item.amounts if a.taille is not None]
        if per_taille:
            out.append(f"      {_('maximum per taille') if item.kind == 'line' else _('per taille'):<18}"
                       f"{_sides(13)}")
            for a in per_taille:
                out.append(f"        taille {a.taille:<3}{_money(a.old):>15} {_money(a.new):>15}   "
                           f"{_signed(a.difference, a.percent)}".rstrip())
    return out


def render_diff_text(diff: RulesetDiff, behaviour=None, names=None, summary_only=False) -> str:
    """The diff for a person: the summary, then (unless ``summary_only``) the detail by mission."""
    old_name, new_name = _side_names(diff, names)
    out = [_("Comparison: {old} → {new}").format(old=old_name, new=new_name)]
    out.extend(_wrap(" ".join(diff.old.title.split()), "  ", _("before: ")))
    out.extend(_wrap(" ".join(diff.new.title.split()), "  ", _("after: ")))
    out.append("")
    if diff.identical:
        out.append(_("No difference."))
    else:
        out.extend(_summary_text(diff, behaviour))
    if summary_only:
        if behaviour is not None:
            out += [""] + _behaviour_text(old_name, new_name, behaviour)
        return "\n".join(out).rstrip() + "\n"
    metadata = [c for c in diff.metadata if c.field not in ("id", "title")]
    if metadata:
        out += ["", _("The text")]
        for change in metadata:
            out.extend(_change_text(change.field, change.old, change.new, "changed"))
    if diff.taille:
        out += ["", _("Tailles")]
        for change in diff.taille:
            out.extend(_change_text(change.field, change.old, change.new, "changed"))
    instead = _tables(diff)
    for mission_id, items in diff.by_mission().items():
        out += ["", _mission_title(diff, mission_id)]
        for group in _merged(items):
            out.extend(_item_text(diff, group, instead))
    if diff.provisions:
        out += ["", _("Provisions with their own date of effect")]
        for old, new, phrases in _provisions(diff):
            when = _("from {day}").format(day=new) if new else _("no own date any more")
            before = _(" (before: {day})").format(day=old) if old else ""
            out.extend(_wrap(_("; ").join(phrases), "  ", _("{when}: ").format(when=when + before)))
    if behaviour is not None:
        out.append("")
        out.extend(_behaviour_text(old_name, new_name, behaviour))
    return "\n".join(out).rstrip() + "\n"


def _behaviour_text(old_name, new_name, behaviour) -> list:
    out = [_("Effect on the profiles ({old} → {new})").format(old=old_name, new=new_name)]
    out.append(f"  {_('Profile'):<36} {_('Before'):>15} {_('After'):>15} {_('Difference'):>15}")
    for row in behaviour:
        out.append(f"  {row.name[:36]:<36} {euros(row.old_total):>15} {euros(row.new_total):>15} "
                   f"{_signed(row.difference, None):>15}")
        for mission, (old, new, difference) in row.mission_differences().items():
            if difference:
                label = mission or _("outside missions")
                out.append(f"    {label[:34]:<34} {euros(old):>15} {euros(new):>15} {_signed(difference, None):>15}")
    return out


# -- markdown -----------------------------------------------------------------------------------


def _md(text) -> str:
    return "—" if text is None else str(text).replace("|", "\\|")


def _md_cell(field, value) -> str:
    if value is None:
        return "—"
    shown = _md(_value(field, value))
    if field in _FORMULAS:
        reading = _reading(field, value)
        shown = f"`{shown}`" + (f"<br>*{_md(reading)}*" if reading else "")
    return shown


def _summary_markdown(diff: RulesetDiff, behaviour=None) -> list:
    summary = diff.summary
    out = ["### " + _("Overview"), ""]
    if summary.maxima:
        out += [_("**{label}**, per taille:").format(label=_md(summary.maximum_label)), "",
                _("| Taille | Before | After | Difference |"), "|---|---:|---:|---:|"]
        out += [f"| {a.taille} | {_maximum(summary, a, 'old')} | {_maximum(summary, a, 'new')} | "
                f"{_signed(a.difference, a.percent)} |"
                for a in summary.maxima]
        out.append("")
    for title, pairs in _added_and_removed(summary):
        if not pairs:
            out.append("- " + _("{title}: none").format(title=title))
            continue
        out.append("- " + _("{title} ({count}):").format(title=title, count=len(pairs)))
        out.extend(f"  - {_md(_named(label, key))}" for key, label in pairs)
    out.append(f"- {_figures(summary.changed_figures)}")
    if not summary.knock_ons:
        out.append("- " + _("Knock-on effects: none"))
    else:
        out.append("- " + _("Knock-on effects ({count}): lines unchanged in themselves that read what changed, "
                            "and their maximum per taille").format(count=len(summary.knock_ons)))
        for item in summary.knock_ons:
            out.append(f"  - {_md(_named(item.label, item.id) + _knock_on_place(summary, item))}")
            out.extend(f"    - {_('through: ')}{_md(cause)}" for cause in _causes(item.through))
            if _unchanged(item):
                out.append(f"    - {_md(_unchanged_maxima(item))}")
                continue
            out.extend(f"    - taille {a.taille} : {_money(a.old)} → {_money(a.new)} "
                       f"({_signed(a.difference, a.percent)})" for a in item.amounts)
    for title, items in _other_knock_ons(summary):
        out.append(f"- {_md(title)}")
        for item in items:
            causes = _other_causes(item)
            paid = causes.pop() if item.paid_lines() else None
            out.append(f"  - {_md(_named(item.label, item.id) + (_(': ') + paid if paid else ''))}")
            out.extend(f"    - {_('through: ')}{_md(cause)}" for cause in causes)
    lines = _size_table_lines(summary, behaviour)
    if lines:
        out.append(f"- {_md(lines[0])}")
        out.extend(f"  - {_md(line)}" for line in lines[1:])
    out.append("")
    return out


def _item_markdown(diff, group, instead) -> list:
    item = group[0]
    out = [f"- {_item_title(item, group, lambda label, key: _md(_named(label, key)), lambda word: f'**{word}**')}"]
    if item.through:
        out += ["", f"  {_through_title(item)}"]
        out += [f"  - {_md(cause)}" for cause in _item_causes(item)]
    if item.status == "changed" and item.changes:
        out += ["", "  " + _("| Field | Before | After |"), "  |---|---|---|"]
        out += [f"  | {_FIELD.get(c.field, c.field)} | {_md_cell(c.field, c.old)} | {_md_cell(c.field, c.new)} |"
                for c in item.changes]
    elif item.status != "changed":
        rows = _whole_fields(item)
        if rows:
            out += ["", "  " + _("| Field | Value |"), "  |---|---|"]
            out += [f"  | {_FIELD.get(field, field)} | {_md_cell(field, value)} |" for field, value in rows]
    if (item.kind, item.id) in instead:
        out += ["", "  " + _("Amounts per taille: see the line ({id}).").format(id=instead[(item.kind, item.id)][1])]
    elif item.status != "changed":
        if any(a.taille is not None for a in item.amounts):
            out += ["", f"  {_md(_per_taille_line(item)).capitalize()}"]
    elif _unchanged(item):
        out += ["", f"  {_md(_unchanged_maxima(item))}"]
    elif item.amounts:
        out += ["", "  " + _("| Taille | Before | After | Difference |"), "  |---|---:|---:|---:|"]
        for a in item.amounts:
            which = a.taille if a.taille is not None else "—"
            out.append(f"  | {which} | {_amount_value(a, a.old)} | {_amount_value(a, a.new)} | "
                       f"{_signed(a.difference, a.percent) if a.taille is not None else ''} |")
    out.append("")
    return out


def _behaviour_markdown(diff, behaviour) -> list:
    out = ["### " + _("Effect on the profiles"), "", _("| Profile | Before | After | Difference |"),
           "|---|---:|---:|---:|"]
    for row in behaviour:
        out.append(f"| {_md(row.name)} | {euros(row.old_total)} | {euros(row.new_total)} | "
                   f"{_signed(row.difference, None)} |")
        for mission, (old, new, difference) in row.mission_differences().items():
            found = diff.new.missions.get(mission) or diff.old.missions.get(mission)
            name = _named(found.label, mission) if found else (mission or _("outside missions"))
            out.append(f"| &nbsp;&nbsp;{_md(name)} | {euros(old)} | {euros(new)} | "
                       f"{_signed(difference, None)} |")
    out.append("")
    return out


def render_diff_markdown(diff: RulesetDiff, behaviour=None, names=None, summary_only=False) -> str:
    """The diff for a memo: the summary, then (unless ``summary_only``) a table per item."""
    old_name, new_name = _side_names(diff, names)
    out = ["## " + _("Comparison: {old} → {new}").format(old=_md(old_name), new=_md(new_name)), "",
           _("- **Before**: {title}").format(title=_md(' '.join(diff.old.title.split()))),
           _("- **After**: {title}").format(title=_md(' '.join(diff.new.title.split()))), ""]
    if diff.identical:
        out += [_("No difference."), ""]
    else:
        out += _summary_markdown(diff, behaviour)
    if summary_only:
        if behaviour is not None:
            out += _behaviour_markdown(diff, behaviour)
        return "\n".join(out).rstrip() + "\n"
    metadata = [c for c in diff.metadata if c.field not in ("id", "title")]
    if metadata:
        out += ["### " + _("The text"), "", _("| Field | Before | After |"), "|---|---|---|"]
        out += [f"| {_FIELD.get(c.field, c.field)} | {_md(c.old)} | {_md(c.new)} |" for c in metadata]
        out.append("")
    if diff.taille:
        out += ["### " + _("Tailles"), "", _("| | Before | After |"), "|---|---|---|"]
        out += [f"| {_FIELD.get(c.field, c.field)} | {_md_cell(c.field, c.old)} | {_md_cell(c.field, c.new)} |"
                for c in diff.taille]
        out.append("")
    instead = _tables(diff)
    for mission_id, items in diff.by_mission().items():
        out += [f"### {_md(_mission_title(diff, mission_id))}", ""]
        for group in _merged(items):
            out.extend(_item_markdown(diff, group, instead))
    if diff.provisions:
        out += ["### " + _("Provisions with their own date of effect"), "", _("| Before | After | Provisions |"),
                "|---|---|---|"]
        out += [f"| {_md(old)} | {_md(new)} | {_md(_('; ').join(phrases))} |"
                for old, new, phrases in _provisions(diff)]
        out.append("")
    if behaviour is not None:
        out += _behaviour_markdown(diff, behaviour)
    return "\n".join(out).rstrip() + "\n"

"""Formatters for ``aci-rules diff``: a table for a person, markdown for a memo, JSON for a program."""

from __future__ import annotations

from decimal import Decimal

from aci_rules.engine.diff import RulesetDiff

from .render import _plain, euros, json_dumps

__all__ = ["diff_to_dict", "render_diff_text", "render_diff_markdown", "render_diff_json"]

_KIND = {"line": "ligne", "parameter": "paramètre", "mission": "mission", "definition": "définition",
         "obligation": "obligation", "payment": "règle de paiement", "indicator": "indicateur"}
_STATUS = {"added": "ajouté", "removed": "supprimé", "changed": "modifié"}
_MARK = {"added": "+", "removed": "-", "changed": "~"}
_GENERAL = "Hors missions (dispositions générales)"


def _money(value) -> str:
    return "—" if value is None else euros(value)


def _signed(value: Decimal | None, percent: Decimal | None) -> str:
    if value is None:
        return ""
    sign = "+" if value > 0 else ""
    text = f"{sign}{euros(value)}"
    if percent is not None:
        text += f" ({'+' if percent > 0 else ''}{_plain(percent).replace('.', ',')} %)"
    return text


def _amount_value(amount, value):
    # Counts and rates (no taille) are shown as numbers, amounts per taille as euros.
    if value is None:
        return "—"
    return euros(value) if amount.taille is not None else _plain(value)


def _mission_title(diff: RulesetDiff, mission_id) -> str:
    if mission_id is None:
        return _GENERAL
    mission = diff.new.missions.get(mission_id) or diff.old.missions.get(mission_id)
    status = ""
    if mission_id not in diff.old.missions:
        status = " (ajoutée)"
    elif mission_id not in diff.new.missions:
        status = " (supprimée)"
    return f"Mission {mission_id}{status} — {mission.label}" if mission else f"Mission {mission_id}"


def diff_to_dict(diff: RulesetDiff, behaviour=None) -> dict:
    """The JSON document of a diff (and of the behavioural diff, when given)."""
    def amount(a):
        return {"taille": a.taille, "old": None if a.old is None else str(a.old),
                "new": None if a.new is None else str(a.new),
                "difference": None if a.difference is None else str(a.difference),
                "percent": None if a.percent is None else str(a.percent)}

    document = {
        "old": {"id": diff.old.id, "chain": list(diff.old.chain)},
        "new": {"id": diff.new.id, "chain": list(diff.new.chain)},
        "identical": diff.identical,
        "metadata": [{"field": c.field, "old": c.old, "new": c.new} for c in diff.metadata],
        "taille": [{"field": c.field, "old": c.old, "new": c.new} for c in diff.taille],
        "items": [{"kind": i.kind, "id": i.id, "status": i.status, "mission": i.mission, "label": i.label,
                   "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in i.changes],
                   "amounts": [amount(a) for a in i.amounts]} for i in diff.items],
        "provisions": [{"provision": c.field, "old": c.old, "new": c.new} for c in diff.provisions],
    }
    if behaviour is not None:
        document["profiles"] = [row.to_dict() for row in behaviour]
    return document


def render_diff_json(diff: RulesetDiff, behaviour=None) -> str:
    return json_dumps(diff_to_dict(diff, behaviour))


def render_diff_text(diff: RulesetDiff, behaviour=None) -> str:
    out = [f"{diff.old.id} → {diff.new.id}"]
    if diff.identical:
        out.append("  Aucune différence.")
    for change in diff.metadata:
        out.append(f"  {change.field:<10} {change.old or '—'}  →  {change.new or '—'}")
    if diff.taille:
        out.append("")
        out.append("Tailles")
        for change in diff.taille:
            out.append(f"  {change.field}: {change.old or '—'}  →  {change.new or '—'}")
    for mission_id, items in diff.by_mission().items():
        out.append("")
        out.append(_mission_title(diff, mission_id))
        for item in items:
            out.append(f"  {_MARK[item.status]} {_KIND[item.kind]} {item.id} ({_STATUS[item.status]})"
                       + (f" — {item.label}" if item.label and item.kind != "mission" else ""))
            for change in item.changes:
                if change.field == "label" and item.status != "changed":
                    continue  # already in the item's title
                if item.status == "changed":
                    out.append(f"      {change.field}:")
                    out.append(f"        avant  {change.old if change.old is not None else '—'}")
                    out.append(f"        après  {change.new if change.new is not None else '—'}")
                else:
                    value = change.new if item.status == "added" else change.old
                    out.append(f"      {change.field}: {value}")
            for a in item.amounts:
                which = f"taille {a.taille}" if a.taille is not None else "valeur"
                out.append(f"      {which:<9} {_amount_value(a, a.old):>15} → {_amount_value(a, a.new):>15}"
                           f"   {_signed(a.difference, a.percent) if a.taille is not None else ''}".rstrip())
    if diff.provisions:
        out.append("")
        out.append("Dispositions à date d'effet propre")
        for change in diff.provisions:
            out.append(f"  {change.field}: {change.old or '—'} → {change.new or '—'}")
    if behaviour is not None:
        out.append("")
        out.extend(_behaviour_text(diff, behaviour))
    return "\n".join(out).rstrip() + "\n"


def _behaviour_text(diff, behaviour) -> list:
    out = [f"Effet sur les profils ({diff.old.id} → {diff.new.id})"]
    out.append(f"  {'Profil':<36} {'Avant':>15} {'Après':>15} {'Écart':>15}")
    for row in behaviour:
        out.append(f"  {row.name[:36]:<36} {euros(row.old_total):>15} {euros(row.new_total):>15} "
                   f"{_signed(row.new_total - row.old_total, None):>15}")
        for mission, (old, new) in row.missions.items():
            if old != new:
                label = mission or "hors mission"
                out.append(f"    {label[:34]:<34} {euros(old):>15} {euros(new):>15} {_signed(new - old, None):>15}")
    return out


def _md(text) -> str:
    return "—" if text is None else str(text).replace("|", "\\|")


def render_diff_markdown(diff: RulesetDiff, behaviour=None) -> str:
    out = [f"## {diff.old.id} → {diff.new.id}", ""]
    if diff.identical:
        out += ["Aucune différence.", ""]
    if diff.metadata:
        out += ["| Champ | Avant | Après |", "|---|---|---|"]
        out += [f"| {c.field} | {_md(c.old)} | {_md(c.new)} |" for c in diff.metadata]
        out.append("")
    if diff.taille:
        out += ["### Tailles", "", "| | Avant | Après |", "|---|---|---|"]
        out += [f"| {c.field} | {_md(c.old)} | {_md(c.new)} |" for c in diff.taille]
        out.append("")
    for mission_id, items in diff.by_mission().items():
        out += [f"### {_mission_title(diff, mission_id)}", ""]
        for item in items:
            title = f"**{_KIND[item.kind]} `{item.id}`** — {_STATUS[item.status]}"
            if item.label and item.kind != "mission":
                title += f" — {_md(item.label)}"
            out += [f"- {title}"]
            rows = [c for c in item.changes if c.field != "label" or item.status == "changed"]
            if rows:
                out += ["", "  | Champ | Avant | Après |", "  |---|---|---|"]
                for change in rows:
                    old = f"`{_md(change.old)}`" if change.old is not None else "—"
                    new = f"`{_md(change.new)}`" if change.new is not None else "—"
                    out.append(f"  | {change.field} | {old} | {new} |")
            if item.amounts:
                out += ["", "  | Taille | Avant | Après | Écart |", "  |---|---:|---:|---:|"]
                for a in item.amounts:
                    which = a.taille if a.taille is not None else "—"
                    out.append(f"  | {which} | {_amount_value(a, a.old)} | {_amount_value(a, a.new)} | "
                               f"{_signed(a.difference, a.percent) if a.taille is not None else ''} |")
            out.append("")
    if diff.provisions:
        out += ["### Dispositions à date d'effet propre", "", "| Disposition | Avant | Après |", "|---|---|---|"]
        out += [f"| {_md(c.field)} | {_md(c.old)} | {_md(c.new)} |" for c in diff.provisions]
        out.append("")
    if behaviour is not None:
        out += ["### Effet sur les profils", "", "| Profil | Avant | Après | Écart |", "|---|---:|---:|---:|"]
        for row in behaviour:
            out.append(f"| {_md(row.name)} | {euros(row.old_total)} | {euros(row.new_total)} | "
                       f"{_signed(row.new_total - row.old_total, None)} |")
            for mission, (old, new) in row.missions.items():
                out.append(f"| &nbsp;&nbsp;{_md(mission or 'hors mission')} | {euros(old)} | {euros(new)} | "
                           f"{_signed(new - old, None)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"

"""Formatters: turn engine results into text for a person or JSON for a program.

They only read results; they compute nothing that the engine did not record.
"""

from __future__ import annotations

import datetime
import json
import textwrap
from decimal import Decimal

from aci_rules.engine.diagnostic import Diagnostic
from aci_rules.engine.evaluate import Result

__all__ = ["euros", "render_eval_text", "render_eval_json", "render_errors_json", "json_dumps"]

_STATUS = {"met": "tenue", "late": "en retard", "missing": "manquée", "pending": "à venir"}


def euros(amount: Decimal) -> str:
    """An amount written the French way.

    >>> euros(Decimal("87500"))
    '87 500,00 €'
    >>> euros(Decimal("-1234.5"))
    '-1 234,50 €'
    """
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{' '.join(groups)},{cents} €"


def _number(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _value(value) -> str:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def json_dumps(document) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)


def render_eval_json(result: Result, explain: bool = False) -> str:
    document = result.to_dict()
    if explain:
        document["explain"] = {
            "size_confidence": result.size_confidence,
            "lines": {line.id: {"applies": line.applies, "formulas": line.trace.formulas,
                                "values": {k: _value(v) for k, v in line.trace.values.items()}}
                      for line in result.lines + result.skipped if line.trace is not None},
        }
    return json_dumps(document)


def render_errors_json(diagnostics: list[Diagnostic]) -> str:
    return json_dumps({"errors": [d.to_dict() for d in diagnostics]})


def _wrap(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent) or [indent]


def render_eval_text(result: Result, explain: bool = False) -> str:
    ruleset, profile = result.ruleset, result.profile
    out = []
    out.append(f"{profile.name} — évaluation au {result.date.isoformat()}")
    out.append("")
    title = " ".join(ruleset.title.split())
    out.append(f"  Texte appliqué    {ruleset.id} ({ruleset.kind}, en vigueur depuis le {ruleset.in_force})")
    out.extend(_wrap(title, 88, " " * 20))
    if result.size is not None:
        tag = "" if result.size_confidence == "confirmed" else f"  [{result.size_confidence}]"
        out.append(f"  Taille            {result.size} (population {_number(profile.population)}){tag}")
    year = result.contract_year
    if year is not None:
        out.append(f"  Année de contrat  {year.number} (du {year.start} au {year.end})")
    elif profile.contract_signed is None:
        out.append("  Année de contrat  aucune (pas de contrat ACI signé)")
    else:
        out.append("  Année de contrat  aucune à cette date")
    out.append("")

    missions = ruleset.missions
    header = f"  {'Ligne':<50} {'Volet':<15} {'Montant':>15} {'Maximum':>15}  Confiance"
    out.append(header)
    out.append("  " + "-" * (len(header) - 2))
    groups: dict = {}
    for line in result.lines:
        groups.setdefault(line.mission, []).append(line)
    for mission_id, lines in groups.items():
        if mission_id is not None:
            mission = missions.get(mission_id)
            kind = f" ({mission.kind})" if mission else ""
            out.append(f"  Mission {mission_id}{kind}")
        for line in lines:
            label_lines = textwrap.wrap(line.label, 48) or [""]
            out.append(f"    {label_lines[0]:<48} {line.volet:<15} {euros(line.amount):>15} "
                       f"{euros(line.maximum):>15}  {line.confidence}")
            out.extend(f"    {rest}" for rest in label_lines[1:])
            reference = _wrap(line.reference, 84, "        ")
            out.append("      ↳ " + reference[0].strip())
            out.extend(reference[1:])
            if explain:
                out.extend(_explain_line(line, ruleset, result.size))
    out.append("  " + "-" * (len(header) - 2))
    out.append(f"  {'Total':<66} {euros(result.total):>15}")
    out.append("")

    if explain and result.skipped:
        out.append("Lignes qui ne s'appliquent pas")
        for line in result.skipped:
            out.append(f"  {line.id} — {line.label}")
            out.extend(_explain_line(line, ruleset, result.size))
        out.append("")

    if result.obligations:
        out.append(f"Obligations au {result.date}")
        for obligation in result.obligations:
            done = f"fait le {obligation.done}" if obligation.done else "pas encore fait"
            out.append(f"  {obligation.label:<64} échéance {obligation.deadline}  {done:<20} "
                       f"{_STATUS[obligation.status]} ({obligation.status})")
        out.append("")

    unverified = [line for line in result.lines if line.confidence != "confirmed"]
    if unverified:
        by_tag: dict = {}
        for line in unverified:
            by_tag.setdefault(line.confidence, []).append(line.id)
        parts = [f"{len(ids)} {tag} ({', '.join(ids)})" for tag, ids in by_tag.items()]
        out.append("Provenance : " + "; ".join(parts) + " — voir la référence de chaque ligne.")
        out.append("")

    if result.warnings:
        out.append("Avertissements")
        for warning in result.warnings:
            out.extend(_wrap(str(warning), 96, "  "))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _explain_line(line, ruleset, size) -> list[str]:
    trace = line.trace
    if trace is None:
        return []
    out = []
    for field, text in trace.formulas.items():
        out.extend(_wrap(f"{field}: {text}", 90, "      ") if len(text) < 80 else
                   [f"      {field}: {text}"])
    if not trace.applied and "when" in trace.formulas:
        out.append(f"      → ne s'applique pas : « {trace.reason} » est faux")
    for name, value in trace.values.items():
        parameter = ruleset.parameters.get(name)
        if parameter is not None:
            cell = f" (taille {size})" if parameter.by_taille is not None else ""
            text = _wrap(f"{name}{cell} = {_value(value)} [{parameter.confidence_for(size)}] — "
                         f"{parameter.reference}", 90, "          ")
            out.append("        · " + text[0].strip())
            out.extend(text[1:])
        else:
            out.append(f"        · {name} = {_value(value)}")
    return out

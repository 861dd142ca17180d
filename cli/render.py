"""Formatters: turn engine results into text for a person or JSON for a program.

They only read results; they compute nothing that the engine did not record.
"""

from __future__ import annotations

import datetime
import json
import textwrap
from decimal import Decimal

import yaml

from aci_rules.engine.diagnostic import Diagnostic
from aci_rules.engine.evaluate import Result

__all__ = [
    "euros",
    "render_eval_text",
    "render_eval_json",
    "render_errors_json",
    "render_ruleset_text",
    "render_ruleset_yaml",
    "json_dumps",
]

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


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros.

    >>> _plain(Decimal("10.00")), _plain(Decimal("12.50"))
    ('10', '12.5')
    """
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


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
            "segments": {line.id: [{"ruleset": s.ruleset, "from": s.start.isoformat(), "to": s.end.isoformat(),
                                    "amount": str(amount), "share": str(share)}
                                   for s, (amount, share) in _segment_parts(line.id, result.segments)]
                         for line in result.lines},
        }
    return json_dumps(document)


def render_errors_json(diagnostics: list[Diagnostic]) -> str:
    return json_dumps({"errors": [d.to_dict() for d in diagnostics]})


def _wrap(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent) or [indent]


def render_eval_text(result: Result, explain: bool = False, ruleset_file: str | None = None) -> str:
    """The evaluation for a person; ``ruleset_file`` names the file of a ruleset given by path."""
    ruleset, profile = result.ruleset, result.profile
    out = []
    out.append(f"{profile.name} — évaluation au {result.date.isoformat()}")
    out.append("")
    title = " ".join(ruleset.title.split())
    out.append(f"  Texte appliqué    {ruleset.id} ({ruleset.kind}, en vigueur depuis le {ruleset.in_force})")
    out.extend(_wrap(title, 88, " " * 20))
    if ruleset_file:
        out.append(f"  Fichier           {ruleset_file}")
    if result.size is not None:
        tag = "" if result.size_confidence == "confirmed" else f"  [{result.size_confidence}]"
        out.append(f"  Taille            {result.size} (population {_number(profile.population)}){tag}")
    year = result.contract_year
    if year is not None:
        out.append(f"  Année de contrat  {year.number} (du {year.start} au {year.end})")
        contract = year.contract
        if contract is not None and (contract.number > 1 or contract.assumed):
            how = ", supposé (renouvellement)" if contract.assumed else ""
            out.append(f"  Contrat           n° {contract.number}, signé le {contract.signed}, "
                       f"jusqu'au {contract.end}{how}")
        for index, segment in enumerate(result.segments):
            title = "Textes de l'année" if index == 0 else ""
            out.append(f"  {title:<18}{segment.ruleset} du {segment.start} au {segment.end} ({segment.days} jours)")
        if len(result.segments) > 1:
            out.append(f"  {'':<18}chaque ligne compte chaque texte pour ses jours, à toute date de l'année")
    elif profile.contract_signed is None:
        out.append("  Année de contrat  aucune (pas de contrat ACI signé)")
    else:
        out.append("  Année de contrat  aucune à cette date (hors contrat)")
    for assumption in result.assumptions:
        out.extend(_wrap("Hypothèse : " + assumption, 96, "  "))
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
                out.extend(_explain_segments(line, result.segments))
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
        out.append("Provenance : " + "; ".join(parts) + " — voir la référence de chaque ligne ;")
        out.append("  les sources et ce qui repose sur chacune : aci-rules show --sources")
        out.append("")

    if result.warnings:
        out.append("Avertissements")
        for warning in result.warnings:
            out.extend(_wrap(str(warning), 96, "  "))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _segment_parts(line_id, segments) -> list:
    return [(s, s.lines[line_id]) for s in segments if line_id in s.lines]


def _explain_segments(line, segments) -> list[str]:
    """How a line's year amount adds up over the parts of a cut year."""
    if len(segments) < 2:
        return []
    out = ["      montant de l'année = somme, pour chaque texte, de son montant × la part de l'année qu'il couvre :"]
    for segment, (amount, share) in _segment_parts(line.id, segments):
        out.append(f"        · {segment.ruleset} du {segment.start} au {segment.end} : {euros(amount)} × "
                   f"{_plain(share.quantize(Decimal('0.0001'))).replace('.', ',')}")
    return out


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


class _RulesetDumper(yaml.SafeDumper):
    """Writes Decimal amounts as plain numbers (exact, as written)."""


_RulesetDumper.add_representer(
    Decimal, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float", str(value)))


def render_ruleset_yaml(ruleset, day) -> str:
    """The consolidated ruleset as YAML that ``aci-rules validate`` accepts."""
    when = f"as in force on {day}" if day else "every provision applied"
    header = (f"# Consolidated text of {ruleset.id}: {' + '.join(ruleset.chain)}, {when}.\n"
              "# yaml-language-server: $schema=../schemas/ruleset.schema.json\n")
    body = yaml.dump(ruleset.document.data, Dumper=_RulesetDumper, sort_keys=False,
                     allow_unicode=True, width=100)
    return header + body


def render_ruleset_text(ruleset, day) -> str:
    """The barème of a consolidated ruleset: each line's maximum for each taille."""
    from aci_rules.engine.bareme import annual_maximum, static_maximum  # only `show` needs them

    tailles = sorted({c.taille for c in ruleset.taille.classes}) if ruleset.taille else [None]
    out = [f"{ruleset.id} — {' '.join(ruleset.title.split())}"]
    out.append(f"  {ruleset.kind}, {ruleset.status}; en vigueur depuis le {ruleset.in_force}"
               + (f" jusqu'au {ruleset.until}" if ruleset.until else ""))
    out.append(f"  Texte consolidé : {' + '.join(ruleset.chain)}"
               + (f", au {day}" if day else ", toutes dispositions appliquées"))
    out.extend(_wrap(" ".join(ruleset.reference.split()), 96, "  "))
    if ruleset.provisions:
        out.append("  Dispositions à date d'effet propre :")
        for provision in ruleset.provisions:
            out.append(f"    {provision.day}  {provision.ruleset}: {provision.description}")
    out.append("")
    if ruleset.taille is not None:
        out.append("Tailles (" + ruleset.taille.basis.text + ")")
        for size_class in ruleset.taille.classes:
            high = _number(size_class.high) if size_class.high is not None else "…"
            tag = "" if size_class.confidence == "confirmed" else f"  [{size_class.confidence}]"
            out.append(f"  taille {size_class.taille} : {_number(size_class.low)} à {high}{tag}")
        out.append("")

    width = 15
    header = f"  {'Ligne':<28} {'Volet':<22}" + "".join(f"{'Taille ' + str(t):>{width}}" for t in tailles)
    out.append("Barème (maximum par année de contrat)")
    out.append(header)
    out.append("  " + "-" * (len(header) - 2))
    for line in ruleset.lines:
        expression = line.maximum or line.amount
        values = [static_maximum(ruleset, line, t) for t in tailles]
        label = line.id if len(line.id) <= 28 else line.id[:27] + "…"
        if all(v is not None for v in values):
            out.append(f"  {label:<28} {line.volet:<22}" + "".join(f"{euros(Decimal(v)):>{width}}" for v in values))
        else:
            out.append(f"  {label:<28} {line.volet:<22}")
            out.extend(_wrap("formule : " + " ".join(expression.text.split()), 100, "    "))
            for name in sorted(expression.names):
                parameter = ruleset.parameters.get(name)
                if parameter is not None and parameter.by_taille is not None:
                    out.append(f"    {name:<48}" + "".join(
                        f"{euros(Decimal(parameter.value_for(t))):>{width}}" for t in tailles))
        confidences = [ruleset.confidence[line.id].get(t, "confirmed") for t in tailles]
        if any(c != "confirmed" for c in confidences):
            out.append(f"    {'confiance':<48}" + "".join(f"{c:>{width}}" for c in confidences))
    maxima = annual_maximum(ruleset)
    if maxima is not None:
        # The yearly maximum as the text states it: the engine adds up the declared volets.
        out.append("  " + "-" * (len(header) - 2))
        out.append(f"  {ruleset.annual_maximum.label} — volets {', '.join(ruleset.annual_maximum.volets)}")
        out.append(f"  {'Total':<51}" + "".join(
            f"{'—' if maxima[t] is None else euros(maxima[t]):>{width}}" for t in tailles))
        reference = _wrap(" ".join(ruleset.annual_maximum.reference.split()), 96, "      ")
        out.append("    ↳ " + reference[0].strip())
        out.extend(reference[1:])
    out.append("")
    scalars = [p for p in ruleset.parameters.values() if p.by_taille is None]
    if scalars:
        out.append("Autres paramètres")
        for parameter in scalars:
            if parameter.unit == "taux":
                shown = f"{_plain(Decimal(parameter.value) * 100)} %"
            elif parameter.unit in ("mois", "ans", "jours", "heures", "EUR"):
                shown = f"{_value(parameter.value)} {parameter.unit}"
            else:
                shown = _value(parameter.value)
            out.append(f"  {parameter.name:<32} {shown}  [{parameter.confidence_for(None)}]")
        out.append("")
    return "\n".join(out).rstrip() + "\n"

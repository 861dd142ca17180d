"""Rendering of what `aci-rules test --coverage` and `--mutate` found (the engine computes it)."""

from __future__ import annotations

import os

from aci_rules.engine.coverage import coverage_gaps

__all__ = ["render_coverage_text", "render_mutation_text"]

_MISSING = {"applies": "ne s'applique jamais", "does_not_apply": "s'applique toujours", "true": "jamais vraie",
            "false": "jamais fausse", "read": "jamais lu", "before": "aucune évaluation avant",
            "in_force": "aucune évaluation en vigueur"}


def _shown(file: str | None) -> str:
    """A file as the user would type it: relative to the working folder when it is under it."""
    if file and os.path.isabs(file):
        relative = os.path.relpath(file)
        return file if relative.startswith("..") else relative
    return file or ""


def _where(gap) -> str:
    text = _shown(gap["file"])
    if gap.get("line") is not None:
        text += f":{gap['line']}"
        if gap.get("column") is not None:
            text += f":{gap['column']}"
    return text


def render_coverage_text(report: dict, accepted=()) -> str:
    """The coverage report for a person: a summary per file, then every gap with its place."""
    out = [f"Couverture ({report['evaluations']} évaluations)"]
    for entry in report["files"]:
        summary = entry["summary"]
        out.append(f"  {_shown(entry['file'])}")
        out.append(f"    lignes appliquées et non appliquées  {summary['lines'][0]}/{summary['lines'][1]}")
        out.append(f"    parties de conditions vraies et fausses  {summary['conditions'][0]}/"
                   f"{summary['conditions'][1]}")
        out.append(f"    cellules de paramètres lues  {summary['parameters'][0]}/{summary['parameters'][1]}")
        if summary["payments"][1]:
            out.append(f"    règles de versement utilisées  {summary['payments'][0]}/{summary['payments'][1]}")
    provisions = report["provisions"]
    if provisions:
        seen = sum(1 for p in provisions if p["before"] and p["in_force"])
        out.append(f"  dispositions datées vues avant et en vigueur  {seen}/{len(provisions)}")
    gaps = coverage_gaps(report, accepted)
    open_gaps = [g for g in gaps if not g.get("accepted")]
    if open_gaps:
        out.append("Non couvert :")
    for gap in open_gaps:
        missing = ", ".join(_MISSING[m] for m in gap["missing"])
        if gap["kind"] == "line":
            out.append(f"  {_where(gap)}: ligne {gap['subject']} : {missing}")
        elif gap["kind"] == "condition":
            out.append(f"  {_where(gap)}: « {gap['subject']} » ({gap['owner']}) : {missing}")
        elif gap["kind"] == "parameter":
            taille = f" (taille {gap['taille']})" if gap["taille"] is not None else ""
            out.append(f"  {_where(gap)}: paramètre {gap['subject']}{taille} : {missing}")
        else:
            out.append(f"  {gap['ruleset']} : {gap['subject']} ({gap['day']}) : {missing}")
    accepted_gaps = [g for g in gaps if g.get("accepted")]
    if accepted_gaps:
        out.append("Acceptés (argumentés dans les fichiers de cas) :")
        for gap in accepted_gaps:
            out.append(f"  {_where(gap)}: « {gap['subject']} » ({gap['owner']}) : {gap['accepted']}")
    if not open_gaps:
        out.append("Couverture complète.")
    return "\n".join(out) + "\n"


def render_mutation_text(report: dict) -> str:
    """One mutation report for a person: the score, each survivor with what would pin it."""
    out = [f"Mutations de {report['ruleset']} ({_shown(report['file'])}) : {report['mutants']} mutants, "
           f"{report['killed']} tués, {report['survived']} survivants, {report['equivalent']} équivalents, "
           f"{report['accepted']} acceptés ({report['case_runs']} exécutions de cas, {report['seconds']:.1f} s)"]
    if report["invalid"]:
        out.append(f"  ({report['invalid']} dates d'entrée en vigueur décalées donneraient un texte invalide : "
                   "non comptées)")
    for mutant in report["survivors"]:
        out.append(f"  SURVIT {_where(mutant)}: {mutant['owner']} : {mutant['mutant']}")
        out.append(f"    → {mutant['hint']}")
    for mutant in report["equivalents"]:
        out.append(f"  équivalent {_where(mutant)}: {mutant['owner']} : {mutant['mutant']}")
        out.append(f"    ({mutant['reason']})")
    for mutant in report["accepted_mutants"]:
        out.append(f"  accepté {_where(mutant)}: {mutant['owner']} : {mutant['mutant']}")
        out.append(f"    ({mutant['reason']})")
    return "\n".join(out) + "\n"

"""Rendering of what `aci-rules test --coverage` and `--mutate` found (the engine computes it)."""

from __future__ import annotations

import os

from aci_rules.engine.coverage import coverage_gaps

from .i18n import N_, _, render

__all__ = ["render_coverage_text", "render_mutation_text"]

_MISSING = {"applies": N_("never applies"), "does_not_apply": N_("always applies"), "true": N_("never true"),
            "false": N_("never false"), "read": N_("never read"), "before": N_("no evaluation before"),
            "in_force": N_("no evaluation in force")}


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
    out = [_("Coverage ({count} evaluations)").format(count=report['evaluations'])]
    for entry in report["files"]:
        summary = entry["summary"]
        out.append(f"  {_shown(entry['file'])}")
        out.append("    " + _("lines applied and not applied  {done}/{total}").format(
            done=summary['lines'][0], total=summary['lines'][1]))
        out.append("    " + _("parts of conditions true and false  {done}/{total}").format(
            done=summary['conditions'][0], total=summary['conditions'][1]))
        out.append("    " + _("parameter cells read  {done}/{total}").format(
            done=summary['parameters'][0], total=summary['parameters'][1]))
        if summary["payments"][1]:
            out.append("    " + _("payment rules used  {done}/{total}").format(
                done=summary['payments'][0], total=summary['payments'][1]))
    provisions = report["provisions"]
    if provisions:
        seen = sum(1 for p in provisions if p["before"] and p["in_force"])
        out.append("  " + _("dated provisions seen before and in force  {done}/{total}").format(
            done=seen, total=len(provisions)))
    gaps = coverage_gaps(report, accepted)
    open_gaps = [g for g in gaps if not g.get("accepted")]
    if open_gaps:
        out.append(_("Not covered:"))
    for gap in open_gaps:
        missing = ", ".join(render(_MISSING[m]) for m in gap["missing"])
        if gap["kind"] == "line":
            out.append(f"  {_where(gap)}: " + _("line {id}: {missing}").format(id=gap['subject'], missing=missing))
        elif gap["kind"] == "condition":
            out.append(f"  {_where(gap)}: " + _("“{part}” ({owner}): {missing}").format(
                part=gap['subject'], owner=gap['owner'], missing=missing))
        elif gap["kind"] == "parameter":
            taille = f" (taille {gap['taille']})" if gap["taille"] is not None else ""
            out.append(f"  {_where(gap)}: " + _("parameter {name}{taille}: {missing}").format(
                name=gap['subject'], taille=taille, missing=missing))
        else:
            out.append("  " + _("{ruleset}: {provision} ({day}): {missing}").format(
                ruleset=gap['ruleset'], provision=gap['subject'], day=gap['day'], missing=missing))
    accepted_gaps = [g for g in gaps if g.get("accepted")]
    if accepted_gaps:
        out.append(_("Accepted (argued in the case files):"))
        for gap in accepted_gaps:
            out.append(f"  {_where(gap)}: " + _("“{part}” ({owner}): {missing}").format(
                part=gap['subject'], owner=gap['owner'], missing=gap['accepted']))
    if not open_gaps:
        out.append(_("Full coverage."))
    return "\n".join(out) + "\n"


def render_mutation_text(report: dict) -> str:
    """One mutation report for a person: the score, each survivor with what would pin it."""
    out = [_("Mutations of {ruleset} ({file}): {mutants} mutants, {killed} killed, {survived} surviving, "
             "{equivalent} equivalent, {accepted} accepted ({runs} case runs, {seconds} s)").format(
        ruleset=report['ruleset'], file=_shown(report['file']), mutants=report['mutants'], killed=report['killed'],
        survived=report['survived'], equivalent=report['equivalent'], accepted=report['accepted'],
        runs=report['case_runs'], seconds=f"{report['seconds']:.1f}")]
    if report["invalid"]:
        out.append("  " + _("({count} shifted dates of entry into force would give an invalid text: not counted)")
                   .format(count=report['invalid']))
    for mutant in report["survivors"]:
        out.append("  " + _("SURVIVES {where}: {owner}: {mutant}").format(
            where=_where(mutant), owner=mutant['owner'], mutant=mutant['mutant']))
        out.append(f"    → {render(mutant['hint'])}")
    for mutant in report["equivalents"]:
        out.append("  " + _("equivalent {where}: {owner}: {mutant}").format(
            where=_where(mutant), owner=mutant['owner'], mutant=mutant['mutant']))
        out.append(f"    ({render(mutant['reason'])})")
    for mutant in report["accepted_mutants"]:
        out.append("  " + _("accepted {where}: {owner}: {mutant}").format(
            where=_where(mutant), owner=mutant['owner'], mutant=mutant['mutant']))
        out.append(f"    ({mutant['reason']})")
    return "\n".join(out) + "\n"

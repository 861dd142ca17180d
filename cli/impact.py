"""Commands over many CPTS: batch, compare."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from decimal import Decimal

import click

from aci_rules.engine.batch import check_profiles, evaluate_many, read_profiles
from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.fastpath import FastTimeline
from aci_rules.engine.impact import NO_MISSION, OUT_OF_CONTRACT, compare_rows
from aci_rules.engine.library import Library

from .base import EXIT_OK, DateType, examples, guarded, make_timeline, time_options
from .output import atomic_output, check_output, spreadsheet_safe, terminal_safe, write_atomically
from .render import _plain, euros, json_dumps

# A run of this many profiles or more shows a progress bar on stderr.
PROGRESS_FROM = 500


def _jobs(value: int) -> int:
    return (os.cpu_count() or 1) if value == 0 else value


def _named_missions(library, *names) -> set:
    """The mission ids of the rulesets named (every provision applied), for the CSV columns."""
    found = set()
    for name in names:
        if name:
            found |= set(library.get(name).missions)
    return found


def _read(library, path, *names):
    known = library.mission_ids() | _named_missions(library, *names)
    sources = read_profiles(path, known)
    problems = check_profiles(sources, known)
    if problems:
        raise InputError(problems)
    return sources


def _run(timeline, sources, day, jobs, spec, label):
    fast = FastTimeline(timeline)
    if len(sources) >= PROGRESS_FROM:
        with click.progressbar(length=len(sources), label=label, file=sys.stderr) as bar:
            return evaluate_many(fast, sources, day, jobs=jobs, progress=bar.update, timeline_spec=spec)
    return evaluate_many(fast, sources, day, jobs=jobs, timeline_spec=spec)


def _say_assumptions(timeline, rows):
    """The assumptions, and how many CPTS are out of contract, on stderr (stdout carries the rows)."""
    for assumption in timeline.assumptions():
        click.echo(f"aci-rules: hypothèse : {assumption}", err=True)
    ended = sum(1 for row in rows if row.out_of_contract == "ended")
    if ended:
        hint = "" if timeline.renewal else " ; --assume-renewal suppose un renouvellement"
        click.echo(f"aci-rules: {ended} CPTS hors contrat à la date (contrat de 5 ans échu, aucun contrat "
                   f"suivant dans le profil) : montant 0{hint}", err=True)


@click.command("batch", epilog=examples(
    "aci-rules batch examples/national-sample.csv --date 2024-06-01 --output rows.csv",
))
@click.argument("profiles", type=click.Path(exists=True))
@click.option("--date", "day", type=DateType(), required=True,
              help="The evaluation date: each row is the entitlement of the contract year holding it.")
@time_options()
@click.option("--format", "output_format", type=click.Choice(["csv", "jsonl"]), default=None,
              help="csv or jsonl (default: from --output's extension, else csv).")
@click.option("--output", "output", type=click.Path(),
              help="Write the rows to this file, all at once (an interrupted run leaves it untouched).")
@click.option("--jobs", "jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes to use; 0 for every core.")
@guarded
def batch_command(profiles, day, ruleset_name, as_if_from, assume_renewal, output_format, output, jobs):
    """Evaluate many profiles (a .csv, a .jsonl, or a folder of YAML profiles): one row each,
    with the total per mission."""
    if output:
        check_output(output)  # before the work, not after
    library = Library()
    timeline = make_timeline(library, ruleset_name, as_if_from, assume_renewal)
    ruleset = timeline.resolve(day)
    sources = _read(library, profiles, ruleset_name)
    rows = _run(timeline, sources, day, _jobs(jobs), (ruleset_name, as_if_from, assume_renewal), "Évaluation")
    output_format = output_format or ("jsonl" if output and output.endswith((".jsonl", ".ndjson")) else "csv")
    missions = list(ruleset.missions) + sorted({m for row in rows for m in row.missions
                                                if m and m not in ruleset.missions})
    if output:
        with atomic_output(output) as stream:
            _write_rows(stream, rows, missions, output_format)
    else:
        buffer = io.StringIO()
        _write_rows(buffer, rows, missions, output_format)
        click.echo(buffer.getvalue(), nl=False)
    _say_assumptions(timeline, rows)
    return EXIT_OK


def _write_rows(stream, rows, missions, output_format):
    if output_format == "jsonl":
        for row in rows:
            stream.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
        return
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["source", "name", "ruleset", "size", "contract_year", "total"]
                    + [f"mission_{m}" for m in missions] + [NO_MISSION, "hors_contrat"])
    for row in rows:
        writer.writerow([spreadsheet_safe(row.source), spreadsheet_safe(row.name), row.ruleset, row.size,
                         row.contract_year, row.total]
                        + [row.missions.get(m, Decimal("0.00")) for m in missions]
                        + [row.missions.get("", Decimal("0.00")), OUT_OF_CONTRACT.get(row.out_of_contract, "")])


@click.command("compare", epilog=examples(
    "aci-rules compare examples/national-sample.csv --baseline avenant-2 --reform examples/plan-100-cpts.yaml --date 2024-06-01",
    "aci-rules compare examples/ --baseline avenant-2 --reform examples/plan-100-cpts.yaml --date 2024-06-01 --format html --output comparaison.html",
))
@click.argument("profiles", type=click.Path(exists=True))
@click.option("--baseline", "baseline", metavar="ID|PATH",
              help="The text compared against: an enacted text, a proposal or a stack of proposals, each "
                   "from its own date (default: the texts in force).")
@click.option("--reform", "reform", metavar="ID|PATH", required=True,
              help="The text proposed (a proposal, or a proposal amending another), from its own date.")
@click.option("--date", "day", type=DateType(), required=True,
              help="The evaluation date: each CPTS's entitlement for the contract year holding it.")
@click.option("--as-if-in-force-from", "as_if_from", type=DateType(), metavar="YYYY-MM-DD",
              help="Apply the reform from this date instead of its own in-force date (an explicit what-if).")
@click.option("--assume-renewal", "assume_renewal", is_flag=True,
              help="Assume a new contract at each end of the last contract a profile states, under the text "
                   "then in force (both sides).")
@click.option("--top", "top", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the largest changes to list.")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json", "html"]), default="text",
              show_default=True, help="html: a page with charts.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write to this file (all at once) instead of stdout.")
@click.option("--jobs", "jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes to use; 0 for every core.")
@guarded
def compare_command(profiles, baseline, reform, day, as_if_from, assume_renewal, top, output_format, output, jobs):
    """What a reform costs over many CPTS, who gains and who loses, by taille."""
    if output:
        check_output(output)  # before the work, not after
    if output_format == "html":
        from .html import require_report_extra

        require_report_extra()
    library = Library()
    timelines = (library.timeline(baseline, renewal=assume_renewal),
                 library.timeline(reform, as_if_from=as_if_from, renewal=assume_renewal))
    rulesets = [timeline.resolve(day) for timeline in timelines]
    sources = _read(library, profiles, baseline, reform)
    before = _run(timelines[0], sources, day, _jobs(jobs), (baseline, None, assume_renewal), "Référence")
    after = _run(timelines[1], sources, day, _jobs(jobs), (reform, as_if_from, assume_renewal), "Réforme")
    report = compare_rows(rulesets, before, after, day, top)
    report["assumptions"] = list(dict.fromkeys(timelines[0].assumptions() + timelines[1].assumptions()))
    report["renewal_assumed"] = assume_renewal
    if output_format == "html":
        from .html import render_compare_html

        text = render_compare_html(report, before, after, rulesets)
    else:
        render = {"text": _compare_text, "markdown": _compare_markdown, "json": lambda r: json_dumps(_jsonable(r))}
        text = render[output_format](report)
    if output:
        write_atomically(output, text if text.endswith("\n") else text + "\n")
    else:
        click.echo(text if output_format in ("json", "html") else terminal_safe(text), nl=False)
    return EXIT_OK


def _jsonable(node):
    if isinstance(node, dict):
        return {str(k): _jsonable(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_jsonable(v) for v in node]
    if isinstance(node, Decimal):
        return str(node)
    return node


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + euros(value)


def _percent(part: Decimal, whole: Decimal) -> str:
    if not whole:
        return ""
    return f"{'+' if part > 0 else ''}{_plain((part * 100 / whole).quantize(Decimal('0.1'))).replace('.', ',')} %"


def _out_of_contract_lines(r, indent) -> list[str]:
    """How many CPTS are out of contract under each text, and why their amount is 0."""
    out = []
    for side, title in (("baseline", "référence"), ("reform", "réforme")):
        counts = r["out_of_contract"][side]
        if any(counts.values()):
            out.append(f"{indent}Hors contrat sous la {title} : {counts['ended']} au contrat de 5 ans échu "
                       f"(aucun contrat suivant dans le profil), {counts['not_signed']} pas encore signées "
                       "— montant 0, comptées à part")
    if r["out_of_contract"]["baseline"]["ended"] and not r["renewal_assumed"]:
        out.append(f"{indent}(--assume-renewal suppose un nouveau contrat à chaque échéance, sous le texte alors en vigueur)")
    out.extend(f"{indent}Hypothèse : {a}" for a in r["assumptions"])
    return out


def _compare_text(r) -> str:
    out = [f"{r['reform']} comparé à {r['baseline']}, au {r['date']}, sur {r['profiles']} CPTS", ""]
    out.append(f"  Coût de référence   {euros(r['baseline_total']):>20}")
    out.append(f"  Coût de la réforme  {euros(r['reform_total']):>20}")
    out.append(f"  Écart               {_signed(r['difference']):>20}  {_percent(r['difference'], r['baseline_total'])}")
    out.append(f"  Gagnent {r['gain']}, perdent {r['lose']}, inchangées {r['unchanged']}, "
               f"hors contrat {r['out_of_contract_both']}")
    out.extend(_out_of_contract_lines(r, "  "))
    out.append("")
    out.append(f"  {'Taille':<8} {'CPTS':>6} {'Référence':>18} {'Réforme':>18} {'Écart':>18}")
    for size, e in r["by_size"].items():
        out.append(f"  {size if size is not None else '—'!s:<8} {e['count']:>6} {euros(e['baseline']):>18} "
                   f"{euros(e['reform']):>18} {_signed(e['difference']):>18}")
    out.append("")
    out.append(f"  {'Mission':<24} {'Référence':>18} {'Réforme':>18} {'Écart':>18}")
    for key, e in r["by_mission"].items():
        out.append(f"  {key:<24} {euros(e['baseline']):>18} {euros(e['reform']):>18} {_signed(e['difference']):>18}")
    if r["largest"]:
        out.append("")
        out.append("  Plus grands écarts")
        for e in r["largest"]:
            out.append(f"    {e['name'][:34]:<34} taille {e['size']!s:<3} {euros(e['baseline']):>15} → "
                       f"{euros(e['reform']):>15}  {_signed(e['difference']):>15}")
    return "\n".join(out) + "\n"


def _compare_markdown(r) -> str:
    out = [f"## {r['reform']} comparé à {r['baseline']} ({r['date']}, {r['profiles']} CPTS)", "",
           "| | Montant |", "|---|---:|",
           f"| Coût de référence | {euros(r['baseline_total'])} |",
           f"| Coût de la réforme | {euros(r['reform_total'])} |",
           f"| Écart | {_signed(r['difference'])} ({_percent(r['difference'], r['baseline_total'])}) |", "",
           f"Gagnent **{r['gain']}**, perdent **{r['lose']}**, inchangées **{r['unchanged']}**, "
           f"hors contrat **{r['out_of_contract_both']}**.", *_out_of_contract_lines(r, "- "), "",
           "| Taille | CPTS | Référence | Réforme | Écart |", "|---|---:|---:|---:|---:|"]
    for size, e in r["by_size"].items():
        out.append(f"| {size if size is not None else '—'} | {e['count']} | {euros(e['baseline'])} | "
                   f"{euros(e['reform'])} | {_signed(e['difference'])} |")
    out += ["", "| Mission | Référence | Réforme | Écart |", "|---|---:|---:|---:|"]
    for key, e in r["by_mission"].items():
        out.append(f"| {key} | {euros(e['baseline'])} | {euros(e['reform'])} | {_signed(e['difference'])} |")
    if r["largest"]:
        out += ["", "| CPTS | Taille | Référence | Réforme | Écart |", "|---|---:|---:|---:|---:|"]
        for e in r["largest"]:
            out.append(f"| {e['name']} | {e['size']} | {euros(e['baseline'])} | {euros(e['reform'])} | "
                       f"{_signed(e['difference'])} |")
    return "\n".join(out) + "\n"

"""Commands over many CPTS: batch, compare."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
from decimal import Decimal

import click

from aci_rules.engine.batch import check_profiles, evaluate_many, read_profiles, stream_csv
from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.fastpath import FastRuleset
from aci_rules.engine.impact import NO_MISSION, compare_rows
from aci_rules.engine.library import Library

from .base import EXIT_OK, DateType, examples, guarded, load_rulesets
from .output import atomic_output, check_output, spreadsheet_safe, terminal_safe, write_atomically
from .render import _plain, euros, json_dumps

# A run of this many profiles or more shows a progress bar on stderr.
PROGRESS_FROM = 500


def _jobs(value: int) -> int:
    return (os.cpu_count() or 1) if value == 0 else value


def _load(library, path, ruleset_name, day):
    ruleset = library.get(ruleset_name, day) if ruleset_name else library.in_force(day)
    known = library.mission_ids() | set(ruleset.missions)
    sources = read_profiles(path, known)
    problems = check_profiles(sources, known)
    if problems:
        raise InputError(problems)
    return ruleset, sources


def _run(ruleset, sources, day, jobs, ruleset_name, label):
    fast = FastRuleset(ruleset)
    if len(sources) >= PROGRESS_FROM:
        with click.progressbar(length=len(sources), label=label, file=sys.stderr) as bar:
            return evaluate_many(fast, sources, day, jobs=jobs, progress=bar.update, ruleset_name=ruleset_name)
    return evaluate_many(fast, sources, day, jobs=jobs, ruleset_name=ruleset_name)


@click.command("batch", epilog=examples(
    "aci-rules batch examples/national-sample.csv --date 2024-06-01 --output rows.csv",
))
@click.argument("profiles", type=click.Path(exists=True))
@click.option("--date", "day", type=DateType(), required=True, help="The evaluation date of every profile.")
@click.option("--ruleset", "ruleset_name", metavar="ID|PATH", help="Force a ruleset (default: the text in force).")
@click.option("--format", "output_format", type=click.Choice(["csv", "jsonl"]), default=None,
              help="csv or jsonl (default: from --output's extension, else csv).")
@click.option("--output", "output", type=click.Path(),
              help="Write the rows to this file, all at once (an interrupted run leaves it untouched).")
@click.option("--jobs", "jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes to use; 0 for every core.")
@guarded
def batch_command(profiles, day, ruleset_name, output_format, output, jobs):
    """Evaluate many profiles (a .csv, a .jsonl, or a folder of YAML profiles): one row each,
    with the total per mission."""
    if output:
        check_output(output)  # before the work, not after
    library = Library()
    output_format = output_format or ("jsonl" if output and output.endswith((".jsonl", ".ndjson")) else "csv")
    if profiles.endswith(".csv") and not os.path.isdir(profiles) and _jobs(jobs) == 1:
        # One process: read, check and evaluate row by row, each row written as it comes
        # (to the temporary file of --output, or a buffer for stdout: nothing half-written).
        ruleset = library.get(ruleset_name, day) if ruleset_name else library.in_force(day)
        known = library.mission_ids() | set(ruleset.missions)
        fast = FastRuleset(ruleset)

        def write(stream):
            emit = _row_writer(stream, list(ruleset.missions), output_format)
            with contextlib.ExitStack() as stack:
                def progress(count):
                    if count < PROGRESS_FROM:
                        return None
                    return stack.enter_context(
                        click.progressbar(length=count, label="Évaluation", file=sys.stderr)).update
                stream_csv(fast, profiles, known, day, emit, progress=progress)
    else:
        ruleset, sources = _load(library, profiles, ruleset_name, day)
        rows = _run(ruleset, sources, day, _jobs(jobs), ruleset_name, "Évaluation")

        def write(stream):
            emit = _row_writer(stream, list(ruleset.missions), output_format)
            for row in rows:
                emit(row)
    if output:
        with atomic_output(output) as stream:
            write(stream)
    else:
        buffer = io.StringIO()
        write(buffer)
        click.echo(buffer.getvalue(), nl=False)
    return EXIT_OK


def _row_writer(stream, missions, output_format):
    """Write the header (CSV) to ``stream``; return the function that writes one row."""
    if output_format == "jsonl":
        return lambda row: stream.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["source", "name", "ruleset", "size", "contract_year", "total"]
                    + [f"mission_{m}" for m in missions] + [NO_MISSION])
    zero = Decimal("0.00")

    def emit(row):
        writer.writerow([spreadsheet_safe(row.source), spreadsheet_safe(row.name), row.ruleset, row.size,
                         row.contract_year, row.total]
                        + [row.missions.get(m, zero) for m in missions] + [row.missions.get("", zero)])
    return emit


@click.command("compare", epilog=examples(
    "aci-rules compare examples/national-sample.csv --baseline avenant-2 --reform examples/plan-100-cpts.yaml --date 2024-06-01",
    "aci-rules compare examples/ --baseline avenant-2 --reform examples/plan-100-cpts.yaml --date 2024-06-01 --format html --output comparaison.html",
))
@click.argument("profiles", type=click.Path(exists=True))
@click.option("--baseline", "baseline", metavar="ID|PATH", required=True, help="The ruleset compared against.")
@click.option("--reform", "reform", metavar="ID|PATH", required=True, help="The ruleset proposed.")
@click.option("--date", "day", type=DateType(), required=True, help="The evaluation date of every profile.")
@click.option("--top", "top", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the largest changes to list.")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json", "html"]), default="text",
              show_default=True, help="html: a page with charts.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write to this file (all at once) instead of stdout.")
@click.option("--jobs", "jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes to use; 0 for every core.")
@guarded
def compare_command(profiles, baseline, reform, day, top, output_format, output, jobs):
    """What a reform costs over many CPTS, who gains and who loses, by taille."""
    if output:
        check_output(output)  # before the work, not after
    if output_format == "html":
        from .html import require_report_extra

        require_report_extra()
    library = Library()
    rulesets = load_rulesets(library, (baseline, reform), day)
    known = library.mission_ids() | set(rulesets[0].missions) | set(rulesets[1].missions)
    sources = read_profiles(profiles, known)
    problems = check_profiles(sources, known)
    if problems:
        raise InputError(problems)
    before = _run(rulesets[0], sources, day, _jobs(jobs), baseline, "Référence")
    after = _run(rulesets[1], sources, day, _jobs(jobs), reform, "Réforme")
    report = compare_rows(rulesets, before, after, day, top)
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


def _compare_text(r) -> str:
    out = [f"{r['reform']} comparé à {r['baseline']}, au {r['date']}, sur {r['profiles']} CPTS", ""]
    out.append(f"  Coût de référence   {euros(r['baseline_total']):>20}")
    out.append(f"  Coût de la réforme  {euros(r['reform_total']):>20}")
    out.append(f"  Écart               {_signed(r['difference']):>20}  {_percent(r['difference'], r['baseline_total'])}")
    out.append(f"  Gagnent {r['gain']}, perdent {r['lose']}, inchangées {r['unchanged']}")
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
           f"Gagnent **{r['gain']}**, perdent **{r['lose']}**, inchangées **{r['unchanged']}**.", "",
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

"""Commands over many CPTS: batch, compare."""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import sys
from decimal import Decimal

import click

from aci_rules.engine.batch import CSV_DIALECTS, check_profiles, evaluate_many, read_profiles
from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.fastpath import FastTimeline
from aci_rules.engine.impact import NO_MISSION, OUT_OF_CONTRACT, compare_rows
from aci_rules.engine.library import Library

from .base import EXIT_OK, DateType, examples, guarded, make_timeline, time_options
from .i18n import _, language, render
from .output import atomic_output, check_output, emit, spreadsheet_safe
from .spreadsheet import Column, Table, check_spreadsheet_output, write_tables
from .render import _plain, euros, json_dumps

# A run of this many profiles or more shows a progress bar on stderr, when stderr is a terminal.
PROGRESS_FROM = 500


def _jobs(value: int) -> int:
    return (os.cpu_count() or 1) if value == 0 else value


csv_dialect_option = click.option(
    "--csv-dialect", "csv_dialect", type=click.Choice(CSV_DIALECTS), default="auto", show_default=True,
    help="How a CSV of profiles is written: comma (',' and decimal point), excel-fr (French Excel: "
         "';', decimal comma, DD/MM/YYYY, UTF-8 or Windows-1252), or auto (from its header row).")


def _named_missions(library, *names) -> set:
    """The mission ids of the rulesets named (every provision applied), for the CSV columns."""
    found = set()
    for name in names:
        if name:
            found |= set(library.get(name).missions)
    return found


def _read(library, path, csv_dialect, *names):
    known = library.mission_ids() | _named_missions(library, *names)
    sources = read_profiles(path, known, csv_dialect)
    problems = check_profiles(sources, known)
    if problems:
        raise InputError(problems)
    return sources


def _run(timeline, sources, day, jobs, spec, label):
    fast = FastTimeline(timeline)
    # Not in a log or a pipe: click would write its label there as a bare line, among diagnostics.
    if len(sources) >= PROGRESS_FROM and sys.stderr.isatty():
        with click.progressbar(length=len(sources), label=label, file=sys.stderr) as bar:
            return evaluate_many(fast, sources, day, jobs=jobs, progress=bar.update, timeline_spec=spec)
    return evaluate_many(fast, sources, day, jobs=jobs, timeline_spec=spec)


def _say_assumptions(timeline, rows):
    """The assumptions, and how many CPTS are out of contract, on stderr (stdout carries the rows)."""
    for assumption in timeline.assumptions():
        click.echo(f"aci-rules: hypothèse : {render(assumption)}", err=True)
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
@click.option("--format", "output_format", type=click.Choice(["csv", "csv-fr", "jsonl", "xlsx"]), default=None,
              help="csv (for a program), csv-fr (for French Excel: ';', decimal comma), jsonl, or xlsx "
                   "(a workbook, with --output; needs the xlsx extra). Default: from --output's "
                   "extension, else csv.")
@click.option("--output", "output", type=click.Path(),
              help="Write the rows to this file, all at once (an interrupted run leaves it untouched).")
@click.option("--jobs", "jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes to use; 0 for every core.")
@csv_dialect_option
@guarded
def batch_command(profiles, day, ruleset_name, as_if_from, assume_renewal, output_format, output, jobs,
                  csv_dialect):
    """Evaluate many profiles (a .csv, a .jsonl, or a folder of YAML profiles): one row each,
    with the total per mission."""
    output_format = output_format or _format_of(output)
    check_spreadsheet_output(output_format, output)
    if output:
        check_output(output)  # before the work, not after
    library = Library()
    timeline = make_timeline(library, ruleset_name, as_if_from, assume_renewal)
    ruleset = timeline.resolve(day)
    sources = _read(library, profiles, csv_dialect, ruleset_name)
    rows = _run(timeline, sources, day, _jobs(jobs), (ruleset_name, as_if_from, assume_renewal), _("Evaluation"))
    missions = list(ruleset.missions) + sorted({m for row in rows for m in row.missions
                                                if m and m not in ruleset.missions})
    if output_format in ("xlsx", "csv-fr"):
        write_tables(_rows_table(rows, missions), output_format, output)
    elif output:
        with atomic_output(output) as stream:
            _write_rows(stream, rows, missions, output_format)
    else:
        buffer = io.StringIO()
        _write_rows(buffer, rows, missions, output_format)
        click.echo(buffer.getvalue(), nl=False)
    _say_assumptions(timeline, rows)
    return EXIT_OK


def _format_of(output) -> str:
    """The output format an --output file's extension names (csv when it names none)."""
    if output and output.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if output and output.endswith(".xlsx"):
        return "xlsx"
    return "csv"


def _rows_table(rows, missions) -> list[Table]:
    columns = [Column(_("Source")), Column(_("Name")), Column(_("Text applied")), Column(_("Taille"), "integer"),
               Column(_("Contract year"), "integer"), Column(_("Total"), "euros")]
    columns += [Column(m, "euros") for m in missions] + [Column(NO_MISSION, "euros"), Column(_("Out of contract"))]
    zero = Decimal("0.00")
    return [Table(_("CPTS"), columns, [
        [row.source, row.name, row.ruleset, row.size, row.contract_year, row.total]
        + [row.missions.get(m, zero) for m in missions]
        + [row.missions.get("", zero), OUT_OF_CONTRACT.get(row.out_of_contract, "")]
        for row in rows])]


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
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json", "xlsx", "html"]),
              default=None, help="text for a person, markdown for a memo, json for a program, xlsx for a "
                                 "workbook (with --output; needs the xlsx extra), html for a page with charts. "
                                 "Default: xlsx for an --output ending in .xlsx, else text.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write to this file (all at once) instead of stdout.")
@click.option("--jobs", "jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes to use; 0 for every core.")
@csv_dialect_option
@guarded
def compare_command(profiles, baseline, reform, day, as_if_from, assume_renewal, top, output_format, output, jobs,
                    csv_dialect):
    """What a reform costs over many CPTS, who gains and who loses, by taille."""
    output_format = output_format or ("xlsx" if output and output.endswith(".xlsx") else "text")
    check_spreadsheet_output(output_format, output)
    if output:
        check_output(output)  # before the work, not after
    if output_format == "html":
        from .html import require_report_extra

        require_report_extra()
    library = Library()
    timelines = (library.timeline(baseline, renewal=assume_renewal),
                 library.timeline(reform, as_if_from=as_if_from, renewal=assume_renewal))
    rulesets = [timeline.resolve(day) for timeline in timelines]
    sources = _read(library, profiles, csv_dialect, baseline, reform)
    before = _run(timelines[0], sources, day, _jobs(jobs), (baseline, None, assume_renewal), _("Baseline"))
    after = _run(timelines[1], sources, day, _jobs(jobs), (reform, as_if_from, assume_renewal), _("Reform"))
    report = compare_rows(rulesets, before, after, day, top)
    report["assumptions"] = list(dict.fromkeys(timelines[0].assumptions() + timelines[1].assumptions()))
    report["renewal_assumed"] = assume_renewal
    if output_format == "xlsx":
        write_tables(_comparison_tables(report, before, after), output_format, output)
        return EXIT_OK
    if output_format == "html":
        from .html import render_compare_html

        text = render_compare_html(report, before, after, rulesets)
    else:
        render = {"text": _compare_text, "markdown": _compare_markdown, "json": lambda r: json_dumps(_jsonable(r))}
        text = render[output_format](report)
    emit(text, output, for_terminal=output_format not in ("json", "html"), final_newline=True)
    return EXIT_OK


def _fraction(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part`` as a share of ``whole``, to a ten-thousandth of a per cent (None when ``whole`` is zero)."""
    return (part / whole).quantize(Decimal("0.000001")) if whole else None


def _comparison_tables(r, before, after) -> list[Table]:
    """The comparison as a workbook: the summary, by taille, by mission, and every CPTS."""
    money = [Column(_("Baseline"), "euros"), Column(_("Reform"), "euros"), Column(_("Difference"), "signed_euros"),
             Column(_("Difference %"), "percent")]
    summary = Table(_("Summary"), [
        Column(_("Baseline text")), Column(_("Reform text")), Column(_("Date"), "date"),
        Column(_("CPTS"), "integer"), *money, Column(_("Gain"), "integer"), Column(_("Lose"), "integer"),
        Column(_("Unchanged"), "integer")],
        [[r["baseline"], r["reform"], datetime.date.fromisoformat(r["date"]), r["profiles"], r["baseline_total"],
          r["reform_total"], r["difference"], _fraction(r["difference"], r["baseline_total"]),
          r["gain"], r["lose"], r["unchanged"]]])
    sizes = Table(_("By taille"), [Column(_("Taille"), "integer"), Column(_("CPTS"), "integer"), *money],
                  [[size, e["count"], e["baseline"], e["reform"], e["difference"],
                    _fraction(e["difference"], e["baseline"])] for size, e in r["by_size"].items()])
    missions = Table(_("By mission"), [Column(_("Mission")), *money],
                     [[key, e["baseline"], e["reform"], e["difference"], _fraction(e["difference"], e["baseline"])]
                      for key, e in r["by_mission"].items()])
    every = Table(_("By CPTS"), [Column(_("Source")), Column(_("Name")), Column(_("Taille"), "integer"), *money],
                  [[a.source, a.name, a.size, a.total, b.total, b.total - a.total, _fraction(b.total - a.total, a.total)]
                   for a, b in zip(before, after)])
    return [summary, sizes, missions, every]


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
    shown = _plain((part * 100 / whole).quantize(Decimal("0.1")))
    return f"{'+' if part > 0 else ''}{shown} %" if language() == "en" else \
        f"{'+' if part > 0 else ''}{shown.replace('.', ',')} %"


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
    out = [_("{reform} compared with {baseline}, on {date}, over {count} CPTS").format(
        reform=r["reform"], baseline=r["baseline"], date=r["date"], count=r["profiles"]), ""]
    out.append(f"  {_('Baseline cost'):<19} {euros(r['baseline_total']):>20}")
    out.append(f"  {_('Reform cost'):<19} {euros(r['reform_total']):>20}")
    out.append(f"  {_('Difference'):<19} {_signed(r['difference']):>20}  "
               f"{_percent(r['difference'], r['baseline_total'])}")
    out.append("  " + _("Gain {gain}, lose {lose}, unchanged {unchanged}, out of contract {out}").format(
        gain=r["gain"], lose=r["lose"], unchanged=r["unchanged"], out=r["out_of_contract_both"]))
    out.extend(_out_of_contract_lines(r, "  "))
    out.append("")
    out.append(f"  {_('Taille'):<8} {_('CPTS'):>6} {_('Baseline'):>18} {_('Reform'):>18} {_('Difference'):>18}")
    for size, e in r["by_size"].items():
        out.append(f"  {size if size is not None else '—'!s:<8} {e['count']:>6} {euros(e['baseline']):>18} "
                   f"{euros(e['reform']):>18} {_signed(e['difference']):>18}")
    out.append("")
    out.append(f"  {_('Mission'):<24} {_('Baseline'):>18} {_('Reform'):>18} {_('Difference'):>18}")
    for key, e in r["by_mission"].items():
        out.append(f"  {key:<24} {euros(e['baseline']):>18} {euros(e['reform']):>18} {_signed(e['difference']):>18}")
    if r["largest"]:
        out.append("")
        out.append("  " + _("Largest changes"))
        for e in r["largest"]:
            size = _("taille {size}").format(size=e["size"])
            out.append(f"    {e['name'][:34]:<34} {size:<10} {euros(e['baseline']):>15} → "
                       f"{euros(e['reform']):>15}  {_signed(e['difference']):>15}")
    return "\n".join(out) + "\n"


def _compare_markdown(r) -> str:
    columns = f"| {_('Baseline')} | {_('Reform')} | {_('Difference')} |"
    out = ["## " + _("{reform} compared with {baseline} ({date}, {count} CPTS)").format(
               reform=r["reform"], baseline=r["baseline"], date=r["date"], count=r["profiles"]), "",
           f"| | {_('Amount')} |", "|---|---:|",
           f"| {_('Baseline cost')} | {euros(r['baseline_total'])} |",
           f"| {_('Reform cost')} | {euros(r['reform_total'])} |",
           f"| {_('Difference')} | {_signed(r['difference'])} ({_percent(r['difference'], r['baseline_total'])}) |",
           "", _("Gain **{gain}**, lose **{lose}**, unchanged **{unchanged}**, out of contract **{out}**.").format(
               gain=r["gain"], lose=r["lose"], unchanged=r["unchanged"], out=r["out_of_contract_both"]),
           *_out_of_contract_lines(r, "- "), "",
           f"| {_('Taille')} | {_('CPTS')} {columns}", "|---|---:|---:|---:|---:|"]
    for size, e in r["by_size"].items():
        out.append(f"| {size if size is not None else '—'} | {e['count']} | {euros(e['baseline'])} | "
                   f"{euros(e['reform'])} | {_signed(e['difference'])} |")
    out += ["", f"| {_('Mission')} {columns}", "|---|---:|---:|---:|"]
    for key, e in r["by_mission"].items():
        out.append(f"| {key} | {euros(e['baseline'])} | {euros(e['reform'])} | {_signed(e['difference'])} |")
    if r["largest"]:
        out += ["", f"| {_('CPTS')} | {_('Taille')} {columns}", "|---|---:|---:|---:|---:|"]
        for e in r["largest"]:
            out.append(f"| {e['name']} | {e['size']} | {euros(e['baseline'])} | {euros(e['reform'])} | "
                       f"{_signed(e['difference'])} |")
    return "\n".join(out) + "\n"

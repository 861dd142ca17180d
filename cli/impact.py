"""Commands over many CPTS: batch, compare."""

from __future__ import annotations

import csv
import datetime
import functools
import io
import json
import os
import sys
import tempfile
from decimal import Decimal

import click

from aci_rules.engine.assumptions import RateGaps
from aci_rules.engine.batch import CSV_DIALECTS, BatchRun, batch_missions, check_profiles, read_profiles
from aci_rules.engine.columnar import columnar_run, columns_missing
from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.fastpath import FastTimeline
from aci_rules.engine.impact import NO_MISSION, OUT_OF_CONTRACT, compare_cpts, compare_rows, evaluate_rows, percent
from aci_rules.engine.library import Library

from .assumptions import achievement_options, say_assumed, say_gaps, stated_rates
from .base import EXIT_OK, DateType, examples, guarded, make_timeline, time_options
from .i18n import _, language, render
from .output import atomic_output, check_output, emit, spreadsheet_safe
from .spreadsheet import Column, Table, check_spreadsheet_output, write_tables
from .render import _plain, euros, json_dumps

# A run of this many profiles or more shows a progress bar on stderr, when stderr is a terminal.
PROGRESS_FROM = 500
# The tables `compare --format csv|csv-fr` can write (one a file), by --table; the workbook holds them all.
TABLES = ("cpts", "summary", "by-size", "by-reform-size", "transitions", "by-mission", "out-of-contract")


def _changed_taille(count: int) -> str:
    """'1 CPTS changes taille' / '2 CPTS change taille', in the reader's language (French: 0 and 1 singular)."""
    template = _("{count} CPTS changes taille") if count <= 1 else _("{count} CPTS change taille")
    return template.format(count=count)


def _jobs(value: int) -> int:
    return (os.cpu_count() or 1) if value == 0 else value


csv_dialect_option = click.option(
    "--csv-dialect", "csv_dialect", type=click.Choice(CSV_DIALECTS), default="auto", show_default=True,
    help="How a CSV of profiles is written: comma (',' and decimal point), excel-fr (French Excel: "
         "';', decimal comma, DD/MM/YYYY, UTF-8 or Windows-1252), or auto (from its header row).")


def _named_rulesets(library, *names) -> list:
    """The rulesets named on the command line (ids or paths; None for the texts in force)."""
    return [library.get(name) for name in names if name]


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


def _run(timeline, sources, day, jobs, spec, label, assume=None):
    """The rows of a comparison's side, on the backend that pays (engine/impact.evaluate_rows),
    of the profiles under ``assume`` (the rates stated, or None); what the vectorised backend left
    to the scalar path is said on stderr."""
    # Not in a log or a pipe: click would write its label there as a bare line, among diagnostics.
    if len(sources) >= PROGRESS_FROM and sys.stderr.isatty():
        with click.progressbar(length=len(sources), label=label, file=sys.stderr) as bar:
            rows, backend = evaluate_rows(timeline, sources, day, jobs=jobs, progress=bar.update, timeline_spec=spec,
                                          assume=assume)
    else:
        rows, backend = evaluate_rows(timeline, sources, day, jobs=jobs, timeline_spec=spec, assume=assume)
    if backend is not None:
        from .sweep import backend_notes

        backend_notes([backend])
    return rows


@click.command("batch", epilog=examples(
    "aci-rules batch examples/national-sample.csv --date 2024-06-01 --output rows.csv",
    "aci-rules batch examples/national-sample.csv --date 2027-06-01 --assume-renewal --achievement 0.8",
))
@click.argument("profiles", type=click.Path(exists=True))
@click.option("--date", "day", type=DateType(), required=True,
              help="The evaluation date: each row is the entitlement of the contract year holding it.")
@time_options()
@achievement_options
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
def batch_command(profiles, day, ruleset_name, as_if_from, assume_renewal, achievement, achievement_replaces,
                  output_format, output, jobs, csv_dialect):
    """Evaluate many profiles (a .csv, a .jsonl, or a folder of YAML profiles): one row each,
    with the total per mission."""
    output_format = output_format or _format_of(output)
    check_spreadsheet_output(output_format, output)
    if output:
        check_output(output)  # before the work, not after
    library = Library()
    timeline = make_timeline(library, ruleset_name, as_if_from, assume_renewal)
    assume = stated_rates(library, _named_rulesets(library, ruleset_name), achievement, achievement_replaces)
    missions = batch_missions(timeline, day)
    spec = (ruleset_name, as_if_from, assume_renewal)
    if os.path.isdir(profiles):
        rows = _run(timeline, _read(library, profiles, csv_dialect, ruleset_name), day, _jobs(jobs), spec,
                    _("Evaluation"), assume)
        missions += sorted({m for row in rows for m in row.missions if m and m not in missions})
        pieces, ended = [rows], sum(1 for row in rows if row.out_of_contract == "ended")
        gaps = RateGaps.over(rows)
    else:
        if not profiles.endswith((".csv", ".jsonl", ".ndjson")):
            read_profiles(profiles, set(), csv_dialect)  # the refusal of a file of another kind
        known = library.mission_ids() | _named_missions(library, ruleset_name)
        render = None if output_format in ("xlsx", "csv-fr") else functools.partial(
            _render_rows, missions=tuple(missions), output_format=output_format)
        # A large CSV goes through the vectorised backend in columns when it is installed (the
        # rows it cannot vouch for through the row path, counted); else the row path, streamed.
        # Either spreads its chunks over --jobs N processes.
        if columns_missing(profiles, output_format, csv_dialect, assume):
            click.echo(_("aci-rules: this CSV is read row by row; with pip install 'aci-rules[vector]' (numpy) "
                         "it is read in columns, about ten times faster"), err=True)
        pieces = columnar_run(
            FastTimeline(timeline), profiles, known, day, missions=missions, output_format=output_format,
            render=render, csv_dialect=csv_dialect, progress=_progress_bar(), jobs=_jobs(jobs), timeline_spec=spec,
            assume=assume) \
            or BatchRun(FastTimeline(timeline), profiles, known, day, render=render, jobs=_jobs(jobs),
                        csv_dialect=csv_dialect, timeline_spec=spec, progress=_progress_bar(), assume=assume)
    if output_format in ("xlsx", "csv-fr"):
        rows = [row for piece in pieces for row in piece]
        write_tables(_rows_table(rows, missions), output_format, output)
    else:
        if isinstance(pieces, list):  # rows already evaluated (a folder)
            pieces = [_render_rows(pieces[0], tuple(missions), output_format)]
        _write_pieces(pieces, missions, output_format, output)
    if not isinstance(pieces, list):
        ended, gaps = pieces.ended, pieces.gaps
    _say_assumptions(timeline, ended)
    say_assumed(assume)
    say_gaps(gaps, profiles)
    _say_backend(pieces)
    return EXIT_OK


def _say_backend(pieces) -> None:
    """For a batch read in columns: the texts the vectorised backend refused, and how many rows
    the row path computed (as `sweep` says them), on stderr."""
    if not hasattr(pieces, "vector_rows"):
        return
    for text, reason in sorted(pieces.refused.items()):
        click.echo(_("aci-rules: {text} is not vectorised ({reason}): computed by the scalar path")
                   .format(text=text, reason=render(reason)), err=True)
    if pieces.scalar_rows:
        click.echo(_("aci-rules: {scalar} evaluations by the scalar path, {vector} by the columns")
                   .format(scalar=pieces.scalar_rows, vector=pieces.vector_rows), err=True)


def _progress_bar():
    """A progress bar on stderr from PROGRESS_FROM rows, when stderr is a terminal; else None.

    Not in a log or a pipe: click would write its label there as a bare line, among diagnostics.
    """
    if not sys.stderr.isatty():
        return None

    def start(count):
        if count < PROGRESS_FROM:
            return None
        bar = click.progressbar(length=count, label=_("Evaluation"), file=sys.stderr)
        bar.render_progress()
        _BARS.append(bar)
        return bar.update
    return start


_BARS: list = []


def _write_pieces(pieces, missions, output_format, output) -> None:
    """The header, then each chunk's rows as they come: into a temporary file renamed onto
    ``output`` at the end, or, for stdout, into an unnamed temporary file shown at the end (a
    problem found at the last row leaves nothing written either way)."""
    header = _header(missions) if output_format == "csv" else ""
    try:
        if output:
            with atomic_output(output) as stream:
                stream.write(header)
                _write_all(stream, pieces)
            return
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as stream:
            stream.write(header)
            _write_all(stream, pieces)
            stream.seek(0)
            while True:
                block = stream.read(1 << 20)
                if not block:
                    break
                click.echo(block, nl=False)
    finally:
        while _BARS:
            _BARS.pop().render_finish()


def _write_all(stream, pieces) -> None:
    """Each piece into a text file: a text, or bytes already in UTF-8 (the columnar batch's rows,
    written as they are rather than decoded and encoded again)."""
    for piece in pieces:
        if isinstance(piece, bytes):
            stream.flush()
            stream.buffer.write(piece)
        else:
            stream.write(piece)


def _header(missions) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(
        ["source", "name", "ruleset", "size", "contract_year", "total"]
        + [f"mission_{m}" for m in missions] + [NO_MISSION, "hors_contrat"])
    return buffer.getvalue()


def _say_assumptions(timeline, ended: int):
    """The assumptions, and how many CPTS are out of contract, on stderr (stdout carries the rows)."""
    for assumption in timeline.assumptions():
        click.echo(_("aci-rules: assumption: {text}").format(text=render(assumption)), err=True)
    if ended:
        hint = "" if timeline.renewal else _("; --assume-renewal assumes a renewal")
        click.echo(_("aci-rules: {count} CPTS out of contract on the date (5-year contract ended, no later contract "
                     "in the profile): amount 0{hint}").format(count=ended, hint=hint), err=True)


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


def _render_rows(rows, missions: tuple, output_format: str) -> str:
    """The text of ``rows`` in the csv or jsonl output (the csv header apart); run by the
    workers of --jobs too, so that only text comes back to the parent."""
    zero = Decimal("0.00")
    if output_format == "jsonl":
        return "".join(json.dumps(row.to_dict(), ensure_ascii=False) + "\n" for row in rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = set(missions) | {""}
    for row in rows:
        amounts = row.missions
        for mission in amounts:
            if mission not in columns:  # the columns are the texts' missions: a row naming another is a bug of ours
                raise RuntimeError(f"mission {sorted(set(amounts) - columns)} has no column")
        writer.writerow([spreadsheet_safe(row.source), spreadsheet_safe(row.name), row.ruleset, row.size,
                         row.contract_year, row.total]
                        + [amounts.get(m, zero) for m in missions]
                        + [amounts.get("", zero), OUT_OF_CONTRACT.get(row.out_of_contract, "")])
    return buffer.getvalue()


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
@achievement_options
@click.option("--top", "top", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the largest changes to list.")
@click.option("--format", "output_format",
              type=click.Choice(["text", "markdown", "json", "csv", "csv-fr", "xlsx", "html"]),
              default=None, help="text for a person, markdown for a memo, json for a program, csv (for a program) "
                                 "or csv-fr (for French Excel) for one table (--table), xlsx for a workbook of "
                                 "every table (with --output; needs the xlsx extra), html for a page with charts. "
                                 "Default: from --output's extension (.xlsx, .csv), else text.")
@click.option("--table", "table", type=click.Choice(TABLES), default="cpts", show_default=True,
              help="With --format csv or csv-fr, the table written: every CPTS (its taille and contract under "
                   "each text, both amounts, its status), the summary, by the baseline's or the reform's taille, "
                   "the transitions between tailles, by mission, or the CPTS out of contract.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write to this file (all at once) instead of stdout.")
@click.option("--jobs", "jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes to use; 0 for every core.")
@csv_dialect_option
@guarded
def compare_command(profiles, baseline, reform, day, as_if_from, assume_renewal, achievement, achievement_replaces,
                    top, output_format, table, output, jobs, csv_dialect):
    """What a reform costs over many CPTS, who gains and who loses, by taille under each text and
    from one taille to another, and which CPTS are out of contract under each text."""
    output_format = output_format or _compare_format_of(output)
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
    assume = stated_rates(library, _named_rulesets(library, baseline, reform), achievement, achievement_replaces)
    sources = _read(library, profiles, csv_dialect, baseline, reform)
    before = _run(timelines[0], sources, day, _jobs(jobs), (baseline, None, assume_renewal), _("Baseline"), assume)
    after = _run(timelines[1], sources, day, _jobs(jobs), (reform, as_if_from, assume_renewal), _("Reform"), assume)
    say_gaps(RateGaps.over(before, after), profiles)
    stated = [assume.note()] if assume is not None else []
    report = compare_rows(rulesets, before, after, day, top,
                          assumptions=timelines[0].assumptions() + timelines[1].assumptions() + stated,
                          renewal_assumed=assume_renewal)
    if output_format in ("xlsx", "csv-fr"):
        tables = _comparison_tables(report, compare_cpts(before, after))
        write_tables(list(tables.values()) if output_format == "xlsx" else [tables[table]], output_format, output)
        return EXIT_OK
    if output_format == "csv":
        emit(_render_csv(_csv_rows(report, compare_cpts(before, after), table)), output)
        return EXIT_OK
    if output_format == "html":
        from .html import render_compare_html

        text = render_compare_html(report, before, after, rulesets)
    elif output_format == "json":
        text = json_dumps(_jsonable(report))
    else:
        text = {"text": _compare_text, "markdown": _compare_markdown}[output_format](report, top)
    emit(text, output, for_terminal=output_format not in ("json", "html"), final_newline=True)
    return EXIT_OK


def _compare_format_of(output) -> str:
    if output and output.endswith(".xlsx"):
        return "xlsx"
    return "csv" if output and output.endswith(".csv") else "text"


def _size(size) -> str:
    return "—" if size is None else str(size)


def _status_words() -> dict:
    return {"gain": _("gains"), "lose": _("loses"), "unchanged": _("unchanged"),
            "out_of_contract_both": _("out of contract under both texts"),
            "out_of_contract_baseline": _("out of contract under the baseline"),
            "out_of_contract_reform": _("out of contract under the reform")}


def _reason(code) -> str:
    return {"not_signed": _("not yet signed"), "ended": _("contract ended"), None: _("under contract")}[code]


def _rate(value: Decimal | None) -> Decimal | None:
    """A percentage of the engine (2.3 for 2.3 %) as the fraction a spreadsheet's percent format shows."""
    return None if value is None else value / 100


def _comparison_tables(r, entries) -> dict:
    """The comparison as tables, by --table name: the summary, by taille under each text, the
    transitions between them, by mission, the CPTS out of contract, and every CPTS."""
    money = [Column(_("Baseline"), "euros"), Column(_("Reform"), "euros"), Column(_("Difference"), "signed_euros"),
             Column(_("Difference %"), "percent")]

    def costs(e):
        return [e["baseline"], e["reform"], e["difference"], _rate(e["percent"])]

    summary = Table(_("Summary"), [
        Column(_("Baseline text")), Column(_("Reform text")), Column(_("Date"), "date"),
        Column(_("CPTS"), "integer"), *money, Column(_("Gain"), "integer"), Column(_("Lose"), "integer"),
        Column(_("Unchanged"), "integer"), Column(_("Out of contract under both texts"), "integer"),
        Column(_("Out of contract under the baseline only"), "integer"),
        Column(_("Out of contract under the reform only"), "integer")],
        [[r["baseline"], r["reform"], datetime.date.fromisoformat(r["date"]), r["profiles"], r["baseline_total"],
          r["reform_total"], r["difference"], _rate(r["percent"]), r["gain"], r["lose"], r["unchanged"],
          r["out_of_contract_both"], r["out_of_contract_baseline_only"], r["out_of_contract_reform_only"]]])
    sizes = Table(_("By taille"), [Column(_("Taille"), "integer"), Column(_("CPTS"), "integer"), *money],
                  [[size, e["count"], *costs(e)] for size, e in r["by_size"].items()])
    reform_sizes = Table(_("By reform taille"), [Column(_("Taille"), "integer"), Column(_("CPTS"), "integer"), *money],
                         [[size, e["count"], *costs(e)] for size, e in r["by_reform_size"].items()])
    transitions = Table(_("Transitions"), [
        Column(_("Baseline taille"), "integer"), Column(_("Reform taille"), "integer"), Column(_("CPTS"), "integer"),
        *money], [[e["baseline_size"], e["reform_size"], e["count"], *costs(e)] for e in r["transitions"]])
    missions = Table(_("By mission"), [Column(_("Mission")), *money],
                     [[key, *costs(e)] for key, e in r["by_mission"].items()])
    outside = Table(_("Out of contract"), [
        Column(_("Source")), Column(_("Name")), Column(_("Under the baseline")), Column(_("Under the reform")),
        Column(_("Baseline"), "euros"), Column(_("Reform"), "euros")],
        [[e["source"], e["name"], _reason(e["baseline"]), _reason(e["reform"]), e["baseline_amount"],
          e["reform_amount"]] for e in r["out_of_contract_cpts"]])
    words = _status_words()
    every = Table(_("By CPTS"), [
        Column(_("Source")), Column(_("Name")), Column(_("Baseline taille"), "integer"),
        Column(_("Reform taille"), "integer"), *money, Column(_("Status"))],
        [[e["source"], e["name"], e["baseline_size"], e["reform_size"], *costs(e), words[e["status"]]]
         for e in entries])
    return {"summary": summary, "by-size": sizes, "by-reform-size": reform_sizes, "transitions": transitions,
            "by-mission": missions, "out-of-contract": outside, "cpts": every}


def _csv_rows(r, entries, table) -> list[dict]:
    """The rows of a --table for a program: the engine's own keys and figures, one dict a row."""
    if table == "cpts":
        return entries
    if table == "summary":
        keys = ("baseline", "reform", "date", "profiles", "baseline_total", "reform_total", "difference", "percent",
                "gain", "lose", "unchanged", "out_of_contract_both", "out_of_contract_baseline_only",
                "out_of_contract_reform_only")
        return [{key: r[key] for key in keys}]
    if table in ("by-size", "by-reform-size"):
        split = r["by_size" if table == "by-size" else "by_reform_size"]
        return [{"size": size, **e} for size, e in split.items()]
    if table == "transitions":
        return r["transitions"]
    if table == "by-mission":
        return [{"mission": key, **e} for key, e in r["by_mission"].items()]
    return r["out_of_contract_cpts"]


def _render_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if rows:
        writer.writerow(list(rows[0]))
    for row in rows:
        writer.writerow(["" if v is None else spreadsheet_safe(v) if isinstance(v, str) else v for v in row.values()])
    return buffer.getvalue()


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


def _shown_percent(value: Decimal | None) -> str:
    """A percentage the engine computed (2.3 for 2.3 %), signed, the reader's way."""
    if value is None:
        return ""
    shown = _plain(value)
    if language() != "en":
        shown = shown.replace(".", ",")
    return f"{'+' if value > 0 else ''}{shown} %"


def _percent(part: Decimal, whole: Decimal) -> str:
    """``part`` as a signed percentage of ``whole`` (``budget`` shows its own sums with it)."""
    return _shown_percent(percent(part, whole))


def _out_of_contract_lines(r, indent, top) -> list[str]:
    """How many CPTS are out of contract under each text, and why their amount is 0; the first
    ``top`` of them by name (every one is in the json, csv and xlsx outputs)."""
    out = []
    for side, title in (("baseline", _("Out of contract under the baseline")),
                        ("reform", _("Out of contract under the reform"))):
        counts = r["out_of_contract"][side]
        if any(counts.values()):
            out.append(indent + _("{title}: {ended} whose contract ended (no later contract in the "
                                  "profile), {not_signed} not yet signed — amount 0, counted apart").format(
                title=title, ended=counts["ended"], not_signed=counts["not_signed"]))
    if r["out_of_contract"]["baseline"]["ended"] and not r["renewal_assumed"]:
        out.append(indent + _("(--assume-renewal assumes a new contract at each end, under the text then in force)"))
    out.extend(indent + _("Assumption: {text}").format(text=render(a)) for a in r["assumptions"])
    return out


def _outside_listed(r, top) -> list[tuple]:
    """(name, under the baseline, under the reform) of the first ``top`` CPTS out of contract."""
    return [(e["name"], _reason(e["baseline"]), _reason(e["reform"])) for e in r["out_of_contract_cpts"][:top]]


def _counts_line(r) -> str:
    line = _("Gain {gain}, lose {lose}, unchanged {unchanged}, out of contract {out}").format(
        gain=r["gain"], lose=r["lose"], unchanged=r["unchanged"], out=r["out_of_contract_both"])
    if r["out_of_contract_baseline_only"] or r["out_of_contract_reform_only"]:
        line += "; " + _("out of contract under the baseline only {baseline}, under the reform only {reform}").format(
            baseline=r["out_of_contract_baseline_only"], reform=r["out_of_contract_reform_only"])
    return line


def _compare_text(r, top) -> str:
    out = [_("{reform} compared with {baseline}, on {date}, over {count} CPTS").format(
        reform=r["reform"], baseline=r["baseline"], date=r["date"], count=r["profiles"]), ""]
    out.append(f"  {_('Baseline cost'):<19} {euros(r['baseline_total']):>20}")
    out.append(f"  {_('Reform cost'):<19} {euros(r['reform_total']):>20}")
    out.append(f"  {_('Difference'):<19} {_signed(r['difference']):>20}  {_shown_percent(r['percent'])}")
    out.append("  " + _counts_line(r))
    out.extend(_out_of_contract_lines(r, "  ", top))
    header = f"{_('CPTS'):>6} {_('Baseline'):>18} {_('Reform'):>18} {_('Difference'):>18} {'%':>8}"

    def costs(e):
        return (f"{e['count']:>6} {euros(e['baseline']):>18} {euros(e['reform']):>18} {_signed(e['difference']):>18} "
                f"{_shown_percent(e['percent']):>8}")

    splits = [(_("By the baseline's taille"), r["by_size"])]
    if r["taille_changed"]:
        splits.append((_("By the reform's taille"), r["by_reform_size"]))
    for title, split in splits:
        out += ["", "  " + title, f"  {_('Taille'):<8} {header}"]
        out.extend(f"  {_size(size):<8} {costs(e)}" for size, e in split.items())
    out += ["", "  " + _("Transitions (taille under the baseline → under the reform)")]
    if r["taille_changed"]:
        out.append("    " + _changed_taille(r["taille_changed"]))
        out.append(f"  {_('Taille'):<8} {header}")
        out.extend(f"  {_size(e['baseline_size']) + ' → ' + _size(e['reform_size']):<8} {costs(e)}"
                   for e in r["transitions"])
    else:
        out.append("    " + _("every CPTS keeps its taille"))
    out += ["", f"  {_('Mission'):<24} {_('Baseline'):>18} {_('Reform'):>18} {_('Difference'):>18} {'%':>8}"]
    for key, e in r["by_mission"].items():
        out.append(f"  {key:<24} {euros(e['baseline']):>18} {euros(e['reform']):>18} {_signed(e['difference']):>18} "
                   f"{_shown_percent(e['percent']):>8}")
    listed = _outside_listed(r, top)
    if listed:
        out += ["", "  " + _("CPTS out of contract ({count}): under the baseline / under the reform").format(
            count=len(r["out_of_contract_cpts"]))]
        out.extend(f"    {name[:40]:<40} {under_baseline} / {under_reform}" for name, under_baseline, under_reform in listed)
        if len(r["out_of_contract_cpts"]) > len(listed):
            out.append("    " + _("… and {count} more (all in --format json, csv or xlsx)").format(
                count=len(r["out_of_contract_cpts"]) - len(listed)))
    if r["largest"]:
        out.append("")
        out.append("  " + _("Largest changes"))
        for e in r["largest"]:
            size = _("taille {size}").format(size=_size(e["size"]) if e["size"] == e["reform_size"]
                                             else f"{_size(e['size'])} → {_size(e['reform_size'])}")
            out.append(f"    {e['name'][:34]:<34} {size:<12} {euros(e['baseline']):>15} → "
                       f"{euros(e['reform']):>15}  {_signed(e['difference']):>15}")
    return "\n".join(out) + "\n"


def _md(text) -> str:
    return str(text).replace("|", "\\|")


def _compare_markdown(r, top) -> str:
    columns = f"| {_('Baseline')} | {_('Reform')} | {_('Difference')} | % |"

    def costs(e):
        return f"{euros(e['baseline'])} | {euros(e['reform'])} | {_signed(e['difference'])} | {_shown_percent(e['percent'])} |"

    out = ["## " + _("{reform} compared with {baseline} ({date}, {count} CPTS)").format(
               reform=r["reform"], baseline=r["baseline"], date=r["date"], count=r["profiles"]), "",
           f"| | {_('Amount')} |", "|---|---:|",
           f"| {_('Baseline cost')} | {euros(r['baseline_total'])} |",
           f"| {_('Reform cost')} | {euros(r['reform_total'])} |",
           f"| {_('Difference')} | {_signed(r['difference'])} ({_shown_percent(r['percent'])}) |",
           "", _counts_line(r) + ".", *_out_of_contract_lines(r, "- ", top), ""]
    splits = [(_("By the baseline's taille"), r["by_size"])]
    if r["taille_changed"]:
        splits.append((_("By the reform's taille"), r["by_reform_size"]))
    for title, split in splits:
        out += [f"### {title}", "", f"| {_('Taille')} | {_('CPTS')} {columns}", "|---|---:|---:|---:|---:|---:|"]
        out += [f"| {_size(size)} | {e['count']} | {costs(e)}" for size, e in split.items()]
        out.append("")
    out += [f"### {_('Transitions (taille under the baseline → under the reform)')}", ""]
    if r["taille_changed"]:
        out += [_changed_taille(r["taille_changed"]) + ".", ""]
        out += [f"| {_('Taille')} | {_('CPTS')} {columns}", "|---|---:|---:|---:|---:|---:|"]
        out += [f"| {_size(e['baseline_size'])} → {_size(e['reform_size'])} | {e['count']} | {costs(e)}"
                for e in r["transitions"]]
    else:
        out.append(_("every CPTS keeps its taille").capitalize() + ".")
    out += ["", f"| {_('Mission')} {columns}", "|---|---:|---:|---:|---:|"]
    out += [f"| {key} | {costs(e)}" for key, e in r["by_mission"].items()]
    listed = _outside_listed(r, top)
    if listed:
        out += ["", f"### " + _("CPTS out of contract ({count}): under the baseline / under the reform").format(
            count=len(r["out_of_contract_cpts"])), "",
            f"| {_('CPTS')} | {_('Under the baseline')} | {_('Under the reform')} |", "|---|---|---|"]
        out += [f"| {_md(name)} | {a} | {b} |" for name, a, b in listed]
        if len(r["out_of_contract_cpts"]) > len(listed):
            out += ["", _("… and {count} more (all in --format json, csv or xlsx)").format(
                count=len(r["out_of_contract_cpts"]) - len(listed))]
    if r["largest"]:
        out += ["", f"| {_('CPTS')} | {_('Taille')} {columns}", "|---|---:|---:|---:|---:|---:|"]
        for e in r["largest"]:
            size = _size(e["size"]) if e["size"] == e["reform_size"] else f"{_size(e['size'])} → {_size(e['reform_size'])}"
            out.append(f"| {_md(e['name'])} | {size} | {costs(e)}")
    return "\n".join(out) + "\n"

"""Commands about money over time: schedule."""

from __future__ import annotations

import csv
import io

import click

from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile, validate_profile
from aci_rules.engine.schedule import build_schedule
from aci_rules.engine.yaml_loader import load_document

from .base import EXIT_OK, DateType, examples, guarded, make_timeline, time_options
from .output import check_output, spreadsheet_safe, terminal_safe, write_atomically
from .render import euros, json_dumps

_CSV_FIELDS = ("due", "contract_year", "line", "label", "mission", "volet", "installment", "amount",
               "rule", "reference")


def render_schedule_text(schedule) -> str:
    profile = schedule.profile
    out = [f"{profile.name} — calendrier des versements"]
    out.extend(f"  Hypothèse : {assumption}" for assumption in schedule.assumptions)
    out.append("")
    for year in schedule.years:
        title = f"Année de contrat {year.number}" if year.number else "Avant le contrat"
        if year.number and year.contract and year.contract > 1:
            title += f" (contrat {year.contract}{', supposé' if year.assumed else ''}, année {year.year_in_contract})"
        parts = ", ".join(f"{rid} du {a} au {b}" for a, b, rid in year.segments)
        out.append(f"  {title} (du {year.start} au {year.end}) : droits {euros(year.total)} — {parts}")
    out.append("")
    out.append(f"  {'Échéance':<11} {'Année':>5}  {'Ligne':<28} {'Versement':<44} {'Montant':>15}")
    out.append("  " + "-" * 107)
    for payment in schedule.payments:
        year = payment.contract_year if payment.contract_year is not None else "—"
        out.append(f"  {payment.due.isoformat():<11} {year!s:>5}  {payment.line[:28]:<28} "
                   f"{payment.installment[:44]:<44} {euros(payment.amount):>15}")
    out.append("  " + "-" * 107)
    out.append(f"  {'Total':<93} {euros(schedule.total):>15}")
    out.append("")
    out.append("Par année de contrat")
    for number, amount in schedule.by_contract_year().items():
        label = f"année {number}" if number is not None else "avant le contrat"
        out.append(f"  {label:<20} {euros(amount):>15}")
    out.append("Par année civile")
    for year, amount in schedule.by_calendar_year().items():
        out.append(f"  {year!s:<20} {euros(amount):>15}")
    if schedule.obligations:
        out.append("")
        out.append(f"Obligations au {schedule.as_of}")
        for obligation in schedule.obligations:
            done = f"fait le {obligation.done}" if obligation.done else "pas encore fait"
            out.append(f"  {obligation.label:<64} échéance {obligation.deadline}  {done:<20} {obligation.status}")
    if schedule.notes:
        out.append("")
        out.append("Avertissements")
        out.extend(f"  {note}" for note in schedule.notes)
    return "\n".join(out) + "\n"


def render_schedule_json(schedule) -> str:
    return json_dumps({
        "profile": schedule.profile.name,
        "assumptions": list(schedule.assumptions),
        "years": [{"contract_year": y.number, "contract": y.contract, "year_in_contract": y.year_in_contract,
                   "assumed": y.assumed, "start": y.start.isoformat(), "end": y.end.isoformat(),
                   "total": str(y.total), "lines": {k: str(v) for k, v in y.lines.items()},
                   "segments": [{"start": a.isoformat(), "end": b.isoformat(), "ruleset": r}
                                for a, b, r in y.segments]} for y in schedule.years],
        "payments": [p.to_dict() for p in schedule.payments],
        "by_contract_year": {str(k): str(v) for k, v in schedule.by_contract_year().items()},
        "by_calendar_year": {str(k): str(v) for k, v in schedule.by_calendar_year().items()},
        "total": str(schedule.total),
        "obligations_as_of": schedule.as_of.isoformat() if schedule.as_of else None,
        "obligations": [o.to_dict() for o in schedule.obligations],
        "warnings": [{"code": n.code, "message": n.message} for n in schedule.notes],
    })


def render_schedule_csv(schedule) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for payment in schedule.payments:
        writer.writerow({key: spreadsheet_safe(value) for key, value in payment.to_dict().items()})
    return buffer.getvalue()


@click.command("schedule", epilog=examples(
    "aci-rules schedule examples/cpts-avenant-2-taille-4.yaml",
    "aci-rules schedule examples/cpts-avenant-2-taille-4.yaml --ruleset examples/plan-100-cpts.yaml --format csv --output calendrier.csv",
))
@click.argument("profile", type=click.Path(dir_okay=True))
@click.option("--until", "until", type=DateType(), help="Only the payments due on or before this date.")
@time_options()
@click.option("--format", "output_format", type=click.Choice(["text", "json", "csv", "html"]), default="text",
              show_default=True, help="html: a page with charts.")
@click.option("--output", "output", type=click.Path(),
              help="Write to this file (all at once: an interrupted run leaves it untouched).")
@guarded
def schedule_command(profile, until, ruleset_name, as_if_from, assume_renewal, output_format, output):
    """Every payment of a CPTS's contracts: when, what, how much, under which article."""
    if assume_renewal and until is None:
        raise click.UsageError("--assume-renewal needs --until: assumed contracts go on without end")
    if output:
        check_output(output)  # before the work, not after
    library = Library()
    document = load_document(profile)
    timeline = make_timeline(library, ruleset_name, as_if_from, assume_renewal)
    known = library.mission_ids() | (set(library.get(ruleset_name).missions) if ruleset_name else set())
    problems = validate_profile(document, known)
    if problems:
        raise InputError(problems)
    if output_format == "html":
        from .html import render_schedule_html, require_report_extra

        require_report_extra()
    schedule = build_schedule(compile_profile(document), timeline, until=until)
    render = {"text": render_schedule_text, "json": render_schedule_json, "csv": render_schedule_csv}
    if output_format == "html":
        render["html"] = render_schedule_html
    text = render[output_format](schedule)
    if output:
        write_atomically(output, text)
    else:
        click.echo(terminal_safe(text) if output_format == "text" else text, nl=False)
    return EXIT_OK

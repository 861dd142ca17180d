"""Commands about money over time: schedule."""

from __future__ import annotations

import csv
import io

import click

from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.library import Library, load_profile_document
from aci_rules.engine.profile import compile_profile, validate_profile
from aci_rules.engine.schedule import build_schedule

from .base import EXIT_OK, DateType, examples, guarded, make_timeline, time_options
from .i18n import _, render
from .output import check_output, emit, spreadsheet_safe
from .render import euros, json_dumps, obligation_lines, status
from .spreadsheet import Column, Table, check_spreadsheet_output, write_tables

_CSV_FIELDS = ("due", "contract_year", "line", "label", "mission", "volet", "installment", "amount",
               "rule", "reference")


def _segments(year) -> str:
    """The texts applied in a contract year, each with its days."""
    return ", ".join(_("{text} from {start} to {end}").format(text=text, start=start, end=end)
                     for start, end, text in year.segments)


def _fit(text: str, width: int) -> str:
    """``text`` in ``width`` characters; a cut one ends with '…' so that it never reads as whole.

    >>> _fit("Avance à l'anniversaire suivant", 24)
    "Avance à l'anniversaire…"
    """
    return text if len(text) <= width else text[: width - 1] + "…"


def render_schedule_text(schedule) -> str:
    profile = schedule.profile
    out = [_("{name} — payment calendar").format(name=profile.name)]
    out.extend("  " + _("Assumption: {text}").format(text=render(assumption)) for assumption in schedule.assumptions)
    out.append("")
    for year in schedule.years:
        title = (_("Contract year {number}").format(number=year.number) if year.number else
                 _("Before the contract"))
        if year.number and year.contract and year.contract > 1:
            title += " " + (_("(contract {contract}, assumed, year {year})") if year.assumed else
                            _("(contract {contract}, year {year})")).format(
                contract=year.contract, year=year.year_in_contract)
        out.append("  " + _("{title} ({start} to {end}): entitlement {amount} — {texts}").format(
            title=title, start=year.start, end=year.end, amount=euros(year.total), texts=_segments(year)))
    out.append("")
    out.append(f"  {_('Due'):<11} {_('Year'):>5}  {_('Line'):<28} {_('Installment'):<44} {_('Amount'):>15}")
    out.append("  " + "-" * 107)
    for payment in schedule.payments:
        year = payment.contract_year if payment.contract_year is not None else "—"
        out.append(f"  {payment.due.isoformat():<11} {year!s:>5}  {_fit(payment.line, 28):<28} "
                   f"{_fit(payment.installment, 44):<44} {euros(payment.amount):>15}")
    out.append("  " + "-" * 107)
    out.append(f"  {_('Total'):<93} {euros(schedule.total):>15}")
    out.append("")
    out.append(_("By contract year"))
    for number, amount in schedule.by_contract_year().items():
        label = _("year {number}").format(number=number) if number is not None else _("before the contract")
        out.append(f"  {label:<20} {euros(amount):>15}")
    out.append(_("By calendar year"))
    for year, amount in schedule.by_calendar_year().items():
        out.append(f"  {year!s:<20} {euros(amount):>15}")
    if schedule.obligations:
        out.append("")
        out.append(_("Obligations on {date}").format(date=schedule.as_of))
        out.extend(obligation_lines(schedule.obligations))
    if schedule.notes:
        out.append("")
        out.append(_("Warnings"))
        out.extend(f"  {render(note)}" for note in schedule.notes)
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


def schedule_tables(schedule) -> list[Table]:
    """The payments first (what a CSV for French Excel holds), then the contract years, the
    calendar years and the obligations, one sheet each in a workbook."""
    payments = Table(_("Payments"), [
        Column(_("Due"), "date"), Column(_("Contract year"), "integer"), Column(_("Line")),
        Column(_("Label")), Column(_("Mission")), Column(_("Volet")), Column(_("Installment")),
        Column(_("Amount"), "euros"), Column(_("Rule")), Column(_("Reference"), width=60)],
        [[p.due, p.contract_year, p.line, p.label, p.mission, p.volet, p.installment, p.amount, p.rule,
          p.reference] for p in schedule.payments])
    years = Table(_("Contract years"), [
        Column(_("Contract year"), "integer"), Column(_("From"), "date"), Column(_("To"), "date"),
        Column(_("Entitlement"), "euros"), Column(_("Texts applied"), width=60)],
        [[y.number, y.start, y.end, y.total, _segments(y)] for y in schedule.years])
    calendar = Table(_("Calendar years"), [Column(_("Year"), "integer"), Column(_("Paid"), "euros")],
                     [[year, amount] for year, amount in schedule.by_calendar_year().items()])
    obligations = Table(_("Obligations"), [
        Column(_("Obligation")), Column(_("Deadline"), "date"), Column(_("Done on"), "date"), Column(_("Status")),
        Column(_("Reference"), width=60)],
        [[o.label, o.deadline, o.done, status(o.status), o.reference] for o in schedule.obligations])
    return [payments, years, calendar, obligations]


@click.command("schedule", epilog=examples(
    "aci-rules schedule examples/cpts-avenant-2-taille-4.yaml",
    "aci-rules schedule examples/cpts-plan-100-preavis.yaml --ruleset examples/plan-100-cpts.yaml --format csv --output calendrier.csv",
))
@click.argument("profile", type=click.Path(dir_okay=True))
@click.option("--until", "until", type=DateType(), help="Only the payments due on or before this date.")
@time_options()
@click.option("--format", "output_format", type=click.Choice(["text", "json", "csv", "csv-fr", "xlsx", "html"]),
              default=None, help="text for a person, json or csv for a program, csv-fr for French Excel "
                                 "(';', decimal comma), xlsx for a workbook (with --output; needs the "
                                 "xlsx extra), html for a page with charts. Default: xlsx for an --output "
                                 "ending in .xlsx, else text.")
@click.option("--output", "output", type=click.Path(),
              help="Write to this file (all at once: an interrupted run leaves it untouched).")
@guarded
def schedule_command(profile, until, ruleset_name, as_if_from, assume_renewal, output_format, output):
    """Every payment of a CPTS's contracts: when, what, how much, under which article."""
    if assume_renewal and until is None:
        raise click.UsageError(_("--assume-renewal needs --until: assumed contracts go on without end"))
    output_format = output_format or ("xlsx" if output and output.endswith(".xlsx") else "text")
    check_spreadsheet_output(output_format, output)
    if output:
        check_output(output)  # before the work, not after
    library = Library()
    document = load_profile_document(profile)
    timeline = make_timeline(library, ruleset_name, as_if_from, assume_renewal)
    known = library.mission_ids() | (set(library.get(ruleset_name).missions) if ruleset_name else set())
    problems = validate_profile(document, known)
    if problems:
        raise InputError(problems)
    if output_format == "html":
        from .html import render_schedule_html, require_report_extra

        require_report_extra()
    schedule = build_schedule(compile_profile(document), timeline, until=until)
    if output_format in ("xlsx", "csv-fr"):
        write_tables(schedule_tables(schedule), output_format, output)
        return EXIT_OK
    renderers = {"text": render_schedule_text, "json": render_schedule_json, "csv": render_schedule_csv}
    if output_format == "html":
        renderers["html"] = render_schedule_html
    text = renderers[output_format](schedule)
    emit(text, output, for_terminal=output_format == "text")
    return EXIT_OK

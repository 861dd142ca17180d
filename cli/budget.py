"""The budget command: what a text pays over a sample of CPTS, per calendar year."""

from __future__ import annotations

import csv
import io
import os
import re
import textwrap
from decimal import Decimal

import click

from aci_rules.engine.batch import check_profiles, read_profiles
from aci_rules.engine.budget import MAX_YEARS, Assumptions, budget_over_sample
from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.fastschedule import FastPathUnsupported
from aci_rules.engine.library import Library
from aci_rules.engine.schema import MAX_YEAR, MIN_YEAR
from aci_rules.engine.timeline import RENEWAL_ASSUMPTION

from .assumptions import PerMission, achievement_options, check_missions, check_replace
from .base import EXIT_OK, examples, guarded, load_rulesets
from .i18n import _, language, render
from .impact import _percent, _signed  # the same signs and percentages as compare
from .output import emit
from .render import _plain, euros, json_dumps

__all__ = ["budget_command", "render_budget_text", "render_budget_markdown", "render_budget_json",
           "render_budget_csv"]

# A start delay is stated in months; ten years is more than any contract waits.
MAX_DELAY_MONTHS = 120
# A payment two years late is no longer a lag but a different policy.
MAX_LAG_MONTHS = 24
# More processes than this only waste memory on any machine the tool runs on.
MAX_JOBS = 256
_NO_MISSION = "hors_mission"


def _months(text: str):
    if text == "none":
        return None
    if not re.fullmatch(r"[0-9]{1,3}", text) or int(text) > MAX_DELAY_MONTHS:
        raise ValueError(_("a delay is a whole number of months from 0 to {most}, or 'none'").format(
            most=MAX_DELAY_MONTHS))
    return int(text)


def _lag(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,2}", text) or int(text) > MAX_LAG_MONTHS:
        raise ValueError(_("a payment lag is a whole number of months from 0 to {most}").format(most=MAX_LAG_MONTHS))
    return int(text)


@click.command("budget", epilog=examples(
    "aci-rules budget examples/national-sample.csv --baseline avenant-2 --from 2022 --to 2030 --achievement 0.8",
    "aci-rules budget examples/national-sample.csv --baseline avenant-2 --reform examples/plan-100-cpts.yaml "
    "--from 2024 --to 2030 --format csv --output budget.csv",
))
@click.argument("sample", type=click.Path(exists=True))
@click.option("--baseline", "baseline", metavar="ID|PATH", required=True,
              help="The text whose budget is the reference (e.g. avenant-2: the texts in force).")
@click.option("--reform", "reform", metavar="ID|PATH", help="A proposal (or a stack of proposals) to set against it.")
@click.option("--from", "first", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True,
              help="The first calendar year.")
@click.option("--to", "last", type=click.IntRange(MIN_YEAR, MAX_YEAR), required=True,
              help="The last calendar year.")
@click.option("--assume-renewal", "renewal", is_flag=True,
              help="A contract past its last year is renewed on the anniversary, under the text then in force.")
@achievement_options
@click.option("--start-delay", "start_delay", type=PerMission("MONTHS|MISSION=MONTHS", _months), multiple=True,
              help="Months from the signature to a mission's start, for missions the profiles give no start: "
                   "for every socle mission, or MISSION=MONTHS (or MISSION=none) for one (repeatable).")
@click.option("--replace-starts", "start_replaces", is_flag=True,
              help="The --start-delay assumptions replace the profiles' own start dates.")
@click.option("--payment-lag", "payment_lag", type=PerMission("MONTHS|VOLET=MONTHS", _lag), multiple=True,
              help="Months between a payment's due date and the day it is paid (a late variable part, say): "
                   "for every volet, or VOLET=MONTHS for one (repeatable). It decides the calendar year.")
@click.option("--path", "path", type=click.Choice(["fast", "reference"]), default="fast", show_default=True,
              help="How the payment calendars are computed (both give the same amounts to the cent).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json", "csv"]), default="text",
              show_default=True)
@click.option("--output", "output", type=click.Path(),
              help="Write to this file (all at once: an interrupted run leaves it untouched).")
@click.option("--jobs", "jobs", type=click.IntRange(min=0, max=MAX_JOBS), default=1, show_default=True,
              help="Processes to use; 0 for every core.")
@guarded
def budget_command(sample, baseline, reform, first, last, renewal, achievement, achievement_replaces,
                   start_delay, start_replaces, payment_lag, path, output_format, output, jobs):
    """What the Assurance Maladie pays per calendar year over a sample of CPTS (a .csv, a .jsonl or a
    folder of profiles): each CPTS's payment calendar, summed, under the baseline and the reform,
    split by volet and by mission, with the assumptions behind the figures."""
    if first > last:
        raise click.BadParameter(_("--from {first} is after --to {last}").format(first=first, last=last),
                                 param_hint="--from")
    if last - first >= MAX_YEARS:
        raise click.BadParameter(_("a budget spans at most {most} calendar years").format(most=MAX_YEARS),
                                 param_hint="--to")
    check_replace(achievement, achievement_replaces)
    if start_replaces and not start_delay:
        raise click.UsageError(_("--replace-starts needs --start-delay"))
    library = Library()
    names = [baseline] + ([reform] if reform else [])
    rulesets = load_rulesets(library, names, None)
    known = library.mission_ids()
    for ruleset in rulesets:
        known |= set(ruleset.missions)
    problems = check_missions(achievement, known, "--achievement") + check_missions(
        start_delay, known, "--start-delay")
    volets = {line.volet for ruleset in rulesets + [library.get(i) for i in library.known_ids()]
              for line in ruleset.lines}
    problems += check_missions(payment_lag, volets, "--payment-lag", "volet")
    if problems:
        raise InputError(problems)
    sources = read_profiles(sample, known)
    problems = check_profiles(sources, known)
    if problems:
        raise InputError(problems)
    assumptions = Assumptions(tuple(achievement), achievement_replaces, tuple(start_delay), start_replaces, renewal,
                              tuple(payment_lag))
    jobs = (os.cpu_count() or 1) if jobs == 0 else jobs
    try:
        budget = budget_over_sample(library, sources, names, first, last, assumptions, sample=sample, path=path,
                                    jobs=jobs)
    except FastPathUnsupported as error:
        raise click.UsageError(_("the fast calendars cannot compute this text ({error}): use --path reference").format(
            error=error)) from None
    render = {"text": render_budget_text, "markdown": render_budget_markdown, "json": render_budget_json,
              "csv": render_budget_csv}[output_format]
    text = render(budget)
    emit(text, output, for_terminal=output_format != "json")
    return EXIT_OK


# -- what the renderers share ------------------------------------------------------


def _thousands(amount: Decimal) -> str:
    """An amount in thousands of euros, to the unit, as the reader's language writes it: '105 800'."""
    value = int((amount / 1000).to_integral_value(rounding="ROUND_HALF_UP"))
    return f"{value:,}" if language() == "en" else f"{value:,}".replace(",", " ")


def _clean(text: str) -> str:
    """A file name as the user typed it, without the control characters that would break a line."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _assumption_lines(budget) -> list[str]:
    """The assumptions behind the figures, in the reader's language, one sentence each."""
    a = budget.assumptions
    semicolon = _("; ")
    out = [_("Sample: {sample} ({count} CPTS)").format(sample=_clean(budget.sample), count=budget.profiles)]
    texts = semicolon.join(f"{_clean(t.name)} ({' → '.join(t.chain)})" for t in budget.texts)
    out.append(_("Texts: {texts}.").format(texts=texts))
    notes = [note for t in budget.texts for note in t.notes if note != RENEWAL_ASSUMPTION]
    out.extend(_("Application: {note}.").format(note=_clean(render(note))) for note in dict.fromkeys(notes))
    if a.renewal:
        renewal = render(RENEWAL_ASSUMPTION)
        out.append(f"{renewal[:1].upper()}{renewal[1:]}.")
    else:
        out.append(_("Renewal: none — a CPTS whose contract has ended receives nothing more (see “CPTS under "
                     "contract”)."))
    starts = _("the profiles' start dates")
    if a.start_delay:
        stated = ", ".join(_("{mission}: {delay}").format(
            mission=m or _("every socle mission"),
            delay=_("never") if d is None else _("{months} months after the signature").format(months=d))
            for m, d in a.start_delay)
        starts = (_("replaced by {stated}") if a.start_replaces
                  else _("the profiles'; failing that, {stated}")).format(stated=stated)
    out.append(_("Start of the missions: {starts}.").format(starts=starts))
    rates = _("the profiles'; a year they do not measure counts for 0")
    if a.achievement:
        stated = ", ".join(_("{mission}: {rate}").format(mission=m or _("every mission"),
                                                        rate=_("{percent}%").format(percent=_plain(r * 100)))
                           for m, r in a.achievement)
        rates = (_("replaced by {stated}") if a.achievement_replaces
                 else _("the profiles'; for the years they do not measure, {stated}")).format(stated=stated)
    out.append(_("Rates of achievement: {rates}.").format(rates=rates))
    if a.payment_lag:
        stated = ", ".join(_("{volet}: {months} months").format(volet=v or _("every volet"), months=m)
                           for v, m in a.payment_lag)
        out.append(_("Payment lag assumed (after the due dates of the payment rules): {stated}.").format(stated=stated))
    out.append(_("Payments: each text's payment rules (advance, balance, variable part on the anniversary), "
                 "counted on their due date; {path}.").format(
        path=_("fast path") if budget.path == "fast" else _("reference path")))
    return out


def _pivot(budget, field):
    """Rows (volet or mission) and, per column, its name and table (the difference last, named)."""
    keys, tables, difference = budget.pivot(field)
    named = [(t.ruleset, table) for t, table in zip(budget.texts, tables)]
    if difference is not None:
        named.append((_("difference"), difference))
    return keys, named


# -- text ---------------------------------------------------------------------------


def render_budget_text(budget) -> str:
    names = " / ".join(t.ruleset for t in budget.texts)
    out = [_("Budget per calendar year — {names} — {first} to {last}").format(names=names, first=budget.first,
                                                                              last=budget.last), ""]
    for line in _assumption_lines(budget):
        out += textwrap.wrap(line, 100, initial_indent="  ", subsequent_indent="    ")
    out.append("")
    two = len(budget.texts) == 2
    header = f"  {_('Year'):<6} {_('Under contract'):>12} {budget.texts[0].ruleset[:20]:>20}"
    if two:
        header += f" {budget.texts[1].ruleset[:20]:>20} {_('Difference'):>20} {'%':>8}"
    out.append(header)
    out.append("  " + "-" * (len(header) - 2))
    for year, counts, amounts, difference in budget.rows():
        row = f"  {year:<6} {' / '.join(str(c) for c in counts):>12} {euros(amounts[0]):>20}"
        if two:
            row += f" {euros(amounts[1]):>20} {_signed(difference):>20} {_percent(difference, amounts[0]):>8}"
        out.append(row)
    out.append("  " + "-" * (len(header) - 2))
    sums, difference = budget.total()
    row = f"  {'Total':<6} {'':>12} {euros(sums[0]):>20}"
    if two:
        row += f" {euros(sums[1]):>20} {_signed(difference):>20} {_percent(difference, sums[0]):>8}"
    out.append(row)
    years = list(budget.years)
    for field, title in (("volet", _("By volet")), ("mission", _("By mission"))):
        keys, named = _pivot(budget, field)
        out.append("")
        out.append(_("{title} (thousands of euros)").format(title=title))
        for name, table in named:
            out.append(f"  {name}")
            out.append(f"    {'':<22}" + "".join(f" {y:>9}" for y in years))
            for key in keys:
                row = table.get(key, {})
                label = key if key is not None else _NO_MISSION
                out.append(f"    {label[:22]:<22}" + "".join(f" {_thousands(row.get(y, Decimal(0))):>9}"
                                                             for y in years))
    return "\n".join(out) + "\n"


# -- markdown -------------------------------------------------------------------------


def render_budget_markdown(budget) -> str:
    names = " / ".join(t.ruleset for t in budget.texts)
    out = ["## " + _("Budget per calendar year: {names}, {first} to {last}").format(
        names=names, first=budget.first, last=budget.last), "", "**" + _("Assumptions") + "**", ""]
    out += [f"- {line}" for line in _assumption_lines(budget)]
    out.append("")
    two = len(budget.texts) == 2
    head = [_("Year"), _("Under contract"), budget.texts[0].ruleset] + (
        [budget.texts[1].ruleset, _("Difference"), "%"] if two else [])
    out += ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for year, counts, amounts, difference in budget.rows():
        cells = [str(year), " / ".join(str(c) for c in counts), euros(amounts[0])]
        if two:
            cells += [euros(amounts[1]), _signed(difference), _percent(difference, amounts[0])]
        out.append("| " + " | ".join(cells) + " |")
    years = list(budget.years)
    for field, title, column in (("volet", _("By volet"), _("Volet")), ("mission", _("By mission"), _("Mission"))):
        keys, named = _pivot(budget, field)
        out += ["", _("**{title}** (thousands of euros)").format(title=title), ""]
        out += ["| " + _("Text") + " | " + column + " | " + " | ".join(str(y) for y in years) + " |",
                "|---|---" + "|---:" * len(years) + "|"]
        for name, table in named:
            for key in keys:
                row = table.get(key, {})
                out.append(f"| {name} | {key if key is not None else _NO_MISSION} | "
                           + " | ".join(_thousands(row.get(y, Decimal(0))) for y in years) + " |")
    return "\n".join(out) + "\n"


# -- JSON and CSV -----------------------------------------------------------------------


def _strings(table: dict) -> dict:
    return {(k if k is not None else _NO_MISSION): {str(y): str(v) for y, v in row.items()}
            for k, row in table.items()}


def render_budget_json(budget) -> str:
    years = list(budget.years)
    texts = []
    for text in budget.texts:
        texts.append({
            "name": text.name, "ruleset": text.ruleset, "chain": list(text.chain),
            "by_year": {str(y): str(v) for y, v in text.by_year(years).items()},
            "by_volet": _strings(text.by("volet", years)),
            "by_mission": _strings(text.by("mission", years)),
            "under_contract": {str(y): n for y, n in text.under_contract.items()},
            "paid": {str(y): n for y, n in text.paid.items()},
        })
    document = {
        "sample": budget.sample, "profiles": budget.profiles, "from": budget.first, "to": budget.last,
        "path": budget.path, "assumptions": budget.assumptions.to_dict(),
        "assumptions_text": _assumption_lines(budget), "texts": texts,
    }
    if len(budget.texts) == 2:
        document["difference"] = {
            "by_year": {str(year): str(difference) for year, _, _, difference in budget.rows()},
            "by_volet": _strings(budget.pivot("volet")[2]), "by_mission": _strings(budget.pivot("mission")[2]),
        }
    return json_dumps(document)


def render_budget_csv(budget) -> str:
    """One row per calendar year, volet and mission; the assumptions as '#' lines first."""
    buffer = io.StringIO()
    for line in _assumption_lines(budget):
        buffer.write(f"# {line}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    two = len(budget.texts) == 2
    writer.writerow(["year", "volet", "mission", budget.texts[0].ruleset]
                    + ([budget.texts[1].ruleset, "difference"] if two else []))
    keys = set()
    for text in budget.texts:
        keys |= set(text.cells)
    for year, volet, mission in sorted(keys, key=lambda k: (k[0], k[1], k[2] or "")):
        amounts = [t.cells.get((year, volet, mission), Decimal("0.00")) for t in budget.texts]
        row = [year, volet, mission or _NO_MISSION, amounts[0]]
        if two:
            row += [amounts[1], amounts[1] - amounts[0]]
        writer.writerow(row)
    return buffer.getvalue()

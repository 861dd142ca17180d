"""HTML outputs: one self-contained, offline, printable page per command, in the reader's language.

The engine computes; this module arranges its results into the values a template
shows (texts already written in the reader's language, French by default, each figure
tagged with the path of the same figure in the command's JSON document, ``data-json``),
draws the charts
(:mod:`.charts`) and renders the Jinja2 templates of ``cli/templates/``, read as
package data. Autoescape is on: every text from a ruleset, a profile or a file
name is escaped; the only markup inserted as is is a chart's SVG, which
:func:`.charts.sanitise_svg` has reduced to drawing elements. The page carries a
Content-Security-Policy that forbids any script and any request, so that it stays
inert wherever it is opened or forwarded.
"""

from __future__ import annotations

import datetime
import importlib.resources
from decimal import Decimal

import click

from aci_rules import __version__
from aci_rules.engine.impact import NO_MISSION, amounts_by_mission, change_histogram

from .i18n import N_, _, language, render
from .render import euros, status
# The French names of a diff's fields and kinds, as the text and markdown diffs write them.
from .render_diff import _FIELD, _KIND

__all__ = ["require_report_extra", "render_page", "eval_view", "diff_view", "schedule_view",
           "compare_view", "render_eval_html", "render_diff_html", "render_schedule_html",
           "render_compare_html", "french_date", "signed", "percent", "count"]

_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")
# English msgids, shown through _ where the page is rendered (the language is read then).
_CHANGE = {"added": N_("addition"), "removed": N_("removal"), "changed": N_("modification")}
_CONFIDENCE = {"confirmed": N_("confirmed"), "derived": N_("derived"), "unverified": N_("unverified"),
               "proposed": N_("proposed")}
_TEXT_KIND = {"accord": N_("accord"), "avenant": N_("avenant"), "proposal": N_("proposal")}
# "n lines <confidence>", one and several: French agrees the adjective with the noun.
_LINES_OF = {"confirmed": (N_("{count} confirmed line"), N_("{count} confirmed lines")),
             "derived": (N_("{count} derived line"), N_("{count} derived lines")),
             "unverified": (N_("{count} unverified line"), N_("{count} unverified lines")),
             "proposed": (N_("{count} proposed line"), N_("{count} proposed lines"))}
EXTRA_HINT = "pip install 'aci-rules[report]'"


def require_report_extra() -> None:
    """Raise a usage error (exit 2) naming the extra to install when a library of it is missing."""
    missing = []
    for module in ("jinja2", "altair", "vl_convert"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise click.UsageError(_("--format html needs {modules}: {install}").format(modules=", ".join(missing),
                                                                                   install=EXTRA_HINT))


# -- French writing of numbers and dates ------------------------------------------------


def french_date(day: datetime.date | None, short: bool = False) -> str:
    """A date as a French reader writes it.

    >>> french_date(datetime.date(2021, 3, 1)), french_date(datetime.date(2022, 10, 15), short=True)
    ('1er mars 2021', '15/10/2022')
    """
    if day is None:
        return "—"
    if language() == "en":
        return day.isoformat() if short else f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    if short:
        return day.strftime("%d/%m/%Y")
    return f"{'1er' if day.day == 1 else day.day} {_MONTHS[day.month - 1]} {day.year}"


def signed(amount: Decimal) -> str:
    """An amount with its sign, in euros.

    >>> signed(Decimal("1234.5")), signed(Decimal("-2")), signed(Decimal(0))
    ('+1 234,50 €', '-2,00 €', '0,00 €')
    """
    return ("+" if amount > 0 else "") + euros(amount)


def percent(part: Decimal, whole: Decimal) -> str:
    """``part`` as a signed percentage of ``whole``, one decimal (empty when ``whole`` is 0).

    >>> percent(Decimal(25), Decimal(200)), percent(Decimal(-1), Decimal(3)), percent(Decimal(1), Decimal(0))
    ('+12,5 %', '-33,3 %', '')
    """
    if not whole:
        return ""
    value = (part * 100 / whole).quantize(Decimal("0.1"))
    if language() == "en":
        return f"{'+' if value > 0 else ''}{value:f}%"
    return f"{'+' if value > 0 else ''}{value:f} %".replace(".", ",")


def count(value: int) -> str:
    """A count with French thousands separators.

    >>> count(1234567)
    '1 234 567'
    """
    return f"{value:,}" if language() == "en" else f"{value:,}".replace(",", " ")


def lines_of(confidence: str, number: int) -> str:
    """``number`` lines of a confidence, in the reader's language (``2 lignes non vérifiées``)."""
    one, several = _LINES_OF.get(confidence, (N_("{count} line {confidence}"), N_("{count} lines {confidence}")))
    return render(several if number > 1 else one).format(count=number, confidence=confidence)


def _money(value) -> str:
    return "—" if value is None else euros(value)


def _float(value: Decimal) -> float:
    # For placing bars only: the figures a reader reads come from the Decimals.
    return float(value)


# -- templates -------------------------------------------------------------------------


def _environment():
    import jinja2

    folder = importlib.resources.files("aci_rules.cli") / "templates"

    def load(name):
        return (folder / name).read_text(encoding="utf-8")

    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(load), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(euros=_money, signed=signed, date=french_date, count=count)
    environment.filters.update(field=lambda name: _FIELD.get(name, name), kind=lambda name: _KIND.get(name, name),
                               text_kind=lambda name: render(_TEXT_KIND[name]) if name in _TEXT_KIND else name,
                               confidence=lambda name: render(_CONFIDENCE[name]) if name in _CONFIDENCE else name,
                               change=lambda name: render(_CHANGE[name]) if name in _CHANGE else name)
    import markupsafe

    # A catalog text is ours, written as template text would be: Markup, so that an apostrophe is
    # not escaped and .format escapes the values it receives (a name, an id) as autoescape would.
    environment.globals.update(version=__version__, percent=percent, lines_of=lines_of,
                               _=lambda text: markupsafe.Markup(render(text)), lang=language())
    return environment


def render_page(template: str, **context) -> str:
    """Render one page template with its context (autoescaped)."""
    return _environment().get_template(template).render(**context)


# -- eval ------------------------------------------------------------------------------


def _mission_label(rulesets, key) -> str:
    if key == NO_MISSION:
        return _("Outside missions")
    for ruleset in rulesets:
        mission = ruleset.missions.get(key)
        if mission is not None:
            return mission.label
    return key


def eval_view(result, prefix: str = "") -> dict:
    """What the eval page shows: header facts, lines, missions, obligations, provenance."""
    from .charts import Cell, Chart, grouped_bars

    ruleset = result.ruleset
    by_mission = amounts_by_mission(result.lines)
    values, rows = [], []
    for key, (amount, maximum) in by_mission.items():
        values += [{"mission": key, "série": _("Amount"), "euros": _float(amount)},
                   {"mission": key, "série": _("Maximum"), "euros": _float(maximum)}]
        rows.append((Cell(_mission_label([ruleset], key)), Cell(key),
                     Cell(euros(amount), mark=True, numeric=True), Cell(euros(maximum), mark=True, numeric=True)))
    chart = None
    if values:
        svg = grouped_bars(values, category="mission", series="série", amount="euros", category_title=_("Mission"),
                           amount_title=_("Amount of the year"), series_order=(_("Amount"), _("Maximum")),
                           colours=("#17355e", "#a3c4dc"), horizontal=True)
        chart = Chart(_("Amount of the year by mission, against its maximum"), svg,
                      (_("Mission"), _("Identifier"), _("Amount"), _("Maximum")), tuple(rows), len(values))
    not_confirmed: dict = {}
    for line in result.lines:
        if line.confidence != "confirmed":
            not_confirmed.setdefault(line.confidence, []).append(line)
    year = result.contract_year
    return {
        "prefix": prefix, "result": result, "ruleset": ruleset, "profile": result.profile,
        "title": " ".join(ruleset.title.split()), "year": year,
        "lines": list(enumerate(result.lines)),
        "missions": {key: _mission_label([ruleset], key) for key in by_mission},
        "obligations": [(o, status(o.status)) for o in result.obligations],
        "not_confirmed": not_confirmed, "charts": {"missions": chart},
    }


def render_eval_html(result) -> str:
    """The page of ``aci-rules eval --format html``."""
    view = eval_view(result)
    return render_page("eval.html.j2", page_title=_("{name} — evaluation on {date}").format(
        name=result.profile.name, date=french_date(result.date)), v=view)


# -- diff ------------------------------------------------------------------------------


def diff_view(diff, prefix: str = "", names=None, behaviour=None) -> dict:
    """The diff's summary (the yearly maximum per taille, the barème by mission, the knock-on
    effects), its lines and the rest.

    ``names`` are how the two sides are called (their ids unless both have the same);
    ``behaviour`` the profiles compared, if any (to count the CPTS that change taille).
    """
    from .render_diff import knock_on_view

    from aci_rules.engine.bareme import annual_maximum_by_mission, tailles_of

    from .charts import Cell, Chart, stacked_bars

    old, new = diff.old, diff.new
    names = tuple(names or (old.id, new.id))
    tailles = [t for t in tailles_of(old, new) if t is not None]
    summary = diff.summary
    totals = [{"taille": a.taille, "old": a.old, "new": a.new, "difference": a.difference,
               "percent": percent(a.difference, a.old) if a.difference is not None else ""}
              for a in (summary.maxima if summary is not None else ())]
    chart = None
    old_by, new_by = annual_maximum_by_mission(old) or {}, annual_maximum_by_mission(new) or {}
    if tailles and (old_by or new_by):
        order = list(dict.fromkeys(list(old_by) + list(new_by)))
        values, rows = [], []
        for t in tailles:
            for key in order:
                for label, side in zip(names, (old_by, new_by)):
                    value = side.get(key, {}).get(t)
                    if value is not None:
                        values.append({"taille": _("taille {taille}").format(taille=t), "texte": label, "mission": key or NO_MISSION,
                                       "euros": _float(value)})
        for key in order:
            cells = [Cell(_mission_label([new, old], key or NO_MISSION))]
            for t in tailles:
                a, b = old_by.get(key, {}).get(t), new_by.get(key, {}).get(t)
                cells.append(Cell(numeric=True, parts=(("", _money(a), a is not None),
                                                       ("→ ", _money(b), b is not None))))
            rows.append(tuple(cells))
        svg = stacked_bars(values, category="taille", stack="mission", amount="euros", category_title=None,
                           amount_title=_("Maximum per year"), stack_order=[k or NO_MISSION for k in order],
                           offset="texte", offset_order=names)
        chart = Chart(_("Yearly maximum by taille and by mission: {old} (left) and {new} (right)").format(
                          old=names[0], new=names[1]), svg,
                      (_("Mission"),) + tuple(_("Taille {taille}").format(taille=t) for t in tailles), tuple(rows),
                      len(values), _("In each cell: {old}, then → {new}. The volets each text counts in its yearly "
                                     "maximum.").format(old=names[0], new=names[1]))
    items = list(enumerate(diff.items))
    lines = [(i, item) for i, item in items if item.kind == "line"]
    others = [(i, item) for i, item in items if item.kind != "line"]
    return {
        "prefix": prefix, "diff": diff, "old": old, "new": new, "names": names, "tailles": tailles,
        "totals": totals, "maximum_label": summary.maximum_label if summary is not None else None,
        "lines": lines, "others": others,
        "added": sum(1 for _, i in lines if i.status == "added"),
        "removed": sum(1 for _, i in lines if i.status == "removed"),
        "changed": sum(1 for _, i in lines if i.status == "changed"),
        "changed_figures": summary.changed_figures if summary is not None else None,
        "references": {item.id: _reference(old, new, item) for _, item in lines},
        "charts": {"bareme": chart}, "knock_on": knock_on_view(diff, behaviour),
    }


def _reference(old, new, item) -> str:
    for ruleset in (new, old):
        for line in ruleset.lines:
            if line.id == item.id:
                return " ".join(line.reference.split())
    return ""


def render_diff_html(diff, behaviour=None, names=None, summary_only=False) -> str:
    """The page of ``aci-rules diff --format html`` (``summary_only``: the summary alone)."""
    view = diff_view(diff, names=names, behaviour=behaviour)
    return render_page("diff.html.j2", page_title=f"{view['names'][0]} → {view['names'][1]}",
                       behaviour=behaviour, summary_only=summary_only, v=view)


# -- schedule --------------------------------------------------------------------------


def schedule_view(schedule, prefix: str = "", volets=None, title=None) -> dict:
    """Payments by due date stacked by volet, entitlements per contract year, the tables.

    ``volets`` fixes the order (and so the colours) of the volets, to compare two calendars.
    """
    from .charts import Cell, Chart, stacked_bars

    title = title or _("Payments by due date, by volet")
    by_due = schedule.by_due_date()
    volets = list(volets or dict.fromkeys(v for cell in by_due.values() for v in cell))
    values, rows = [], []
    for due, cell in by_due.items():
        values += [{"due": french_date(due, short=True), "volet": volet, "euros": _float(amount)}
                   for volet, amount in cell.items()]
        rows.append((Cell(french_date(due, short=True)),) + tuple(
            Cell(euros(cell[v]), mark=True, numeric=True) if v in cell else Cell("", numeric=True) for v in volets))
    charts = {"payments": None, "years": None}
    if values:
        svg = stacked_bars(values, category="due", stack="volet", amount="euros", category_title=_("Due date"),
                           amount_title=_("Paid"), stack_order=volets, label_angle=-45)
        # A volet's id may be long: let its column header wrap after each underscore.
        headers = tuple(volet.replace("_", "_\u200b") for volet in volets)
        charts["payments"] = Chart(title, svg, (_("Due date"),) + headers, tuple(rows), len(values))
    years = [y for y in schedule.years]
    if years:
        values = [{"année": _year_name(y.number), "texte": _("entitlements"), "euros": _float(y.total)} for y in years]
        rows = tuple((Cell(_year_name(y.number)), Cell(f"{french_date(y.start, True)} – {french_date(y.end, True)}"),
                      Cell(_("; ").join(_("{ruleset} from {start} to {end}").format(
                          ruleset=rid, start=french_date(a, True), end=french_date(b, True)) for a, b, rid in y.segments)),
                      Cell(euros(y.total), mark=True, numeric=True, json=f"{prefix}years.{i}.total"))
                     for i, y in enumerate(years))
        from .charts import grouped_bars

        svg = grouped_bars(values, category="année", series="texte", amount="euros", category_title=None,
                           amount_title=_("Entitlements"), series_order=(_("entitlements"),), colours=("#17355e",),
                           height=180)
        charts["years"] = Chart(_("Entitlements by contract year"), svg,
                                (_("Year"), _("Period"), _("Texts applied"), _("Entitlements")), rows, len(values))
    return {
        "prefix": prefix, "schedule": schedule, "profile": schedule.profile,
        "payments": list(enumerate(schedule.payments)),
        "by_contract_year": schedule.by_contract_year(), "by_calendar_year": schedule.by_calendar_year(),
        "year_name": _year_name,
        "obligations": [(o, status(o.status)) for o in schedule.obligations],
        "charts": charts,
    }


def _year_name(number) -> str:
    return _("year {number}").format(number=number) if number is not None else _("before the contract")


def render_schedule_html(schedule) -> str:
    """The page of ``aci-rules schedule --format html``."""
    view = schedule_view(schedule)
    return render_page("schedule.html.j2", page_title=_("{name} — payment calendar").format(
        name=schedule.profile.name), v=view)


# -- compare ---------------------------------------------------------------------------


def compare_view(comparison, before, after, rulesets, day, prefix: str = "") -> dict:
    """Cost, gainers and losers, the distribution of the change, by taille and by mission."""
    from .charts import Cell, Chart, count_bars, histogram

    r = comparison
    baseline, reform = r["baseline"], r["reform"]
    charts = {}
    counts = [(_("Gain"), r["gain"]), (_("Lose"), r["lose"]), (_("Unchanged"), r["unchanged"])]
    if "out_of_contract_both" in r:  # CPTS out of contract under both texts, counted apart
        counts.append((_("Out of contract"), r["out_of_contract_both"]))
    charts["counts"] = Chart(
        _("CPTS that gain, lose, or stay unchanged"),
        count_bars([{"groupe": k, "cpts": v} for k, v in counts], category="groupe", count="cpts",
                   category_title=None, count_title=_("Number of CPTS")),
        (_("Group"), "CPTS"), tuple((Cell(k), Cell(count(v), mark=True, numeric=True)) for k, v in counts),
        len(counts))
    bins = change_histogram(before, after)
    if bins:
        values = [{"low": _float(b.low), "high": _float(b.high), "count": b.count,
                   "sign": _("decrease") if b.high <= 0 else _("increase")} for b in bins]
        charts["histogram"] = Chart(
            _("Distribution of the difference per CPTS (those whose amount changes)"),
            histogram(values, amount_title=_("Difference per CPTS"), count_title="CPTS"),
            (_("Lower bound"), _("Upper bound"), "CPTS"), tuple((Cell(signed(b.low)), Cell(signed(b.high)),
                                        Cell(count(b.count), mark=True, numeric=True)) for b in bins),
            len(bins), _("Each class goes from its lower bound (included) to its upper bound (excluded)."))
    else:
        charts["histogram"] = None
    order = (baseline, reform)
    charts["by_size"] = _cost_chart(
        _("Cost by taille"), r["by_size"], f"{prefix}by_size.", order, _("Taille"),
        lambda size: _("taille {taille}").format(taille=size) if size is not None else _("no taille"), None,
        counts=True)
    charts["by_mission"] = _cost_chart(
        _("Cost by mission"), r["by_mission"], f"{prefix}by_mission.", order, _("Mission"), str,
        lambda key: f"{_mission_label(rulesets, key)} ({key})", horizontal=True)
    return {"prefix": prefix, "r": r, "charts": charts, "day": day,
            "missions": {key: _mission_label(rulesets, key) for key in r["by_mission"]}}


def _cost_chart(title, split, where, order, heading, axis_name, table_name, counts=False, horizontal=False):
    """Bars of the cost under each text per group (a taille, a mission), with the table of the
    split: the counts of CPTS when asked, both costs, the difference and its percentage."""
    from .charts import Cell, Chart, grouped_bars

    values, rows = [], []
    for key, e in split.items():
        values += [{"groupe": axis_name(key), "texte": text, "euros": _float(e[side])}
                   for text, side in zip(order, ("baseline", "reform"))]
        at = f"{where}{key}."
        rows.append((Cell((table_name or axis_name)(key)),)
                    + ((Cell(count(e["count"]), numeric=True, json=at + "count"),) if counts else ())
                    + (Cell(euros(e["baseline"]), mark=True, numeric=True, json=at + "baseline"),
                       Cell(euros(e["reform"]), mark=True, numeric=True, json=at + "reform"),
                       Cell(signed(e["difference"]), numeric=True, json=at + "difference"),
                       Cell(percent(e["difference"], e["baseline"]), numeric=True)))
    if not values:
        return None
    svg = grouped_bars(values, category="groupe", series="texte", amount="euros", category_title=None,
                       amount_title=_("Cost"), series_order=order, horizontal=horizontal)
    columns = (heading,) + (("CPTS",) if counts else ()) + order + (_("Difference"), "%")
    return Chart(title, svg, columns, tuple(rows), len(values))


def render_compare_html(comparison, before, after, rulesets) -> str:
    """The page of ``aci-rules compare --format html``."""
    view = compare_view(comparison, before, after, rulesets, datetime.date.fromisoformat(comparison["date"]))
    return render_page("compare.html.j2", page_title=_("{reform} compared with {baseline}").format(
        reform=comparison["reform"], baseline=comparison["baseline"]), v=view)


# -- report ----------------------------------------------------------------------------


def render_report_html(report) -> str:
    """The page of ``aci-rules report``: the dossier of a proposal."""
    from .charts import Cell, Chart, grouped_bars

    before_ruleset, after_ruleset = report["rulesets"]
    diff = diff_view(report["diff"], prefix="diff.", names=report["names"])
    comparison = compare_view(report["comparison"], report["before"], report["after"], report["rulesets"],
                              report["day"], prefix="compare.")
    volets = list(dict.fromkeys(p.volet for s in report["schedules"].values() for p in s.payments))
    schedules = {key: schedule_view(schedule, prefix=f"example.{key}.", volets=volets,
                                    title=_("Payments by due date and by volet under {ruleset}").format(
                                        ruleset=ruleset.id))
                 for (key, schedule), ruleset in zip(report["schedules"].items(), report["rulesets"])}
    order = (before_ruleset.id, after_ruleset.id)
    values, rows = [], []
    for entry in report["by_calendar_year"]:
        year = str(entry["year"])
        values += [{"année": year, "texte": order[0], "euros": _float(entry["baseline"])},
                   {"année": year, "texte": order[1], "euros": _float(entry["proposal"])}]
        where = f"example.by_calendar_year.{len(rows)}."
        rows.append((Cell(year), Cell(euros(entry["baseline"]), mark=True, numeric=True, json=where + "baseline"),
                     Cell(euros(entry["proposal"]), mark=True, numeric=True, json=where + "proposal"),
                     Cell(signed(entry["difference"]), numeric=True, json=where + "difference")))
    calendar = None
    if values:
        calendar = Chart(_("Payments by calendar year: {old} and {new}").format(old=order[0], new=order[1]),
                         grouped_bars(values, category="année", series="texte", amount="euros", category_title=None,
                                      amount_title=_("Paid"), series_order=order, height=200),
                         (_("Calendar year"),) + order + (_("Difference"),), tuple(rows), len(values))
    provenance = report["provenance"]
    cost = report["cost"]
    by_id = {item.id: item for item in report["diff"].items if item.kind == "line"}
    view = {
        "diff": diff, "compare": comparison, "schedules": schedules, "calendar": calendar,
        "by_calendar_year": report["by_calendar_year"], "baseline": before_ruleset, "proposal": after_ruleset,
        "profile": report["profile"], "source": report["source"],
        "sample": report["sample"], "day": report["day"], "cost": cost,
        "provenance": [(p, by_id.get(p.id)) for p in provenance if p.proposed or p.weakest != "confirmed"],
        "confirmed_lines": [p for p in provenance if not p.proposed and p.weakest == "confirmed"],
        "missions": {key: _mission_label([after_ruleset, before_ruleset], key)
                     for key in {p.mission or NO_MISSION for p in provenance}},
        "tailles": diff["tailles"],
    }
    return render_page("report.html.j2", page_title=_("Dossier: {proposal} compared with {baseline}").format(
        proposal=after_ruleset.id, baseline=before_ruleset.id), v=view)


# -- test --coverage -------------------------------------------------------------------


def coverage_view(report: dict, accepted=(), passed: int = 0, failed: int = 0) -> dict:
    """What the coverage page shows: the share of each kind of rule the cases exercised, per
    ruleset file (a chart with its table), then every gap with its place and what would close it."""
    from aci_rules.engine.coverage import complete, coverage_gaps

    from .charts import Cell, Chart, share_bars
    from .render_quality import _MISSING, _shown, _where

    kinds = (("lines", _("lines applied and not applied"), _("lines")),
             ("conditions", _("parts of conditions true and false"), _("condition parts")),
             ("parameters", _("parameter cells read"), _("parameter cells")),
             ("payments", _("payment rules used"), _("payment rules")))
    values, rows, files = [], [], []
    for index, entry in enumerate(report["files"]):
        name = _shown(entry["file"])
        short = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        for key, words, brief in kinds:
            done, total = entry["summary"][key]
            if not total:
                continue
            values.append({"quoi": f"{short} · {brief}", "done": min(done, total), "total": total})
            rows.append((Cell(name), Cell(words),
                         Cell(f"{done}/{total}", mark=True, numeric=True)))
        files.append(name)
    provisions = report["provisions"]
    if provisions:
        seen = sum(1 for p in provisions if p["before"] and p["in_force"])
        words = _("dated provisions seen before and in force")
        values.append({"quoi": _("dated provisions"), "done": seen, "total": len(provisions)})
        rows.append((Cell(_("every text")), Cell(words), Cell(f"{seen}/{len(provisions)}", mark=True, numeric=True)))
    chart = None
    if values:
        svg = share_bars(values, category="quoi", done="done", total="total", category_title=None,
                         share_title=_("share exercised by the cases"))
        chart = Chart(_("What the cases exercise, per ruleset"), svg, (_("File"), _("Rules"), _("Exercised")),
                      tuple(rows), len(values))
    gaps = coverage_gaps(report, accepted)
    shown = []
    for gap in gaps:
        missing = ", ".join(render(_MISSING[m]) for m in gap["missing"])
        place = _where(gap) if gap["file"] else gap["ruleset"]
        what = {"line": _("line"), "condition": _("part of a condition"), "parameter": _("parameter cell"),
                "provision": _("dated provision")}[gap["kind"]]
        subject = gap["subject"]
        if gap["kind"] == "parameter" and gap.get("taille") is not None:
            subject = f"{subject} (taille {gap['taille']})"
        if gap["kind"] == "provision":
            subject = f"{subject} ({gap['day']})"
        shown.append({"place": place, "what": what, "subject": subject, "owner": gap.get("owner"),
                      "missing": missing, "accepted": gap.get("accepted")})
    return {"evaluations": report["evaluations"], "files": files, "chart": chart, "passed": passed,
            "failed": failed, "open": [g for g in shown if not g["accepted"]],
            "accepted": [g for g in shown if g["accepted"]], "complete": complete(report, accepted)}


def render_coverage_html(report: dict, accepted=(), passed: int = 0, failed: int = 0) -> str:
    """The page of ``aci-rules test CASES --coverage --format html``."""
    view = coverage_view(report, accepted, passed, failed)
    return render_page("coverage.html.j2", page_title=_("Coverage of the test cases"), v=view)

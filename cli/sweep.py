"""``aci-rules sweep``: the national cost of many variants of a text's figures, and its error bars.

Each ``--vary`` gives the values of one parameter (a list, a range, or factors applied to
its value or to its whole ``by_taille`` table); the variants are every combination, each
evaluated over the profiles at each date against the text as written (the baseline).
``--uncertainty N`` draws instead every figure that is not confirmed and has a
``plausible`` range (engine/plausible.py), N times with a fixed seed, and reports the
national cost and each CPTS's total as a central value with an interval.

The evaluations run on the vectorised backend (engine/vector.py, the ``vector`` extra);
the rows it cannot vouch for, and the texts it cannot vectorise, are computed by the
scalar fast path, and stderr says how many. The variants, the draws and the aggregates are
engine/sweep.py's; this module reads the options and renders the report.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from decimal import Decimal

import click

from aci_rules.engine.assumptions import rate_gaps
from aci_rules.engine.diagnostic import Message
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile
from aci_rules.engine.sweep import BadVary, check_vary, parse_vary, rulesets_in_play, run_sweep, run_uncertainty

from .assumptions import achievement_options, say_gaps, stated_rates
from .base import EXIT_OK, DateType, examples, guarded, make_timeline, time_options
from .i18n import _, language, render
from .impact import _named_rulesets, _read, _signed, csv_dialect_option
from .output import check_output, emit, spreadsheet_safe
from .render import _plain, euros

# Bounds: the variants of one run, the draws of --uncertainty, the dates (the values of one --vary:
# engine/sweep.py MAX_VALUES).
MAX_VARIANTS = 10 ** 5
DEFAULT_MAX_VARIANTS = 10 ** 4
MAX_DRAWS = 10 ** 5
MAX_DATES = 20


def _vary_callback(ctx, param, values):
    try:
        return tuple(parse_vary(value) for value in values)
    except BadVary as bad:
        raise click.BadParameter(render(bad.message)) from None


def backend_notes(outcomes) -> None:
    """Say on stderr which texts the columns did not vectorise, and how many rows the scalar path computed."""
    refused, scalar, vector = {}, 0, 0
    for outcome in outcomes:
        refused.update(outcome.refused)
        scalar += outcome.scalar_rows
        vector += outcome.vector_rows
    for text, reason in sorted(refused.items()):
        click.echo(_("aci-rules: {text} is not vectorised ({reason}): computed by the scalar path")
                   .format(text=text, reason=render(reason)), err=True)
    if scalar:
        click.echo(_("aci-rules: {scalar} evaluations by the scalar path, {vector} by the columns")
                   .format(scalar=scalar, vector=vector), err=True)


@click.command("sweep", epilog=examples(
    "aci-rules sweep examples/national-sample.csv --date 2024-06-01 --vary NAME=x0.8:1.2:0.05",
    "aci-rules sweep examples/national-sample.csv --date 2024-06-01 --uncertainty 1000 --seed 1",
))
@click.argument("profiles", type=click.Path(exists=True))
@click.option("--date", "days", type=DateType(), required=True, multiple=True,
              help="An evaluation date (repeat it for several): each CPTS's entitlement for the contract year "
                   "holding it.")
@time_options()
@achievement_options
@click.option("--vary", "varies", multiple=True, callback=_vary_callback, metavar="NAME=VALUES",
              help="A parameter and its values: FROM:TO:STEP, or V1,V2,...; a leading x makes them factors of "
                   "the text's own figures (each taille's for a by_taille table: x0.9:1.1:0.05). Repeat it: "
                   "every combination is a variant.")
@click.option("--uncertainty", "draws", type=click.IntRange(min=1, max=MAX_DRAWS), default=None,
              help="Draw every figure that is not confirmed and has a plausible range, this many times, and "
                   "report the national cost and each CPTS's total with an interval.")
@click.option("--seed", "seed", type=click.IntRange(min=0, max=2 ** 63 - 1), default=0, show_default=True,
              help="The seed of the draws: the same seed gives the same intervals.")
@click.option("--interval", "interval", type=click.IntRange(min=1, max=99), default=90, show_default=True,
              help="The interval reported with --uncertainty, in per cent of the draws (90: from the 5th to "
                   "the 95th percentile).")
@click.option("--max-variants", "max_variants", type=click.IntRange(min=1, max=MAX_VARIANTS),
              default=DEFAULT_MAX_VARIANTS, show_default=True,
              help="Refuse a sweep of more variants than this (every combination of the --vary values).")
@click.option("--format", "output_format", type=click.Choice(["text", "csv", "json"]), default="text",
              show_default=True, help="text for a person, csv for a spreadsheet, json for a program.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write to this file (all at once) instead of stdout.")
@csv_dialect_option
@guarded
def sweep_command(profiles, days, ruleset_name, as_if_from, assume_renewal, achievement, achievement_replaces, varies,
                  draws, seed, interval, max_variants, output_format, output, csv_dialect):
    """The national cost of variants of a text's figures against the text, who gains and who loses, by
    taille; or (--uncertainty) the cost with the error bars of its figures not confirmed."""
    from aci_rules.engine.vector import VectorRefused, require_numpy

    try:
        require_numpy()
    except VectorRefused as missing:
        raise click.UsageError(render(missing.reason)) from None
    if bool(varies) == bool(draws):
        raise click.UsageError(_("give --vary (a sweep of values) or --uncertainty (draws), one of the two"))
    if len(set(days)) > MAX_DATES:
        raise click.UsageError(_("at most {limit} dates").format(limit=MAX_DATES))
    if output:
        check_output(output)
    days = sorted(set(days))
    library = Library()
    timeline = make_timeline(library, ruleset_name, as_if_from, assume_renewal)
    in_play = rulesets_in_play(timeline, days)
    assume = stated_rates(library, _named_rulesets(library, ruleset_name), achievement, achievement_replaces)
    sources = _read(library, profiles, csv_dialect, ruleset_name)
    profiles_ = [compile_profile(source.document) for source in sources]
    if assume is not None:  # before any backend sees them: the columns and the scalar path read the same
        profiles_ = [assume(profile) for profile in profiles_]
    names = [source.document.data.get("name") or source.label for source in sources]
    if varies:
        try:
            check_vary(varies, in_play)
        except BadVary as bad:
            raise click.BadParameter(render(bad.message), param_hint="--vary") from None
        combinations = list(itertools.product(*(vary.values for vary in varies)))
        if len(combinations) > max_variants:
            raise click.UsageError(_("{count} variants (every combination of the --vary values); at most "
                                     "{limit} (--max-variants)").format(count=len(combinations), limit=max_variants))
        report = run_sweep(timeline, profiles_, days, varies, combinations)
    else:
        report = run_uncertainty(timeline, profiles_, names, days, in_play, draws, seed, interval)
    report["profiles"] = len(profiles_)
    report["ruleset"] = ruleset_name or _("texts in force")
    report["assumptions"] = list(timeline.assumptions()) + ([assume.note()] if assume is not None else [])
    say_gaps(rate_gaps(timeline, profiles_, days), profiles)
    backend_notes(report.pop("_outcomes"))
    # JSON for a program: compact, since a sweep holds thousands of variants.
    renderer = {"text": _text, "csv": _csv,
                "json": lambda r: json.dumps(_jsonable(r), ensure_ascii=False, separators=(",", ":"))}[output_format]
    emit(renderer(report), output, for_terminal=output_format == "text", final_newline=True)
    return EXIT_OK


def _jsonable(node):
    # As compare's, but a taille of None (a text without tailles) is written "" and tuples are lists.
    if isinstance(node, dict):
        return {("" if k is None else str(k)): _jsonable(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_jsonable(v) for v in node]
    if isinstance(node, (Decimal, Message)):  # a message (an assumption) in English, as every JSON message
        return str(node)
    return node


def _percent(value) -> str:
    if value is None:
        return ""
    text = f"{'+' if value > 0 else ''}{_plain(value)} %"
    return text if language() == "en" else text.replace(".", ",")


def _taille(t) -> str:
    return str(t) if t is not None else "—"


def _text(r) -> str:
    out = []
    if r["mode"] == "sweep":
        out.append(_("Sweep of {ruleset} over {count} CPTS: {variants} variants ({vary})").format(
            ruleset=r["ruleset"], count=r["profiles"], variants=r["variants"], vary=", ".join(r["vary"])))
        for block in r["dates"]:
            out += ["", _("On {date} ({text}): baseline {cost}, out of contract {out}").format(
                date=block["date"], text=block["text"], cost=euros(block["baseline"]), out=block["out_of_contract"])]
            if block["absent"]:
                out.append("  " + _("Not in the texts evaluated on that date (the variants do not change it): "
                                    "{names}").format(names=", ".join(block["absent"])))
            tailles = list(block["baseline_by_taille"])
            varied = list(block["variants"][0]["values"]) if block["variants"] else []
            widths = [max([len(name)] + [len(row["values"][name]) for row in block["variants"]]) for name in varied]
            head = "  " + " ".join(f"{name:>{w}}" for name, w in zip(varied, widths))
            head += (f" {_('Cost'):>18} {_('Difference'):>17} {'%':>8} {_('Gain'):>7} {_('Lose'):>7}"
                     + "".join(f" {_('T{taille}').format(taille=_taille(t)):>15}" for t in tailles))
            out.append(head)
            for row in block["variants"]:
                line = "  " + " ".join(f"{row['values'][name]:>{w}}" for name, w in zip(varied, widths))
                line += (f" {euros(row['cost']):>18} {_signed(row['difference']):>17} "
                         f"{_percent(row['difference_pct']):>8} {row['gain']:>7} {row['lose']:>7}")
                line += "".join(f" {_signed(row['by_taille'][t]['difference']):>15}" for t in tailles)
                out.append(line)
            out.append("  " + _("T1..T4: the difference by taille (the taille under the baseline)"))
    else:
        out.append(_("Uncertainty of {ruleset} over {count} CPTS: {draws} draws (seed {seed}), interval of "
                     "{interval} % of the draws").format(ruleset=r["ruleset"], count=r["profiles"], draws=r["draws"],
                                                         seed=r["seed"], interval=r["interval"]))
        out.append("")
        out.append("  " + _("Figures drawn (not confirmed, with a plausible range):"))
        for f in r["drawn"]:
            where = f" {_('taille {size}').format(size=f['taille'])}" if f["taille"] is not None else ""
            out.append(f"    {f['text']} {f['parameter']}{where}: {_plain(Decimal(f['value']))} "
                       f"[{_plain(Decimal(f['min']))} ; {_plain(Decimal(f['max']))}] ({f['confidence']})")
        if r["without_range"]:
            out.append("  " + _("{count} figures not confirmed have no plausible range: kept as written")
                       .format(count=len(r["without_range"])))
        for block in r["dates"]:
            n = block["national"]
            out += ["", _("On {date} ({text})").format(date=block["date"], text=block["text"])]
            out.append("  " + _("National cost: {point} as written; median {median}; interval {low} to {high}")
                       .format(point=euros(n["point"]), median=euros(n["median"]), low=euros(n["low"]),
                               high=euros(n["high"])))
            out.append(f"  {_('Taille'):<8} {_('CPTS'):>6} {_('As written'):>18} {_('Median'):>18} "
                       f"{_('Low'):>18} {_('High'):>18}")
            for t, e in block["by_taille"].items():
                out.append(f"  {_taille(t):<8} {e['count']:>6} {euros(e['point']):>18} {euros(e['median']):>18} "
                           f"{euros(e['low']):>18} {euros(e['high']):>18}")
            widest = sorted(block["cpts"], key=lambda c: c["high"] - c["low"], reverse=True)[:10]
            out.append("  " + _("Widest intervals (each CPTS: --format csv or json)"))
            for c in widest:
                out.append(f"    {c['name'][:34]:<34} {_taille(c['taille']):>3} {euros(c['point']):>15} "
                           f"[{euros(c['low'])} ; {euros(c['high'])}]")
    out.extend("  " + _("Assumption: {text}").format(text=render(a)) for a in r["assumptions"])
    return "\n".join(out) + "\n"


def _csv(r) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if r["mode"] == "sweep":
        tailles = sorted({t for block in r["dates"] for t in block["baseline_by_taille"]},
                         key=lambda t: (t is None, t))
        names = list(r["dates"][0]["variants"][0]["values"]) if r["dates"] and r["dates"][0]["variants"] else []
        header = ["date", "text", "variant"] + names + ["cost", "baseline", "difference", "difference_pct", "gain",
                                                         "lose"]
        for t in tailles:
            header += [f"t{_taille(t)}_{k}" for k in ("count", "cost", "difference", "gain", "lose")]
        writer.writerow(header)
        for block in r["dates"]:
            for index, row in enumerate(block["variants"], start=1):
                line = [block["date"], block["text"], index] + [row["values"][n] for n in names] + [
                    row["cost"], block["baseline"], row["difference"],
                    row["difference_pct"] if row["difference_pct"] is not None else "", row["gain"], row["lose"]]
                for t in tailles:
                    e = row["by_taille"].get(t)
                    line += [e[k] for k in ("count", "cost", "difference", "gain", "lose")] if e else [""] * 5
                writer.writerow(line)
    else:
        writer.writerow(["date", "text", "scope", "name", "taille", "point", "median", "low", "high"])
        for block in r["dates"]:
            n = block["national"]
            writer.writerow([block["date"], block["text"], "national", "", "", n["point"], n["median"], n["low"],
                             n["high"]])
            for t, e in block["by_taille"].items():
                writer.writerow([block["date"], block["text"], "taille", "", _taille(t) if t is not None else "",
                                 e["point"], e["median"], e["low"], e["high"]])
            for c in block["cpts"]:
                writer.writerow([block["date"], block["text"], "cpts", spreadsheet_safe(c["name"]),
                                 c["taille"] if c["taille"] is not None else "", c["point"], c["median"], c["low"],
                                 c["high"]])
    return buffer.getvalue()

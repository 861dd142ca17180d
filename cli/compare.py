"""Commands that compare rulesets: diff."""

from __future__ import annotations

import os

import click

from aci_rules.engine.assumptions import RateGaps
from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.diff import compare_profile_table, compare_profiles, diff_rulesets
from aci_rules.engine.library import Library, looks_like_path
from aci_rules.engine.paths import yaml_files_in
from aci_rules.engine.yaml_loader import load_document

from .assumptions import achievement_options, say_assumed, say_gaps, stated_rates
from .base import EXIT_OK, DateType, examples, guarded, load_rulesets
from .i18n import _
from .impact import csv_dialect_option
from .output import check_output, emit
from .render_diff import render_diff_json, render_diff_markdown, render_diff_text


def _profile_files(folder: str) -> list[str]:
    if os.path.isfile(folder):
        return [folder]
    files, problems = yaml_files_in(folder)
    if problems:
        raise InputError(problems)
    return files


@click.command("diff", epilog=examples(
    "aci-rules diff aci-2019 avenant-2 --format markdown > note.md",
    "aci-rules diff avenant-2 examples/plan-100-cpts.yaml --profiles examples/national-sample.csv --date 2024-06-01",
))
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--date", "day", type=DateType(),
              help="Consolidate both texts as in force on this date, and evaluate --profiles on it.")
@click.option("--profiles", "profiles", type=click.Path(exists=True),
              help="A profile, a folder of profiles (rulesets in it are skipped), or a CSV or JSON Lines "
                   "file of profiles: show what each would receive under OLD and under NEW. Needs --date.")
@click.option("--as-if-in-force-from", "as_if_from", type=DateType(), metavar="YYYY-MM-DD",
              help="With --profiles: apply NEW from this date instead of its own in-force date "
                   "(an explicit what-if: the warnings say so).")
@click.option("--assume-renewal", "assume_renewal", is_flag=True,
              help="With --profiles: assume a new contract at each end of the last one a profile states.")
@achievement_options
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json", "html"]), default="text",
              show_default=True, help="text for a person, markdown for a memo, json for a program, "
                                      "html for a page with charts.")
@click.option("--summary", "summary_only", is_flag=True,
              help="Only the summary: yearly maximum per taille, what was added and removed, changed figures.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write to this file (all at once) instead of stdout.")
@csv_dialect_option
@guarded
def diff_command(old, new, day, profiles, as_if_from, assume_renewal, achievement, achievement_replaces,
                 output_format, summary_only, output, csv_dialect):
    """What changed from OLD to NEW (ids or paths), by meaning: lines, amounts per taille, formulas,
    dates, references and confidence, grouped by mission."""
    if profiles and day is None:
        raise click.UsageError(_("--profiles needs --date: the date the profiles are evaluated on"))
    if (as_if_from or assume_renewal) and not profiles:
        raise click.UsageError(_("--as-if-in-force-from and --assume-renewal need --profiles"))
    if (achievement or achievement_replaces) and not profiles:
        raise click.UsageError(_("--achievement and --replace-achievement need --profiles"))
    if output:
        check_output(output)  # before the work, not after
    if output_format == "html":
        from .html import require_report_extra

        require_report_extra()
    library = Library()
    before, after = load_rulesets(library, (old, new), day)
    diff = diff_rulesets(before, after)
    behaviour = None
    if profiles:
        timelines = (library.timeline(old, renewal=assume_renewal),
                     library.timeline(new, as_if_from=as_if_from, renewal=assume_renewal))
        outcomes: list = []
        known = library.mission_ids() | set(before.missions) | set(after.missions)
        assume = stated_rates(library, (before, after), achievement, achievement_replaces, known)
        gaps = RateGaps()
        if os.path.isfile(profiles) and profiles.endswith((".csv", ".jsonl", ".ndjson")):
            behaviour = compare_profile_table(timelines, profiles, day, known, csv_dialect=csv_dialect,
                                              outcomes=outcomes, assume=assume, gaps=gaps)
        else:
            behaviour = compare_profiles(timelines, [load_document(path) for path in _profile_files(profiles)], day,
                                         known, outcomes=outcomes, assume=assume, gaps=gaps)
        say_assumed(assume)
        say_gaps(gaps, profiles)
        if outcomes:  # what the vectorised backend left to the scalar path, as compare and sweep say it
            from .sweep import backend_notes

            backend_notes(outcomes)
    names = _side_names((old, new), (before, after))
    if output_format == "html":
        from .html import render_diff_html as render
    else:
        render = {"text": render_diff_text, "markdown": render_diff_markdown, "json": render_diff_json}[output_format]
    text = render(diff, behaviour, names, summary_only)
    emit(text, output, for_terminal=output_format not in ("json", "html"), final_newline=True)
    return EXIT_OK


def _side_names(arguments, rulesets) -> tuple:
    """How the two sides are named: their ids, or, when both have the same id (a copy of a
    shipped text), the file each was read from."""
    if rulesets[0].id != rulesets[1].id:
        return tuple(r.id for r in rulesets)
    return tuple(f"{r.id} ({argument if looks_like_path(argument) else _('shipped text')})"
                 for argument, r in zip(arguments, rulesets))

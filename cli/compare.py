"""Commands that compare rulesets: diff."""

from __future__ import annotations

import os

import click

from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.diff import compare_profile, diff_rulesets
from aci_rules.engine.evaluate import assess
from aci_rules.engine.library import Library, document_kind
from aci_rules.engine.profile import compile_profile, validate_profile
from aci_rules.engine.yaml_loader import load_document

from .base import EXIT_OK, DateType, guarded, load_rulesets
from .render_diff import render_diff_json, render_diff_markdown, render_diff_text


def _profile_files(folder: str) -> list[str]:
    if os.path.isfile(folder):
        return [folder]
    return sorted(os.path.join(folder, name) for name in os.listdir(folder)
                  if name.endswith((".yaml", ".yml")) and os.path.isfile(os.path.join(folder, name)))


@click.command("diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--date", "day", type=DateType(),
              help="Consolidate both texts as in force on this date, and evaluate --profiles on it.")
@click.option("--profiles", "profiles", type=click.Path(exists=True),
              help="A profile, or a folder of profiles (rulesets in it are skipped): "
                   "show what each would receive under OLD and under NEW. Needs --date.")
@click.option("--as-if-in-force-from", "as_if_from", type=DateType(), metavar="YYYY-MM-DD",
              help="With --profiles: apply NEW from this date instead of its own in-force date "
                   "(an explicit what-if: the warnings say so).")
@click.option("--assume-renewal", "assume_renewal", is_flag=True,
              help="With --profiles: assume a new contract at each end of the last one a profile states.")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="text for a person, markdown for a memo, json for a program.")
@guarded
def diff_command(old, new, day, profiles, as_if_from, assume_renewal, output_format):
    """What changed from OLD to NEW (ids or paths), by meaning: lines, amounts per taille, formulas,
    dates, references and confidence, grouped by mission."""
    if profiles and day is None:
        raise click.UsageError("--profiles needs --date: the date the profiles are evaluated on")
    if (as_if_from or assume_renewal) and not profiles:
        raise click.UsageError("--as-if-in-force-from and --assume-renewal need --profiles")
    library = Library()
    before, after = load_rulesets(library, (old, new), day)
    problems = []
    diff = diff_rulesets(before, after)
    behaviour = None
    if profiles:
        timelines = (library.timeline(old, renewal=assume_renewal),
                     library.timeline(new, as_if_from=as_if_from, renewal=assume_renewal))
        behaviour = []
        known = library.mission_ids() | set(before.missions) | set(after.missions)
        for path in _profile_files(profiles):
            document = load_document(path)
            if document_kind(document) != "profile":
                continue
            found = validate_profile(document, known)
            if found:
                problems.extend(found)
                continue
            profile = compile_profile(document)
            # Each text from its own date (DESIGN.md § Time): the year's amounts under each timeline.
            behaviour.append(compare_profile(assess(timelines[0], profile, day), assess(timelines[1], profile, day)))
        if problems:
            raise InputError(problems)
    render = {"text": render_diff_text, "markdown": render_diff_markdown, "json": render_diff_json}[output_format]
    click.echo(render(diff, behaviour), nl=False)
    return EXIT_OK

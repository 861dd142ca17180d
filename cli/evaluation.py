"""Commands that evaluate profiles: eval, test."""

from __future__ import annotations

import click

from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.evaluate import assess
from aci_rules.engine.library import Library, looks_like_path
from aci_rules.engine.profile import compile_profile, validate_profile
from aci_rules.engine.yaml_loader import load_document

from .base import EXIT_INPUT, EXIT_OK, DateType, examples, format_option, guarded, make_timeline, time_options
from .output import terminal_safe
from .render import render_eval_json, render_eval_text


@click.command("eval", epilog=examples(
    "aci-rules eval examples/cpts-2019-taille-3.yaml --date 2021-03-01",
    "aci-rules eval examples/cpts-avenant-2-taille-4.yaml --date 2024-06-01 --ruleset examples/plan-100-cpts.yaml --explain",
))
@click.argument("profile", type=click.Path(dir_okay=True))
@click.option("--date", "day", type=DateType(), required=True,
              help="The evaluation date (never the clock): which text applies, which contract year.")
@time_options()
@format_option
@click.option("--explain", is_flag=True, help="Show each line's formulas and the values they read.")
@guarded
def eval_command(profile, day, ruleset_name, as_if_from, assume_renewal, output_format, explain):
    """Evaluate a CPTS profile at a date: the entitlement of the contract year holding the date
    (each text counted for its days), every funding line, why, and under which article."""
    library = Library()
    document = load_document(profile)
    timeline = make_timeline(library, ruleset_name, as_if_from, assume_renewal)
    ruleset = timeline.resolve(day)
    known = library.mission_ids() | set(ruleset.missions) | (set(library.get(ruleset_name).missions)
                                                            if ruleset_name else set())
    problems = validate_profile(document, known)
    if problems:
        raise InputError(problems)
    result = assess(timeline, compile_profile(document), day, explain=explain)
    if output_format == "json":
        click.echo(render_eval_json(result, explain))
    else:
        shown_file = ruleset_name if ruleset_name and looks_like_path(ruleset_name) else None
        click.echo(terminal_safe(render_eval_text(result, explain, shown_file)), nl=False)
    return EXIT_OK


@click.command("test", epilog=examples(
    "aci-rules test tests/cases/",
    "aci-rules test tests/cases/avenant-2-maxima.yaml -v",
))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only the failures.")
@click.option("--allow", "allow", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="A folder a case's profile: or ruleset: path may also name files under "
                   "(by default only the case file's folder).")
@guarded
def test_command(paths, verbose, allow):
    """Run YAML test cases (a profile, a date, what the engine must find)."""
    from aci_rules.engine.cases import collect_case_files, file_problem, run_case_file

    library = Library()
    outcomes = []
    for path in collect_case_files(paths):
        try:
            outcomes += run_case_file(path, library, allow)
        except InputError as error:
            outcomes.append(file_problem(path, error))
    for outcome in outcomes:
        if not outcome.passed:
            click.echo(outcome.report())
        elif verbose:
            click.echo(f"ok   {outcome.file}:{outcome.line}: {outcome.name}")
    passed = sum(1 for o in outcomes if o.passed)
    click.echo(f"{passed} passed, {len(outcomes) - passed} failed")
    return EXIT_OK if passed == len(outcomes) else EXIT_INPUT

"""Commands that evaluate profiles: eval, test."""

from __future__ import annotations

import click

from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.evaluate import assess
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile, validate_profile
from aci_rules.engine.yaml_loader import load_document

from .base import EXIT_INPUT, EXIT_OK, DateType, format_option, guarded, make_timeline, time_options
from .render import render_eval_json, render_eval_text


@click.command("eval")
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
        click.echo(render_eval_text(result, explain), nl=False)
    return EXIT_OK


@click.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only the failures.")
@guarded
def test_command(paths, verbose):
    """Run YAML test cases (a profile, a date, what the engine must find)."""
    from aci_rules.engine.cases import collect_case_files, file_problem, run_case_file

    library = Library()
    outcomes = []
    for path in collect_case_files(paths):
        try:
            outcomes += run_case_file(path, library)
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

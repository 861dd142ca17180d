"""Commands that evaluate profiles: eval, test."""

from __future__ import annotations

import json

import click

from aci_rules.engine.crosstext import companions
from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.evaluate import assess
from aci_rules.engine.library import Library, load_profile_document, looks_like_path
from aci_rules.engine.profile import compile_profile, validate_profile

from .base import EXIT_INPUT, EXIT_OK, DateType, examples, guarded, make_timeline, time_options
from .i18n import _, render
from .output import check_output, emit, terminal_safe
from .i18n import _
from .render import json_dumps, render_eval_json, render_eval_text


@click.command("eval", epilog=examples(
    "aci-rules eval examples/cpts-2019-taille-3.yaml --date 2021-03-01",
    "aci-rules eval examples/cpts-plan-100-preavis.yaml --date 2024-06-01 --ruleset examples/plan-100-cpts.yaml --explain",
))
@click.argument("profile", type=click.Path(dir_okay=True))
@click.option("--date", "day", type=DateType(), required=True,
              help="The evaluation date (never the clock): which text applies, which contract year.")
@time_options()
@click.option("--format", "output_format", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True, help="text for a person, json for a program, html for a page with charts.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write to this file (all at once) instead of stdout.")
@click.option("--explain", is_flag=True, help="Show each line's formulas and the values they read.")
@guarded
def eval_command(profile, day, ruleset_name, as_if_from, assume_renewal, output_format, output, explain):
    """Evaluate a CPTS profile at a date: the entitlement of the contract year holding the date
    (each text counted for its days), every funding line, why, and under which article."""
    if output:
        check_output(output)  # before the work, not after
    library = Library()
    document = load_profile_document(profile)
    timeline = make_timeline(library, ruleset_name, as_if_from, assume_renewal)
    ruleset = timeline.resolve(day)
    known = library.mission_ids() | set(ruleset.missions) | (set(library.get(ruleset_name).missions)
                                                            if ruleset_name else set())
    problems = validate_profile(document, known)
    if problems:
        raise InputError(problems)
    if output_format == "html":
        from .html import require_report_extra

        require_report_extra()
    result = assess(timeline, compile_profile(document), day, explain=explain, arrivals=library.mission_arrivals())
    if output_format == "html":
        from .html import render_eval_html

        text = render_eval_html(result)
    elif output_format == "json":
        text = render_eval_json(result, explain) + "\n"
        if explain and (others := companions(result)):
            document = json.loads(text)
            document["explain"]["other_texts"] = [
                {"name": alias, "ruleset": ruleset_id, "date": day.isoformat(), "evaluation": other.to_dict()}
                for alias, ruleset_id, day, other in others]
            text = json_dumps(document) + "\n"
    else:
        shown_file = ruleset_name if ruleset_name and looks_like_path(ruleset_name) else None
        text = render_eval_text(result, explain, shown_file)
        for alias, ruleset_id, day, other in companions(result) if explain else ():
            # What the formulas read of another text (text_total...), with its own explanations.
            text += "\n" + _("What {text} gives the same profile on {day} (read as '{name}' by the formulas of "
                             "{ruleset}), as if in force that day:").format(
                text=ruleset_id, day=day, name=alias, ruleset=result.ruleset.id) + "\n\n"
            text += render_eval_text(other, True)
    emit(text, output, for_terminal=output_format == "text")
    return EXIT_OK


@click.command("test", epilog=examples(
    "aci-rules test tests/cases/",
    "aci-rules test tests/cases/ --allow . --coverage --format html --output couverture.html",
))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only the failures.")
@click.option("--allow", "allow", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="A folder a case's profile: or ruleset: path may also name files under "
                   "(by default only the case file's folder).")
@click.option("--coverage", is_flag=True,
              help="Say which lines, parts of conditions, parameter cells and dated provisions the cases exercise.")
@click.option("--mutate", "mutate", is_flag=False, flag_value="*", default=None, metavar="[RULESET]",
              help="Mutation analysis of RULESET (an id or a path; alone: every ruleset the cases exercise). "
                   "Put it after the paths.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True, help="text for a person, json for a program, html for a page of the coverage "
                                      "(with --coverage).")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write the html page to this file (all at once) instead of stdout.")
@guarded
def test_command(paths, verbose, allow, coverage, mutate, output_format, output):
    """Run YAML test cases (a profile, a date, what the engine must find)."""
    from aci_rules.engine.cases import accepted_of, collect_case_files, file_problem, load_case_file

    if output_format == "html":
        if not coverage:
            raise click.UsageError(_("--format html shows the coverage: add --coverage"))
        from .html import require_report_extra

        require_report_extra()
    if output:
        if output_format != "html":
            raise click.UsageError(_("--output writes the html page: add --format html"))
        check_output(output)  # before the work, not after

    library = Library()
    cases, outcomes, accepted = [], [], []
    for path in collect_case_files(paths):
        try:
            found, broken = load_case_file(path, library, allow)
            accepted += accepted_of(path)
        except InputError as error:
            outcomes.append(file_problem(path, error))
            continue
        cases += found
        outcomes += broken
    if coverage or mutate:
        from aci_rules.engine.coverage import complete, run_with_coverage

        ran, recorder = run_with_coverage(cases, library)
        report = recorder.report()
    else:
        from aci_rules.engine.cases import run_case

        ran, report = [run_case(case, library) for case in cases], None
    outcomes = sorted(outcomes + ran, key=lambda o: (o.file, o.line or 0))
    passed = sum(1 for o in outcomes if o.passed)
    mutation = []
    if mutate and passed == len(outcomes):
        from aci_rules.engine.mutate import mutation_analysis

        targets = [mutate] if mutate != "*" else _exercised(library, report)
        reports = mutation_analysis(cases, library, targets, accepted=accepted, baseline=(ran, recorder))[1]
        mutation = [r.to_dict() for r in reports]
    if output_format == "json":
        from .render import json_dumps

        document = {"passed": passed, "failed": len(outcomes) - passed,
                    "failures": [{"name": o.name, "file": o.file, "line": o.line, "failures": list(o.failures),
                                  "diagnostics": [d.to_dict() for d in o.diagnostics]}
                                 for o in outcomes if not o.passed]}
        if coverage:
            document["coverage"] = dict(report, complete=complete(report, accepted))
        if mutate:
            document["mutation"] = mutation
        click.echo(json_dumps(document))
    elif output_format == "html":
        from .html import render_coverage_html

        for outcome in outcomes:  # the failures still go where a person reads them
            if not outcome.passed:
                click.echo(terminal_safe(outcome.report(render)), err=True)
        emit(render_coverage_html(report, accepted, passed, len(outcomes) - passed), output)
    else:
        for outcome in outcomes:
            if not outcome.passed:
                click.echo(terminal_safe(outcome.report(render)))
            elif verbose:
                click.echo(terminal_safe(_("ok   {where}: {name}").format(where=f"{outcome.file}:{outcome.line}",
                                                                          name=outcome.name)))
        click.echo(_("{passed} passed, {failed} failed").format(passed=passed, failed=len(outcomes) - passed))
        if coverage:
            from .render_quality import render_coverage_text

            click.echo(terminal_safe(render_coverage_text(report, accepted)), nl=False)
        if mutate and passed != len(outcomes):
            click.echo(_("Mutations: not run, cases fail without any mutation (fix them first)."))
        for item in mutation:
            from .render_quality import render_mutation_text

            click.echo(terminal_safe(render_mutation_text(item)), nl=False)
    if passed != len(outcomes) or any(item["survived"] for item in mutation):
        return EXIT_INPUT
    return EXIT_OK


def _exercised(library, report) -> list:
    """The rulesets the cases exercise, by shipped id or path, in the order met."""
    known = set(library.known_ids())
    names = []
    for entry in report["files"]:
        stem = entry["file"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        names.append(stem if entry["file"] == f"rules/{stem}.yaml" and stem in known else entry["file"])
    return names

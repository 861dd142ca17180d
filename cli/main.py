"""``aci-rules``: the commands. Each parses its options, calls the engine, renders.

Exit codes, computed in one place (:func:`_guarded`): 0 done, 1 the input has
problems (every diagnostic on stderr as ``file:line:col: CODE message``), 2 the
command was misused (click's own) or the tool itself failed. No traceback ever
reaches the user.
"""

from __future__ import annotations

import datetime
import functools
from decimal import Decimal
import re
import sys

import click

from aci_rules import __version__
from aci_rules.engine.cases import collect_case_files, file_problem, run_case_file
from aci_rules.engine.compiler import validate_ruleset
from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.evaluate import evaluate
from aci_rules.engine.library import Library
from aci_rules.engine.profile import compile_profile, validate_profile
from aci_rules.engine.schema import MAX_YEAR, MIN_YEAR
from aci_rules.engine.yaml_loader import load_document

from .render import (
    json_dumps,
    render_errors_json,
    render_eval_json,
    render_eval_text,
    render_ruleset_text,
    render_ruleset_yaml,
)

__all__ = ["cli", "main"]

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2

# Keys that only a ruleset has; a file with none of them is checked as a profile.
_RULESET_KEYS = {"lines", "kind", "dates", "amends", "parameters", "obligations", "status", "title",
                 "taille", "definitions"}


class DateType(click.ParamType):
    """A date written YYYY-MM-DD, of the calendar, in MIN_YEAR..MAX_YEAR."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime.date):
            return value
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            self.fail(f"'{value}' is not a date written YYYY-MM-DD", param, ctx)
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            self.fail(f"'{value}' is not a date of the calendar", param, ctx)
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            self.fail(f"'{value}' is outside the years {MIN_YEAR}..{MAX_YEAR}", param, ctx)
        return day


def _report(diagnostics, as_json: bool) -> None:
    for diagnostic in diagnostics:
        click.echo(str(diagnostic), err=True)
    if as_json:
        click.echo(render_errors_json(diagnostics))


def _guarded(command):
    """Run a command body; map input problems to exit 1 and failures to exit 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        as_json = kwargs.get("output_format") == "json"
        try:
            code = command(*args, **kwargs)
        except InputError as error:
            _report(error.diagnostics, as_json)
            ctx.exit(EXIT_INPUT)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("aci-rules: interrupted", err=True)
            ctx.exit(130)
        except Exception as error:  # a bug of ours: say so, without a traceback
            click.echo(f"aci-rules: internal error: {type(error).__name__}: {error} "
                       "(please report it with the command and the files)", err=True)
            ctx.exit(EXIT_USAGE)
        ctx.exit(code or EXIT_OK)

    return wrapper


_format_option = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="text for a person, json for a program (one JSON document on stdout).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aci-rules")
def cli():
    """Evaluate, check and compare the funding rules of the ACI CPTS."""


@cli.command("list")
@_format_option
@_guarded
def list_command(output_format):
    """The shipped rulesets, with kind, status and in-force dates."""
    library = Library()
    rulesets = sorted((library.get(name) for name in library.known_ids()), key=lambda r: r.in_force)
    if output_format == "json":
        click.echo(json_dumps([{
            "id": r.id, "title": " ".join(r.title.split()), "kind": r.kind, "status": r.status,
            "in_force": r.in_force.isoformat(), "until": r.until.isoformat() if r.until else None,
            "reference": " ".join(r.reference.split()),
        } for r in rulesets]))
        return EXIT_OK
    click.echo(f"{'id':<14} {'kind':<9} {'status':<10} {'in force':<24} title")
    for r in rulesets:
        period = f"{r.in_force} → {r.until or ''}"
        title = " ".join(r.title.split())
        click.echo(f"{r.id:<14} {r.kind:<9} {r.status:<10} {period:<24} {title[:70]}")
    return EXIT_OK


def _kind_of(document) -> str:
    data = document.data
    if isinstance(data, dict) and _RULESET_KEYS & set(data):
        return "ruleset"
    return "profile"


@cli.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@_format_option
@_guarded
def validate_command(files, output_format):
    """Check rulesets and profiles; report every problem as file:line:col: CODE message."""
    library = Library()
    reports, problems, profiles = [], [], []
    known_missions: set = set()
    for name in files:
        try:
            document = load_document(name)
        except InputError as error:
            reports.append((name, None, error.diagnostics))
            continue
        kind = _kind_of(document)
        if kind == "ruleset":
            diagnostics = validate_ruleset(document)
            if not diagnostics:
                try:
                    known_missions |= set(library.compile(document).missions)
                except InputError as error:
                    diagnostics = error.diagnostics
            reports.append((name, kind, diagnostics))
        else:
            profiles.append((len(reports), document))
            reports.append((name, kind, []))
    if profiles:
        # Profiles are checked after the rulesets named with them, whose missions count too.
        known_missions |= library.mission_ids()
        for index, document in profiles:
            name, kind, _ = reports[index]
            reports[index] = (name, kind, validate_profile(document, known_missions))

    for name, kind, diagnostics in reports:
        problems.extend(diagnostics)
        for diagnostic in diagnostics:
            click.echo(str(diagnostic), err=True)
    if output_format == "json":
        click.echo(json_dumps({"files": [
            {"file": name, "kind": kind, "valid": not any(d.is_error for d in diagnostics),
             "diagnostics": [d.to_dict() for d in diagnostics]}
            for name, kind, diagnostics in reports]}))
    else:
        for name, kind, diagnostics in reports:
            errors = sum(1 for d in diagnostics if d.is_error)
            verdict = "ok" if not errors else f"{errors} problem{'s' if errors > 1 else ''}"
            click.echo(f"{name}: {kind or 'unreadable'}, {verdict}")
    return EXIT_INPUT if any(d.is_error for d in problems) else EXIT_OK


@cli.command("eval")
@click.argument("profile", type=click.Path(dir_okay=True))
@click.option("--date", "day", type=DateType(), required=True,
              help="The evaluation date (never the clock): which text applies, which contract year.")
@click.option("--ruleset", "ruleset_name", metavar="ID|PATH",
              help="Force a ruleset: a shipped id (see 'aci-rules list') or a YAML file.")
@_format_option
@click.option("--explain", is_flag=True, help="Show each line's formulas and the values they read.")
@_guarded
def eval_command(profile, day, ruleset_name, output_format, explain):
    """Evaluate a CPTS profile at a date: every funding line, why, and under which article."""
    library = Library()
    document = load_document(profile)
    ruleset = library.get(ruleset_name, day) if ruleset_name else library.in_force(day)
    problems = validate_profile(document, library.mission_ids() | set(ruleset.missions))
    if problems:
        raise InputError(problems)
    result = evaluate(ruleset, compile_profile(document), day, explain=explain)
    if output_format == "json":
        click.echo(render_eval_json(result, explain))
    else:
        click.echo(render_eval_text(result, explain), nl=False)
    return EXIT_OK


@cli.command("show")
@click.argument("ruleset_name", metavar="ID|PATH")
@click.option("--date", "day", type=DateType(),
              help="Consolidate as in force on this date (default: every provision applied).")
@click.option("--format", "output_format", type=click.Choice(["text", "yaml", "json"]), default="text",
              show_default=True, help="text: the barème; yaml / json: the consolidated ruleset.")
@_guarded
def show_command(ruleset_name, day, output_format):
    """The consolidated ruleset: a barème (lines x tailles) or the resolved YAML."""
    ruleset = Library().get(ruleset_name, day)
    if output_format == "yaml":
        click.echo(render_ruleset_yaml(ruleset, day), nl=False)
    elif output_format == "json":
        click.echo(json_dumps(_jsonable(ruleset.document.data)))
    else:
        click.echo(render_ruleset_text(ruleset, day), nl=False)
    return EXIT_OK


def _jsonable(node):
    if isinstance(node, dict):
        return {k: _jsonable(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_jsonable(v) for v in node]
    if isinstance(node, Decimal):
        return str(node)
    return node


@cli.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only the failures.")
@_guarded
def test_command(paths, verbose):
    """Run YAML test cases (a profile, a date, what the engine must find)."""
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


def main(argv=None) -> None:
    """Console-script entry point."""
    try:
        code = cli.main(args=argv, prog_name="aci-rules", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        code = error.exit_code
    except click.exceptions.Exit as exit_:
        code = exit_.exit_code
    except click.exceptions.Abort:
        click.echo("aci-rules: interrupted", err=True)
        code = 130
    except KeyboardInterrupt:
        click.echo("aci-rules: interrupted", err=True)
        code = 130
    except Exception as error:  # the last wall: never a traceback
        click.echo(f"aci-rules: internal error: {type(error).__name__}: {error}", err=True)
        code = EXIT_USAGE
    sys.exit(code if isinstance(code, int) else EXIT_OK)

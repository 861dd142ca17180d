"""Commands about rulesets: list, validate, show."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources

import click

from aci_rules.engine.compiler import validate_ruleset
from aci_rules.engine.diagnostic import InputError
from aci_rules.engine.library import Library, document_kind, table_file_problem
from aci_rules.engine.profile import validate_profile
from aci_rules.engine.schema import schema_diagnostics
from aci_rules.engine.yaml_loader import load_document

from .base import EXIT_INPUT, EXIT_OK, DateType, examples, format_option, guarded
from .i18n import _, render
from .output import terminal_safe
from .render import json_dumps, render_ruleset_text, render_ruleset_yaml

@click.command("list", epilog=examples(
    "aci-rules list",
    "aci-rules list --format json",
))
@format_option
@guarded
def list_command(output_format):
    """The shipped rulesets, with kind, status and in-force dates."""
    listing = Library().listing()
    rulesets = [ruleset for ruleset, _, _ in listing]
    applies_until = {ruleset.id: (day, successor) for ruleset, day, successor in listing if successor is not None}
    if output_format == "json":
        click.echo(json_dumps([{
            "id": r.id, "title": " ".join(r.title.split()), "kind": r.kind, "status": r.status,
            "amends": r.chain[-2] if len(r.chain) > 1 else None,
            "in_force": r.in_force.isoformat(), "until": r.until.isoformat() if r.until else None,
            "applies_until": applies_until[r.id][0].isoformat() if r.id in applies_until else None,
            "then": applies_until[r.id][1] if r.id in applies_until else None,
            "reference": " ".join(r.reference.split()),
        } for r in rulesets]))
        return EXIT_OK
    click.echo(f"{_('id'):<12} {_('kind'):<8} {_('status'):<9} {_('amends'):<10} {_('applies'):<38} {_('title')}")
    for r in rulesets:
        if r.id in applies_until:
            day, successor = applies_until[r.id]
            period = f"{r.in_force} → {day} " + _("(then {successor})").format(successor=successor)
        else:
            period = f"{r.in_force} → {r.until or ''}"
        amends = r.chain[-2] if len(r.chain) > 1 else "—"
        title = " ".join(r.title.split())
        click.echo(f"{r.id:<12} {r.kind:<8} {r.status:<9} {amends:<10} {period:<38} {title[:60]}")
    return EXIT_OK


@click.command("validate", epilog=examples(
    "aci-rules validate rules/*.yaml examples/*.yaml",
    "aci-rules validate ma-proposition.yaml --format json",
))
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@format_option
@guarded
def validate_command(files, output_format):
    """Check rulesets, profiles and test-case files; report every problem as file:line:col: CODE message."""
    library = Library()
    reports, problems, profiles = [], [], []
    known_missions: set = set()
    for name in files:
        table = table_file_problem(name, "ruleset or profile")
        if table:
            reports.append((name, "table", [table]))
            continue
        try:
            document = load_document(name)
        except InputError as error:
            reports.append((name, None, error.diagnostics))
            continue
        kind = document_kind(document)
        if kind == "test-case":
            # Checked as 'aci-rules test' reads it: its schema (the cases run with 'test').
            reports.append((name, kind, schema_diagnostics(document, "test-case")))
        elif kind == "ruleset":
            diagnostics = validate_ruleset(document)
            if not diagnostics:
                try:
                    compiled = library.compile(document)
                    known_missions |= set(compiled.missions)
                    # warnings: the file stays valid; then what fails only at some date
                    diagnostics = list(compiled.notes) + library.dated_problems(document)
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
            name, kind = reports[index][:2]
            reports[index] = (name, kind, validate_profile(document, known_missions))

    for name, kind, diagnostics in reports:
        problems.extend(diagnostics)
        for diagnostic in diagnostics:
            click.echo(render(diagnostic), err=True)
    if output_format == "json":
        click.echo(json_dumps({"files": [
            {"file": name, "kind": kind, "valid": not any(d.is_error for d in diagnostics),
             "diagnostics": [d.to_dict() for d in diagnostics]}
            for name, kind, diagnostics in reports]}))
    else:
        for name, kind, diagnostics in reports:
            errors = sum(1 for d in diagnostics if d.is_error)
            verdict = (_("ok") if not errors else _("1 problem") if errors == 1 else
                       _("{count} problems").format(count=errors))
            kinds = {"ruleset": _("ruleset"), "profile": _("profile"), None: _("unreadable")}
            click.echo(f"{name}: {kinds.get(kind, kind)}, {verdict}")
    return EXIT_INPUT if any(d.is_error for d in problems) else EXIT_OK


@click.command("show", epilog=examples(
    "aci-rules show avenant-2",
    "aci-rules show --sources",
))
@click.argument("ruleset_name", metavar="ID|PATH", required=False)
@click.option("--date", "day", type=DateType(),
              help="Consolidate as in force on this date (default: every provision applied).")
@click.option("--format", "output_format", type=click.Choice(["text", "yaml", "json"]), default="text",
              show_default=True, help="text: the barème; yaml / json: the consolidated ruleset.")
@click.option("--sources", "page", flag_value="sources",
              help="Print the list of sources: title, publisher, date, address, what rests on each.")
@click.option("--readings", "page", flag_value="readings",
              help="Print the readings the rulesets make where the sources leave a rule open.")
@guarded
def show_command(ruleset_name, day, output_format, page):
    """The consolidated ruleset: a barème (lines x tailles) or the resolved YAML; or the sources."""
    if page is not None:
        if ruleset_name is not None:
            raise click.UsageError(_("--{page} takes no ruleset: it prints the project's page docs/{page}.md").format(
                page=page))
        click.echo(documentation_page(page), nl=False)
        return EXIT_OK
    if ruleset_name is None:
        raise click.UsageError("Missing argument 'ID|PATH' (or give --sources, --readings).")
    library = Library()
    ruleset = library.get(ruleset_name, day)
    if output_format == "yaml":
        click.echo(render_ruleset_yaml(ruleset, library.consolidated_document(ruleset_name, day).data, day), nl=False)
    elif output_format == "json":
        click.echo(json_dumps(_jsonable(library.consolidated_document(ruleset_name, day).data)))
    else:
        click.echo(terminal_safe(render_ruleset_text(ruleset, day)), nl=False)
    return EXIT_OK


def documentation_page(name: str) -> str:
    """A page of docs/ as installed with the package (sources.md, readings.md)."""
    return resources.files("aci_rules.docs").joinpath(f"{name}.md").read_text("utf-8")


def _jsonable(node):
    if isinstance(node, dict):
        return {k: _jsonable(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_jsonable(v) for v in node]
    if isinstance(node, Decimal):
        return str(node)
    return node

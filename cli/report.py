"""``aci-rules report``: the dossier of a proposal in one page.

What changes (the diff's summary and lines), what it costs over a sample of CPTS
(the comparison), the payment calendar of one example CPTS under both texts, and
the provenance of the results (unverified figures, figures the proposal sets).
Every figure comes from the engine; ``--format json`` gives the same figures as
one JSON document, which the page's ``data-json`` tags point into.
"""

from __future__ import annotations

import json

import click

from aci_rules.engine.batch import check_profiles, read_profiles
from aci_rules.engine.diagnostic import Diagnostic, InputError, msg
from aci_rules.engine.diff import diff_rulesets
from aci_rules.engine.impact import compare_rows, cost_by_confidence, cost_of_lines
from aci_rules.engine.library import Library, document_kind
from aci_rules.engine.profile import compile_profile, validate_profile
from aci_rules.engine.provenance import line_provenance
from aci_rules.engine.schedule import build_schedule, calendar_year_differences
from aci_rules.engine.yaml_loader import load_document

from .base import EXIT_OK, DateType, examples, guarded, load_rulesets
from .calendar import render_schedule_json
from .compare import _side_names
from .impact import _jobs, _jsonable, _run
from .output import check_output, emit
from .render import json_dumps
from .render_diff import diff_to_dict

__all__ = ["report_command", "build_report"]


@click.command("report", epilog=examples(
    "aci-rules report examples/plan-100-cpts.yaml --baseline avenant-2 --sample examples/national-sample.csv "
    "--date 2024-06-01 --output dossier.html",
    "aci-rules report examples/negociation-2020-seance-2.yaml --baseline aci-2019 --sample examples/ "
    "--date 2021-06-01 --profile examples/cpts-2019-taille-3.yaml --format json",
))
@click.argument("proposal", metavar="PROPOSAL")
@click.option("--baseline", "baseline", metavar="ID|PATH", required=True, help="The text the proposal is compared to.")
@click.option("--sample", "sample", type=click.Path(exists=True), required=True,
              help="The CPTS to cost it on: a .csv, a .jsonl, or a folder of profiles.")
@click.option("--date", "day", type=DateType(), required=True,
              help="The date both texts are read and the sample evaluated on.")
@click.option("--profile", "example", type=click.Path(exists=True, dir_okay=False),
              help="The example CPTS whose payment calendar is shown "
                   "(default: the first CPTS of the sample under contract on --date).")
@click.option("--top", "top", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the largest changes to list.")
@click.option("--format", "output_format", type=click.Choice(["html", "json"]), default="html", show_default=True,
              help="html: the page; json: the same figures as one JSON document.")
@click.option("--output", "output", type=click.Path(dir_okay=False),
              help="Write to this file (all at once) instead of stdout.")
@click.option("--jobs", "jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes to use; 0 for every core.")
@guarded
def report_command(proposal, baseline, sample, day, example, top, output_format, output, jobs):
    """The dossier of a proposal: what changes, what it costs, a CPTS's payments, the provenance."""
    if output:
        check_output(output)  # before the work, not after
    if output_format == "html":
        from .html import require_report_extra

        require_report_extra()
    report = build_report(Library(), proposal, baseline, sample, day, example, top, _jobs(jobs))
    if output_format == "json":
        text = json_dumps(report["document"]) + "\n"
    else:
        from .html import render_report_html

        text = render_report_html(report)
    emit(text, output)
    return EXIT_OK


def build_report(library, proposal, baseline, sample, day, example, top, jobs) -> dict:
    """Every result the dossier shows, and its JSON document (``report["document"]``).

    Raises InputError with every problem of the rulesets, the sample or the example.
    """
    before_ruleset, after_ruleset = load_rulesets(library, (baseline, proposal), day)
    rulesets = (before_ruleset, after_ruleset)
    known = library.mission_ids() | set(before_ruleset.missions) | set(after_ruleset.missions)
    sources = read_profiles(sample, known)
    problems = check_profiles(sources, known)
    if problems:
        raise InputError(problems)
    if not sources:
        raise InputError([Diagnostic("E001", msg("the sample holds no profile"), sample)])
    diff = diff_rulesets(before_ruleset, after_ruleset)
    # Each text from its own date (DESIGN.md § Time), as compare and schedule read them.
    timelines = {"baseline": library.timeline(baseline), "proposal": library.timeline(proposal)}
    before = _run(timelines["baseline"], sources, day, jobs, (baseline, None, False), "Référence")
    after = _run(timelines["proposal"], sources, day, jobs, (proposal, None, False), "Proposition")
    comparison = compare_rows(rulesets, before, after, day, top)
    comparison["assumptions"] = list(dict.fromkeys(timelines["baseline"].assumptions()
                                                   + timelines["proposal"].assumptions()))
    comparison["renewal_assumed"] = False  # as compare's document, which the report's section equals

    names = _side_names((baseline, proposal), rulesets)

    profile, source = _example(library, sources, before, example, known)
    schedules = {}
    for key in ("baseline", "proposal"):
        schedules[key] = build_schedule(profile, timelines[key])
    by_calendar_year = calendar_year_differences(schedules["baseline"], schedules["proposal"])

    provenance = line_provenance(diff)
    proposed_lines = {p.id for p in provenance if p.proposed}
    not_confirmed = {p.id for p in provenance if p.weakest != "confirmed"}
    cost = {
        "baseline_by_confidence": cost_by_confidence(before_ruleset, before),
        "proposal_by_confidence": cost_by_confidence(after_ruleset, after),
        "proposal_on_proposed_figures": cost_of_lines(after, proposed_lines),
        "proposal_on_unconfirmed_lines": cost_of_lines(after, not_confirmed),
        "proposal_total": comparison["reform_total"],
    }
    document = {
        "baseline": before_ruleset.id, "proposal": after_ruleset.id, "date": day.isoformat(),
        "sample": sample, "profiles": len(sources),
        "diff": diff_to_dict(diff, names=names),
        "compare": _jsonable(comparison),
        "example": {"name": profile.name, "source": source,
                    "baseline": json.loads(render_schedule_json(schedules["baseline"])),
                    "proposal": json.loads(render_schedule_json(schedules["proposal"])),
                    "by_calendar_year": _jsonable(by_calendar_year)},
        "provenance": {"lines": [p.to_dict() for p in provenance], "cost": _jsonable(cost)},
    }
    return {"document": document, "rulesets": rulesets, "diff": diff, "before": before, "after": after,
            "comparison": comparison, "names": names, "profile": profile, "source": source,
            "schedules": schedules, "by_calendar_year": by_calendar_year, "provenance": provenance,
            "cost": cost, "sample": sample, "day": day}


def _example(library, sources, rows, example, known):
    """The example CPTS: the profile file given, else the first of the sample under contract."""
    if example:
        document = load_document(example)
        if document_kind(document) != "profile":
            raise InputError([Diagnostic("E001", msg("--profile names a ruleset, not a CPTS profile"), example)])
        problems = validate_profile(document, known)
        if problems:
            raise InputError(problems)
        return compile_profile(document), example
    chosen = next((i for i, row in enumerate(rows) if row.contract_year is not None), 0)
    return compile_profile(sources[chosen].document), sources[chosen].label

"""YAML test cases an analyst can write, run by ``aci-rules test`` and by pytest.

A case file holds ``cases:``, each with a profile (inline or a path), a date, an
optional ruleset, the source of its figures, and what the engine must find
(see ``schemas/test-case.schema.json``). A failure names the case's file and
line and shows what was expected and what the engine gave.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from decimal import Decimal

from .diagnostic import Diagnostic, InputError, msg
from .evaluate import Result, assess
from .fastpath import FastResult, FastTimeline
from .library import Library, looks_like_path
from .profile import Profile, compile_profile, validate_profile
from .recording import notify
from .ruleset import Ruleset
from .schedule import Schedule, build_schedule
from .schema import schema_diagnostics
from .paths import allowed_folder, confine
from .yaml_loader import load_document

__all__ = ["Case", "CaseOutcome", "accepted_of", "AMOUNT_EXPECTATIONS", "collect_case_files", "load_case_file",
           "run_case", "run_case_file", "check_result", "check_amounts", "check_schedule"]


@dataclasses.dataclass(frozen=True)
class CaseOutcome:
    """One case run: where it is, and what failed (nothing when it passed)."""

    name: str
    file: str
    line: int | None
    failures: tuple = ()  # messages: "expected ..., got ..."
    diagnostics: tuple = ()  # input problems that kept the case from running

    @property
    def passed(self) -> bool:
        return not self.failures and not self.diagnostics

    def report(self, translate=str) -> str:
        """A readable account of a failed case; ``translate`` renders a message or a diagnostic in
        the reader's language (English by default)."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        lines = [translate(msg("FAIL {where}: {name}", where=where, name=self.name))]
        lines += [f"  {translate(failure)}" for failure in self.failures]
        lines += [f"  {translate(diagnostic)}" for diagnostic in self.diagnostics]
        return "\n".join(lines)


def collect_case_files(paths) -> list[str]:
    """The YAML files named, and those under the folders named, sorted."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            for folder, _, names in os.walk(path):
                found += [os.path.join(folder, n) for n in names if n.endswith((".yaml", ".yml"))]
        else:
            found.append(path)
    return sorted(found)


def _amount(value) -> Decimal:
    return Decimal(value)


# What a case may expect that the fast path computes too (the amounts of the lines);
# anything else (maxima, confidence, obligations, warnings, a calendar) needs the
# reference evaluator.
AMOUNT_EXPECTATIONS = frozenset({"ruleset", "size", "contract_year", "total", "lines", "absent",
                                 "volets", "missions"})


@dataclasses.dataclass(frozen=True)
class Case:
    """One case of a case file, read and checked, ready to run (as often as needed)."""

    name: str
    file: str
    line: int | None
    profile: Profile
    day: datetime.date | None
    ruleset_name: str | None  # a shipped id or a path; None: the text in force on the day
    expect: dict | None
    schedule: dict | None
    as_if_from: datetime.date | None = None  # apply the ruleset from this day (as_if_in_force_from)
    renewal: bool = False  # assume a renewal of the last contract (assume_renewal)

    def timeline(self, library: Library, transform=None):
        """The case's timeline (its ruleset from its own date, or as if from ``as_if_from``),
        each ruleset passed through ``transform`` when one is given."""
        timeline = library.timeline(self.ruleset_name, as_if_from=self.as_if_from, renewal=self.renewal)
        return timeline.mapped(transform) if transform is not None else timeline

    @property
    def amounts_only(self) -> bool:
        """True when the fast path can check the case: amounts of lines, no calendar."""
        return self.schedule is None and self.expect is not None and set(self.expect) <= AMOUNT_EXPECTATIONS

    def outcome(self, failures=(), diagnostics=()) -> "CaseOutcome":
        return CaseOutcome(self.name, self.file, self.line, tuple(failures), tuple(diagnostics))


@dataclasses.dataclass(frozen=True)
class _Found:
    """What an evaluation found, from either path, in the terms a case checks."""

    ruleset: str
    size: int | None
    contract_year: int | None
    total: Decimal
    amounts: dict  # line id -> amount, for the lines that apply
    volets: dict  # line id -> volet
    missions: dict  # line id -> mission
    maxima: dict | None = None
    confidence: dict | None = None
    obligations: dict | None = None
    warnings: tuple | None = None
    segments: list | None = None  # the parts of the contract year: {ruleset, from, to}
    contract: int | None = None  # the rank of the contract running on the day


def check_result(result: Result, expect: dict) -> list[str]:
    """What differs between ``result`` and the expectations of a case."""
    lines = {line.id: line for line in result.lines}
    return _check(_Found(
        result.ruleset.id, result.size, result.contract_year.number if result.contract_year else None,
        result.total, {k: line.amount for k, line in lines.items()},
        {k: line.volet for k, line in lines.items()}, {k: line.mission for k, line in lines.items()},
        maxima={k: line.maximum for k, line in lines.items()},
        confidence={k: line.confidence for k, line in lines.items()},
        obligations={o.id: o.status for o in result.obligations},
        warnings=tuple(w.code for w in result.warnings),
        segments=[{"ruleset": s.ruleset, "from": s.start.isoformat(), "to": s.end.isoformat()}
                  for s in result.segments],
        contract=result.contract_year.contract.number if result.contract_year and result.contract_year.contract
        else None), expect)


def check_amounts(result: FastResult, ruleset: Ruleset, expect: dict) -> list[str]:
    """What differs between a fast-path result and expectations on amounts only."""
    return _check(_Found(
        ruleset.id, result.size, result.contract_year, result.total, result.amounts,
        {line.id: line.volet for line in ruleset.lines}, {line.id: line.mission for line in ruleset.lines}),
        expect)


def _check(found: _Found, expect: dict) -> list[str]:
    failures = []
    amounts = found.amounts

    def compare(what, expected, got):
        if expected != got:
            failures.append(msg("{what}: expected {expected}, got {got}", what=what, expected=expected, got=got))

    if "ruleset" in expect:
        compare("ruleset", expect["ruleset"], found.ruleset)
    if "size" in expect:
        compare("size", expect["size"], found.size)
    if "contract_year" in expect:
        compare("contract_year", expect["contract_year"], found.contract_year)
    if "total" in expect:
        compare("total", _amount(expect["total"]), found.total)
    for line_id, amount in (expect.get("lines") or {}).items():
        if line_id not in amounts:
            failures.append(msg("line {id}: expected {amount}, but the line does not apply", id=line_id,
                                amount=_amount(amount)))
        else:
            compare(msg("line {id}", id=line_id), _amount(amount), amounts[line_id])
    for line_id, amount in (expect.get("maxima") or {}).items():
        if line_id not in amounts:
            failures.append(msg("maximum of {id}: expected {amount}, but the line does not apply", id=line_id,
                                amount=_amount(amount)))
        else:
            compare(msg("maximum of {id}", id=line_id), _amount(amount), found.maxima[line_id])
    for line_id in expect.get("absent") or []:
        if line_id in amounts:
            failures.append(msg("line {id}: expected not to apply, got {amount}", id=line_id, amount=amounts[line_id]))
    for field, table in (("volet", found.volets), ("mission", found.missions)):
        for value, amount in (expect.get(field + "s") or {}).items():
            got = sum((a for k, a in amounts.items() if table.get(k) == value), Decimal(0))
            compare(f"{field} {value}", _amount(amount), got)
    for line_id, tag in (expect.get("confidence") or {}).items():
        compare(msg("confidence of {id}", id=line_id), tag, found.confidence.get(line_id))
    for obligation_id, status in (expect.get("obligations") or {}).items():
        compare(msg("obligation {id}", id=obligation_id), status, found.obligations.get(obligation_id))
    for code in expect.get("warnings") or []:
        if code not in found.warnings:
            failures.append(msg("warning {code}: expected, got {got}", code=code,
                                got=', '.join(found.warnings) or msg("no warning")))
    for code in expect.get("no_warnings") or []:
        if code in found.warnings:
            failures.append(msg("warning {code}: not expected, got it", code=code))
    if "segments" in expect:
        compare("segments", expect["segments"], found.segments)
    if "contract" in expect:
        compare("contract", expect["contract"], found.contract)
    return failures


def accepted_of(path: str) -> list[tuple]:
    """The (in, what, reason) entries a case file accepts as not pinnable (its ``accepted:``)."""
    document = _case_document(path)
    return [(item["in"], item["what"], item["reason"]) for item in document.data.get("accepted") or []]


def _case_document(path: str):
    document = load_document(path)
    problems = schema_diagnostics(document, "test-case")
    if problems:
        raise InputError(problems)
    return document


def load_case_file(path: str, library: Library | None = None, allow=()) -> tuple[list[Case], list[CaseOutcome]]:
    """The cases of one file, ready to run, and an outcome for each case that cannot be read.

    A case's ``profile:`` or ``ruleset:`` path may name a YAML file under the case file's
    folder, or under one of the folders in ``allow`` (see :mod:`.paths`). Raises
    InputError when the file itself is invalid.
    """
    library = library or Library()
    document = _case_document(path)
    folders = (allowed_folder(path),) + tuple(os.path.realpath(folder) for folder in allow)
    cases, broken = [], []
    for index, spec in enumerate(document.data["cases"]):
        case_path = ("cases", index)
        line = document.position(case_path)[0]
        try:
            cases.append(_read_case(document, spec, case_path, folders, library, line))
        except InputError as error:
            broken.append(CaseOutcome(spec["name"], path, line, diagnostics=tuple(error.diagnostics)))
    return cases, broken


def _read_case(document, spec, case_path, folders, library, line) -> Case:
    profile_spec = spec["profile"]
    if isinstance(profile_spec, str):
        profile_document = load_document(confine(profile_spec, document, case_path + ("profile",), folders))
    else:
        profile_document = document.subtree(case_path + ("profile",))
    ruleset_name = spec.get("ruleset")
    if ruleset_name is not None and looks_like_path(ruleset_name):
        ruleset_name = confine(ruleset_name, document, case_path + ("ruleset",), folders)
    known = library.mission_ids() | (set(library.get(ruleset_name).missions) if ruleset_name else set())
    problems = validate_profile(profile_document, known)
    if problems:
        raise InputError(problems)
    day = datetime.date.fromisoformat(spec["date"]) if "date" in spec else None
    as_if = spec.get("as_if_in_force_from")
    if as_if is not None and ruleset_name is None:
        raise InputError([document.diagnostic(
            "E202", msg("as_if_in_force_from needs a ruleset: the text to apply from that date"),
            case_path + ("as_if_in_force_from",))])
    return Case(spec["name"], document.file, line, compile_profile(profile_document), day, ruleset_name,
                spec.get("expect"), spec.get("schedule"), datetime.date.fromisoformat(as_if) if as_if else None,
                bool(spec.get("assume_renewal")))


def run_case(case: Case, library: Library, *, transform=None, fast=None) -> CaseOutcome:
    """Run one case; its outcome.

    ``transform`` (a function of a compiled ruleset) replaces each ruleset the case
    uses, e.g. by a mutant; ``fast`` (a function giving a :class:`FastRuleset` for a
    ruleset) checks a case on amounts only with the fast path. A case whose
    evaluation fails reports the diagnostics.
    """
    transform = transform or (lambda ruleset: ruleset)
    failures = []
    try:
        if case.expect is not None:
            failures += _expected(case, library, transform, fast)
        if case.schedule is not None:
            spec = case.schedule
            until = datetime.date.fromisoformat(spec["until"]) if "until" in spec else None
            schedule = build_schedule(case.profile, case.timeline(library, transform), until=until)
            notify(schedule)
            failures += check_schedule(schedule, spec)
    except InputError as error:
        return case.outcome(diagnostics=error.diagnostics)
    return case.outcome(failures)


def _expected(case: Case, library: Library, transform, fast) -> list[str]:
    """What differs from the case's ``expect`` (an ``error`` it expects is its one expectation)."""
    day, expect = case.day, case.expect
    try:
        # The year's amounts, each text from its own date (DESIGN.md § Time), on either path.
        timeline = case.timeline(library, transform)
        ruleset = timeline.resolve(day)
        if fast is not None and case.amounts_only:
            return check_amounts(FastTimeline(timeline, fast).run(case.profile, day)[1], ruleset, expect)
        result = assess(timeline, case.profile, day)
    except InputError as error:
        if "error" in expect and any(d.code == expect["error"] for d in error.diagnostics):
            return []
        raise
    if "error" in expect:
        return [msg("error {code}: expected, got an evaluation under {ruleset}", code=expect['error'],
                    ruleset=result.ruleset.id)]
    return check_result(result, expect)


def run_case_file(path: str, library: Library | None = None, allow=()) -> list[CaseOutcome]:
    """Run every case of one file (see :func:`load_case_file` for ``allow``).

    Raises InputError when the file itself is invalid.
    """
    library = library or Library()
    cases, broken = load_case_file(path, library, allow)
    outcomes = [run_case(case, library) for case in cases] + broken
    return sorted(outcomes, key=lambda o: o.line or 0)


_YEAR_KINDS = {"contract_years": msg("contract year"), "calendar_years": msg("calendar year")}


def check_schedule(schedule: Schedule, expect: dict) -> list:
    """What differs between a payment calendar and the expectations of a case."""
    failures = []
    due: dict = {}
    for payment in schedule.payments:
        key = (payment.due, payment.line, payment.contract_year)
        due[key] = due.get(key, Decimal(0)) + payment.amount
    for item in expect.get("payments") or []:
        day = datetime.date.fromisoformat(item["due"])
        matches = {k: v for k, v in due.items() if k[0] == day and k[1] == item["line"]
                   and ("contract_year" not in item or k[2] == item["contract_year"])}
        got = sum(matches.values(), Decimal(0)) if matches else None
        year = msg(" (contract year {number})", number=item['contract_year']) if "contract_year" in item else ""
        if got is None:
            failures.append(msg("payment {line}{year} on {day}: expected {amount}, got no payment", line=item['line'],
                                year=year, day=day, amount=_amount(item['amount'])))
        elif got != _amount(item["amount"]):
            failures.append(msg("payment {line}{year} on {day}: expected {amount}, got {got}", line=item['line'],
                                year=year, day=day, amount=_amount(item['amount']), got=got))
    for field, totals in (("contract_years", schedule.by_contract_year()),
                          ("calendar_years", schedule.by_calendar_year())):
        for key, amount in (expect.get(field) or {}).items():
            got = totals.get(int(key))
            if got != _amount(amount):
                failures.append(msg("{what} {key}: expected {amount}, got {got}", what=_YEAR_KINDS[field], key=key,
                                    amount=_amount(amount), got=got))
    entitlements = {year.number: year.total for year in schedule.years}
    for key, amount in (expect.get("entitlements") or {}).items():
        got = entitlements.get(int(key))
        if got != _amount(amount):
            failures.append(msg("entitlement of contract year {key}: expected {amount}, got {got}", key=key,
                                amount=_amount(amount), got=got))
    if "total" in expect and schedule.total != _amount(expect["total"]):
        failures.append(msg("schedule total: expected {amount}, got {got}", amount=_amount(expect['total']),
                            got=schedule.total))
    codes = [note.code for note in schedule.notes]
    for code in expect.get("warnings") or []:
        if code not in codes:
            failures.append(msg("schedule warning {code}: expected, got {got}", code=code,
                                got=', '.join(codes) or msg("no warning")))
    return failures


def file_problem(path: str, error: InputError) -> CaseOutcome:
    """An outcome standing for a case file that could not be read."""
    first: Diagnostic | None = error.diagnostics[0] if error.diagnostics else None
    return CaseOutcome("(the file)", path, first.line if first else None, diagnostics=tuple(error.diagnostics))

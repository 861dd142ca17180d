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

from .diagnostic import Diagnostic, InputError
from .evaluate import Result, assess
from .library import Library, looks_like_path
from .profile import compile_profile, validate_profile
from .schedule import Schedule, build_schedule
from .schema import schema_diagnostics
from .paths import allowed_folder, confine
from .yaml_loader import load_document

__all__ = ["CaseOutcome", "collect_case_files", "run_case_file", "check_result", "check_schedule"]


@dataclasses.dataclass(frozen=True)
class CaseOutcome:
    """One case run: where it is, and what failed (nothing when it passed)."""

    name: str
    file: str
    line: int | None
    failures: tuple = ()  # texts: "expected ..., got ..."
    diagnostics: tuple = ()  # input problems that kept the case from running

    @property
    def passed(self) -> bool:
        return not self.failures and not self.diagnostics

    def report(self) -> str:
        """A readable account of a failed case."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        lines = [f"FAIL {where}: {self.name}"]
        lines += [f"  {failure}" for failure in self.failures]
        lines += [f"  {diagnostic}" for diagnostic in self.diagnostics]
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


def check_result(result: Result, expect: dict) -> list[str]:
    """What differs between ``result`` and the expectations of a case."""
    failures = []
    lines = {line.id: line for line in result.lines}

    def compare(what, expected, got):
        if expected != got:
            failures.append(f"{what}: expected {expected}, got {got}")

    if "ruleset" in expect:
        compare("ruleset", expect["ruleset"], result.ruleset.id)
    if "size" in expect:
        compare("size", expect["size"], result.size)
    if "contract_year" in expect:
        compare("contract_year", expect["contract_year"],
                result.contract_year.number if result.contract_year else None)
    if "total" in expect:
        compare("total", _amount(expect["total"]), result.total)
    for line_id, amount in (expect.get("lines") or {}).items():
        if line_id not in lines:
            failures.append(f"line {line_id}: expected {_amount(amount)}, but the line does not apply")
        else:
            compare(f"line {line_id}", _amount(amount), lines[line_id].amount)
    for line_id, amount in (expect.get("maxima") or {}).items():
        if line_id not in lines:
            failures.append(f"maximum of {line_id}: expected {_amount(amount)}, but the line does not apply")
        else:
            compare(f"maximum of {line_id}", _amount(amount), lines[line_id].maximum)
    for line_id in expect.get("absent") or []:
        if line_id in lines:
            failures.append(f"line {line_id}: expected not to apply, got {lines[line_id].amount}")
    for field, key in (("volets", "volet"), ("missions", "mission")):
        for value, amount in (expect.get(field) or {}).items():
            got = sum((line.amount for line in result.lines if getattr(line, key) == value), Decimal(0))
            compare(f"{key} {value}", _amount(amount), got)
    for line_id, tag in (expect.get("confidence") or {}).items():
        compare(f"confidence of {line_id}", tag, lines[line_id].confidence if line_id in lines else None)
    obligations = {o.id: o.status for o in result.obligations}
    for obligation_id, status in (expect.get("obligations") or {}).items():
        compare(f"obligation {obligation_id}", status, obligations.get(obligation_id))
    codes = [w.code for w in result.warnings]
    for code in expect.get("warnings") or []:
        if code not in codes:
            failures.append(f"warning {code}: expected, got {', '.join(codes) or 'no warning'}")
    for code in expect.get("no_warnings") or []:
        if code in codes:
            failures.append(f"warning {code}: not expected, got it")
    if "segments" in expect:
        got = [{"ruleset": s.ruleset, "from": s.start.isoformat(), "to": s.end.isoformat()} for s in result.segments]
        compare("segments", expect["segments"], got)
    if "contract" in expect:
        contract = result.contract_year.contract if result.contract_year else None
        compare("contract", expect["contract"], contract.number if contract else None)
    return failures


def run_case_file(path: str, library: Library | None = None, allow=()) -> list[CaseOutcome]:
    """Run every case of one file. Raises InputError when the file itself is invalid.

    A case's ``profile:`` or ``ruleset:`` path may name a YAML file under the case file's
    folder, or under one of the folders in ``allow`` (see :mod:`.paths`).
    """
    library = library or Library()
    folders = (allowed_folder(path),) + tuple(os.path.realpath(folder) for folder in allow)
    document = load_document(path)
    problems = schema_diagnostics(document, "test-case")
    if problems:
        raise InputError(problems)
    outcomes = []
    for index, case in enumerate(document.data["cases"]):
        case_path = ("cases", index)
        line = document.position(case_path)[0]
        try:
            outcomes.append(_run_case(document, case, case_path, library, line, folders))
        except InputError as error:
            outcomes.append(CaseOutcome(case["name"], path, line, diagnostics=tuple(error.diagnostics)))
    return outcomes


def _run_case(document, case, case_path, library, line, folders) -> CaseOutcome:
    profile_spec = case["profile"]
    if isinstance(profile_spec, str):
        profile_document = load_document(
            confine(profile_spec, document, case_path + ("profile",), folders))
    else:
        profile_document = document.subtree(case_path + ("profile",))
    ruleset_name = case.get("ruleset")
    if ruleset_name is not None and looks_like_path(ruleset_name):
        ruleset_name = confine(ruleset_name, document, case_path + ("ruleset",), folders)
    known = library.mission_ids() | (set(library.get(ruleset_name).missions) if ruleset_name else set())
    problems = validate_profile(profile_document, known)
    if problems:
        raise InputError(problems)
    profile = compile_profile(profile_document)
    failures = []
    as_if = case.get("as_if_in_force_from")
    if as_if is not None and ruleset_name is None:
        raise InputError([document.diagnostic(
            "E202", "as_if_in_force_from needs a ruleset: the text to apply from that date",
            case_path + ("as_if_in_force_from",))])
    timeline = library.timeline(ruleset_name, as_if_from=datetime.date.fromisoformat(as_if) if as_if else None,
                                renewal=bool(case.get("assume_renewal")))
    if "expect" in case:
        day = datetime.date.fromisoformat(case["date"])
        failures += check_result(assess(timeline, profile, day), case["expect"])
    if "schedule" in case:
        spec = case["schedule"]
        until = datetime.date.fromisoformat(spec["until"]) if "until" in spec else None
        failures += check_schedule(build_schedule(profile, timeline, until=until), spec)
    return CaseOutcome(case["name"], document.file, line, tuple(failures))


def check_schedule(schedule: Schedule, expect: dict) -> list[str]:
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
        year = f" (contract year {item['contract_year']})" if "contract_year" in item else ""
        if got is None:
            failures.append(f"payment {item['line']}{year} on {day}: expected {_amount(item['amount'])}, "
                            "got no payment")
        elif got != _amount(item["amount"]):
            failures.append(f"payment {item['line']}{year} on {day}: expected {_amount(item['amount'])}, got {got}")
    for field, totals in (("contract_years", schedule.by_contract_year()),
                          ("calendar_years", schedule.by_calendar_year())):
        for key, amount in (expect.get(field) or {}).items():
            got = totals.get(int(key))
            if got != _amount(amount):
                failures.append(f"{field[:-1].replace('_', ' ')} {key}: expected {_amount(amount)}, got {got}")
    entitlements = {year.number: year.total for year in schedule.years}
    for key, amount in (expect.get("entitlements") or {}).items():
        got = entitlements.get(int(key))
        if got != _amount(amount):
            failures.append(f"entitlement of contract year {key}: expected {_amount(amount)}, got {got}")
    if "total" in expect and schedule.total != _amount(expect["total"]):
        failures.append(f"schedule total: expected {_amount(expect['total'])}, got {schedule.total}")
    return failures


def file_problem(path: str, error: InputError) -> CaseOutcome:
    """An outcome standing for a case file that could not be read."""
    first: Diagnostic | None = error.diagnostics[0] if error.diagnostics else None
    return CaseOutcome("(the file)", path, first.line if first else None, diagnostics=tuple(error.diagnostics))

"""The money over time: every payment of a contract, from the rulesets' payment rules.

For each contract year, the year's entitlement is computed under the text in force
for it. A year inside which a text (or a provision with its own date) enters into
force is cut at that date: each part is evaluated under the text in force on its
first day, and each line's amount for the year is the sum of those evaluations
weighted by the days each part holds of the time the line runs (prorata temporis,
like a mission's first year). The payment rules of the text in force on the year's first day then say
when it is paid: each installment is its share of the year's amount, rounded half
up to the cent, and the last one is what remains, so that the payments of a year
add up exactly to its entitlement.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import ROUND_HALF_UP, Decimal

from .diagnostic import Diagnostic, EvaluationError, InputError, msg
from .evaluate import describe_segments, evaluate, mission_names
from .expressions import DECIMAL_CONTEXT, ExpressionFailure, describe_value, evaluate_expression, make_evaluator
from .helpers import PURE_FUNCTIONS, check_shares
from .profile import Profile
from .timeline import Timeline, combine, contract_years_of, part_weights, year_segments

__all__ = ["Payment", "YearEntitlement", "Schedule", "build_schedule", "calendar_year_differences", "year_segments"]  # year_segments: see timeline

_ZERO = Decimal(0)
_ONE_DAY = datetime.timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class Payment:
    due: datetime.date
    contract_year: int | None  # None for a payment before the contract
    line: str
    label: str
    mission: str | None
    volet: str
    installment: str
    amount: Decimal
    rule: str
    reference: str

    def to_dict(self) -> dict:
        return {"due": self.due.isoformat(), "contract_year": self.contract_year, "line": self.line,
                "label": self.label, "mission": self.mission, "volet": self.volet,
                "installment": self.installment, "amount": str(self.amount), "rule": self.rule,
                "reference": self.reference}


@dataclasses.dataclass(frozen=True)
class YearEntitlement:
    """What a contract year (or the time before the contract, number None) is entitled to."""

    number: int | None  # the year's rank from the first signature (6 is year 1 of a second contract)
    start: datetime.date
    end: datetime.date
    lines: dict  # line id -> amount
    segments: tuple  # (start, end, ruleset id)
    contract: int | None = None  # the contract's rank (1 for the first)
    year_in_contract: int | None = None  # the year within its contract, as formulas read it
    assumed: bool = False  # the contract comes from the renewal assumption

    @property
    def total(self) -> Decimal:
        return sum(self.lines.values(), _ZERO)


@dataclasses.dataclass(frozen=True)
class Schedule:
    profile: Profile
    years: tuple  # YearEntitlement
    payments: tuple  # Payment, by due date
    notes: tuple  # Diagnostic warnings: straddled years, evaluation warnings
    obligations: tuple = ()  # ObligationResult, at the schedule's last day
    as_of: datetime.date | None = None  # the day the obligations are reported at
    assumptions: tuple = ()  # texts: what the calendar rests on beyond the texts and the profile

    @property
    def total(self) -> Decimal:
        return sum((p.amount for p in self.payments), _ZERO)

    def by_contract_year(self) -> dict:
        totals: dict = {}
        for payment in self.payments:
            totals[payment.contract_year] = totals.get(payment.contract_year, _ZERO) + payment.amount
        return totals

    def by_calendar_year(self) -> dict:
        totals: dict = {}
        for payment in self.payments:
            totals[payment.due.year] = totals.get(payment.due.year, _ZERO) + payment.amount
        return dict(sorted(totals.items()))

    def by_due_date(self) -> dict:
        """{due date: {volet: amount}}, by date, the volets in the order they first appear."""
        totals: dict = {}
        for payment in self.payments:
            cell = totals.setdefault(payment.due, {})
            cell[payment.volet] = cell.get(payment.volet, _ZERO) + payment.amount
        return dict(sorted(totals.items()))


def calendar_year_differences(baseline: "Schedule", proposal: "Schedule") -> list:
    """Per calendar year any payment of either falls in, in order: ``{"year", "baseline", "proposal",
    "difference"}``, an amount 0.00 where a schedule pays nothing that year."""
    before, after = baseline.by_calendar_year(), proposal.by_calendar_year()
    none = Decimal("0.00")
    rows = []
    for year in sorted(set(before) | set(after)):
        a, b = before.get(year, none), after.get(year, none)
        rows.append({"year": year, "baseline": a, "proposal": b, "difference": b - a})
    return rows


def _weights(ruleset, result, start, end, part_start, part_end) -> dict:
    """Each line's share of one part of a cut year (:func:`.timeline.part_weights`), for a
    result whose lines have ``id``, ``amount`` and ``runs_from`` (the fast calendar's)."""
    return part_weights(ruleset.reads, [(line.id, line.amount, line.runs_from) for line in result.lines],
                        start, end, part_start, part_end)


def build_schedule(profile: Profile, timeline, change_days=None, *, until: datetime.date | None = None) -> Schedule:
    """Every payment of ``profile``'s contracts.

    ``timeline`` (a :class:`~.timeline.Timeline`) says which ruleset applies on each day
    and where contract years are cut; a bare ``resolve(day)`` function with its
    ``change_days`` is accepted too. ``until`` keeps the payments due on or before it,
    and is needed for contracts assumed by renewal. Raises EvaluationError when a
    formula fails, or a line has no payment rule.
    """
    if not isinstance(timeline, Timeline):
        timeline = Timeline(timeline, change_days or ())
    resolve, renewal = timeline.resolve, timeline.renewal
    years, payments, notes = [], [], []

    # Before the contract: what a validated letter of intent opens (an early-start aid).
    day = profile.letter_of_intent_validated
    ruleset = None
    if day is not None and (profile.contract_signed is None or day < profile.contract_signed):
        try:
            ruleset = resolve(day)
        except InputError:
            ruleset = None  # no text in force yet on that day: nothing is owed for it
    if ruleset is not None:
        result = evaluate(ruleset, profile, day, renewal=renewal)
        _keep_warnings(notes, result)
        lines = {line.id: line.amount for line in result.lines}
        if lines:
            last = profile.contract_signed - _ONE_DAY if profile.contract_signed else day
            entitlement = YearEntitlement(None, day, last, lines, ((day, last, ruleset.id),))
            years.append(entitlement)
            payments += _pay(profile, None, entitlement, {line.id: (ruleset, result, line) for line in result.lines})

    signed = profile.contract_signed
    if signed is None and not any(note.code == "W003" for note in notes):
        # As eval says it: without a signature there is no contract year, so nothing to pay.
        notes.append(Diagnostic("W003", msg("no contract_signed: no ACI contract yet, so no contract year"),
                                profile.file, severity="warning"))
    if signed is not None:
        duration = resolve(signed).contract_years or 0
        contract_years = contract_years_of(profile.signatures, duration, renewal and until is not None, until)
        for rank, year in enumerate(contract_years, 1):
            segments = timeline.segments(year)
            results = [evaluate(s.ruleset, profile, s.start, renewal=renewal) for s in segments]
            for result in results:
                _keep_warnings(notes, result)
            lines, _ = combine(year, [(s, [(line.id, line.amount, line.runs_from) for line in r.lines])
                                      for s, r in zip(segments, results)])
            entitlement = YearEntitlement(rank, year.start, year.end, lines,
                                          tuple((s.start, s.end, s.ruleset.id) for s in segments),
                                          year.contract.number, year.number, year.contract.assumed)
            years.append(entitlement)
            if len(segments) > 1:
                described = describe_segments(segments)
                notes.append(Diagnostic(
                    "W007", msg("contract year {number} ({start} to {end}) is cut where a text or a provision "
                                "enters into force: {parts}; each line counts each part prorata temporis",
                                number=rank, start=year.start, end=year.end, parts=described),
                    profile.file, severity="warning"))
            # Each line is paid by the rules of the first part of the year it appears in.
            details = {}
            for (segment, result) in reversed(list(zip(segments, results))):
                details.update({line.id: (segment.ruleset, result, line) for line in result.lines})
            payments += _pay(profile, rank, entitlement, details)

    if until is not None:
        payments = [p for p in payments if p.due <= until]
    payments.sort(key=lambda p: (p.due, p.contract_year or 0, p.line, p.installment))
    # The obligations as they stand on the last day the calendar covers.
    obligations, as_of = (), None
    contract_years = [y for y in years if y.number is not None]
    if contract_years:
        as_of = min(until, contract_years[-1].end) if until is not None else contract_years[-1].end
        final = evaluate(resolve(as_of), profile, as_of, renewal=renewal)
        _keep_warnings(notes, final)
        obligations = final.obligations
    return Schedule(profile, tuple(years), tuple(payments), tuple(notes), tuple(obligations), as_of,
                    tuple(timeline.assumptions()))


def _keep_warnings(notes: list, result) -> None:
    """Keep what eval warns about on the days the calendar evaluates (a variable part at 0
    for want of an achievement, a mission not in force yet...), each once.

    W007 is left out: the calendar says in its own W007 how it cuts a year.
    """
    seen = {(note.code, note.message) for note in notes}
    for warning in result.warnings:
        if warning.code != "W007" and (warning.code, warning.message) not in seen:
            notes.append(warning)
            seen.add((warning.code, warning.message))


def _pay(profile: Profile, number, entitlement: YearEntitlement, details: dict):
    """The installments of each line of a year, by the first payment rule that matches it.

    ``details`` maps each line id to (ruleset, result, line result) of the part of the
    year it is paid under.
    """
    payments = []
    for line_id, amount in entitlement.lines.items():
        ruleset, line_result, line = details[line_id]
        names = _names(line_result, profile, line)
        evaluator = make_evaluator(names, dict(PURE_FUNCTIONS))
        rule = None
        for candidate in ruleset.payments:
            if line.volet not in candidate.volets:
                continue
            if candidate.when is None or _compute(ruleset, candidate, "when", candidate.when, evaluator) is True:
                rule = candidate
                break
        if rule is None:
            raise EvaluationError([ruleset.positions.diagnostic(
                "E405", msg("no payment rule of ruleset '{ruleset}' pays line '{line}' (volet {volet}) in "
                            "contract year {number}", ruleset=ruleset.id, line=line_id, volet=line.volet,
                            number=number), ("payments",))])
        paid = _ZERO
        shares = [_compute(ruleset, rule, f"installments[{index}].share", installment.share, evaluator)
                  for index, installment in enumerate(rule.installments)]
        _check_shares(ruleset, rule, line_id, shares)
        for index, installment in enumerate(rule.installments):
            share = shares[index]
            due = _compute(ruleset, rule, f"installments[{index}].due", installment.due, evaluator)
            if not isinstance(due, datetime.date):
                raise EvaluationError([ruleset.positions.diagnostic(
                    "E402", msg("payment rule '{rule}': the due date gives {value}, not a date", rule=rule.id,
                                value=describe_value(due)),
                    rule.path + ("installments", index, "due"))])
            if index == len(rule.installments) - 1:
                part = amount - paid
            else:
                part = (amount * Decimal(share)).quantize(ruleset.quantum, rounding=ROUND_HALF_UP,
                                                          context=DECIMAL_CONTEXT)
            paid += part
            if part:
                payments.append(Payment(due, number, line_id, line.label, line.mission, line.volet,
                                        installment.label, part, rule.id, rule.reference))
    return payments


def _check_shares(ruleset, rule, line_id, shares):
    """Shares that do not pay the whole year are an error, not a silent top-up of the last one."""
    try:
        check_shares(shares)
    except ExpressionFailure as failure:
        raise EvaluationError([ruleset.positions.diagnostic(
            failure.code, msg("{problem} in payment rule '{rule}', paying line '{line}'", problem=failure.message,
                              rule=rule.id, line=line_id), rule.path + ("installments",))]) from None


def _names(result, profile: Profile, line) -> dict:
    """The names a payment rule reads for one line: what its evaluation read, with its mission's."""
    names = dict(result.environment)
    if line.mission is not None:
        names.update(mission_names(profile, line.mission, result.contract_year))
    return names


def _compute(ruleset, rule, field, expression, evaluator):
    try:
        return evaluate_expression(evaluator, expression)
    except ExpressionFailure as failure:
        raise EvaluationError([ruleset.positions.diagnostic(
            failure.code, msg("{problem} in payment rule '{rule}' ({field}: {formula}){hint}", problem=failure.message,
                              rule=rule.id, field=field, formula=expression.text,
                              hint=msg("; {hint}", hint=failure.hint) if failure.hint else ""),
            rule.path)]) from None


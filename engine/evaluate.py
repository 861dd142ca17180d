"""compile -> evaluate: one profile, one date, one compiled ruleset -> a :class:`Result`.

Recording stays apart from rendering: the result holds every number, and with
``explain=True`` a trace of what each formula read; the CLI decides how to show it.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import decimal
from decimal import ROUND_HALF_UP, Decimal

from .bind import binder_of, mission_values
from .diagnostic import Diagnostic, msg
from .expressions import DECIMAL_CONTEXT, ExpressionFailure, make_evaluator
from .helpers import PURE_FUNCTIONS, add_years
from .plan import SUM, check_amount, check_condition, check_date, check_day, plan_of, to_money
from .profile import Profile
from .recording import notify
from .records import record
from .ruleset import Ruleset, weakest
from .timeline import RENEWAL_ASSUMPTION, ContractYear, Timeline, combine, contract_year_on

__all__ = [
    "ContractYear",
    "LineResult",
    "ObligationResult",
    "Trace",
    "Result",
    "contract_year_of",
    "contract_end_of",
    "mission_names",
    "evaluate",
    "assess",
    "describe_segments",
    "SegmentShare",
]

_ZERO = Decimal(0)


def contract_year_of(signed: datetime.date | None, day: datetime.date, years: int | None):
    """The contract year ``day`` falls in, counting from the signature of one contract.

    Year k runs from the (k-1)-th anniversary to the day before the k-th; a
    signature on 29 February has its anniversaries on 28 February in common
    years. Returns None before the signature or after the last year.

    >>> contract_year_of(datetime.date(2020, 2, 29), datetime.date(2021, 2, 27), 5).number
    1
    >>> contract_year_of(datetime.date(2020, 2, 29), datetime.date(2021, 2, 28), 5).number
    2
    >>> contract_year_of(datetime.date(2020, 2, 29), datetime.date(2025, 2, 28), 5) is None
    True
    """
    return contract_year_on((signed,) if signed is not None else (), day, years)


def contract_end_of(signed: datetime.date | None, years: int | None) -> datetime.date | None:
    """The last day of a contract of ``years`` years signed on ``signed`` (None when unknown).

    >>> contract_end_of(datetime.date(2022, 3, 15), 5)
    datetime.date(2027, 3, 14)
    """
    if signed is None or years is None:
        return None
    return add_years(signed, years) - datetime.timedelta(days=1)


def mission_names(profile: Profile, mission: str, year: ContractYear | None) -> dict:
    """What a formula attached to ``mission`` reads of it, for a contract year (see :mod:`.bind`)."""
    return mission_values(profile, mission, year.key if year else None)


@record
class Trace:
    """What one line or definition read: its formulas and the values of their names."""

    formulas: dict  # "when" / "amount" / "maximum" / "expression" -> text
    values: dict  # name -> value read
    applied: bool
    reason: str | None = None  # for a line that does not apply: the part of its condition that is false


@record
class LineResult:
    """One funding line evaluated: its amount and maximum, whether it applies, and its trace."""

    id: str
    label: str
    mission: str | None
    volet: str
    amount: Decimal
    maximum: Decimal
    reference: str
    confidence: str
    applies: bool
    trace: Trace | None = None
    runs_from: datetime.date | None = None  # the day its amount accrues from (runs_from, else the mission's start)

    def to_dict(self) -> dict:
        return {
            "id": self.id, "label": self.label, "mission": self.mission, "volet": self.volet,
            "amount": str(self.amount), "maximum": str(self.maximum),
            "reference": self.reference, "confidence": self.confidence,
        }


@record
class ObligationResult:
    """One obligation evaluated: its deadline, when it was done, its status."""

    id: str
    label: str
    mission: str | None
    deadline: datetime.date
    done: datetime.date | None
    status: str  # met | late | missing | pending
    reference: str
    confidence: str

    def to_dict(self) -> dict:
        return {
            "id": self.id, "label": self.label, "mission": self.mission,
            "deadline": self.deadline.isoformat(), "done": self.done.isoformat() if self.done else None,
            "status": self.status, "reference": self.reference, "confidence": self.confidence,
        }


@record
class Result:
    """One profile evaluated at one date: every line, obligation, definition and warning."""

    ruleset: Ruleset
    profile: Profile
    date: datetime.date
    size: int | None
    size_confidence: str | None
    contract_year: ContractYear | None
    lines: tuple  # LineResult that apply
    skipped: tuple  # LineResult that do not apply (amount 0)
    obligations: tuple
    total: Decimal
    warnings: tuple  # Diagnostic with severity "warning"
    definitions: dict  # name -> value
    environment: dict = dataclasses.field(default_factory=dict, repr=False)  # every name the formulas read
    segments: tuple = ()  # SegmentShare: the parts of the contract year the amounts count
    assumptions: tuple = ()  # texts: what the result rests on beyond the texts and the profile

    def to_dict(self) -> dict:
        """The ``eval --format json`` document (DESIGN.md's output contract)."""
        contract = self.contract_year.contract if self.contract_year else None
        return {
            "ruleset": self.ruleset.id,
            "chain": list(self.ruleset.chain),
            "date": self.date.isoformat(),
            "size": self.size,
            "contract_year": self.contract_year.number if self.contract_year else None,
            "lines": [line.to_dict() for line in self.lines],
            "obligations": [o.to_dict() for o in self.obligations],
            "total": str(self.total),
            "warnings": [{"code": w.code, "message": w.message} for w in self.warnings],
            "segments": [segment.to_dict() for segment in self.segments],
            "contract": None if contract is None else {
                "number": contract.number, "signed": contract.signed.isoformat(),
                "end": contract.end.isoformat() if contract.end else None, "assumed": contract.assumed},
            "assumptions": list(self.assumptions),
        }


@record
class SegmentShare:
    """A part of the contract year: the text applied, its days, and each line's amount and share there."""

    start: datetime.date
    end: datetime.date
    ruleset: str
    days: int
    lines: dict  # line id -> (amount when evaluated on the part's first day, share of the year it counts)

    def to_dict(self) -> dict:
        return {"ruleset": self.ruleset, "from": self.start.isoformat(), "to": self.end.isoformat(),
                "days": self.days}


_CONSTANT_NAMES = ("True", "False", "None")


def _sum(values):
    # Line amounts, already rounded to the quantum: the decimal context bounds the sum.
    return sum(values, _ZERO)


class _Evaluation:
    """The reference backend: the plan's steps walked by simpleeval, with warnings and traces."""

    def __init__(self, ruleset: Ruleset, profile: Profile, day: datetime.date, explain: bool,
                 arrivals: dict | None = None, renewal: bool = False):
        self.arrivals = arrivals or {}
        self.renewal = renewal
        self.ruleset = ruleset
        self.plan = plan_of(ruleset)
        self.profile = profile
        self.day = day
        self.explain = explain
        self.warnings: list[Diagnostic] = list(ruleset.notes)  # what the text itself warns of (W020)
        self.quantum = ruleset.quantum

    def warn(self, code, message, path=()):
        document = self.profile.document
        if document is not None and path:
            self.warnings.append(document.diagnostic(code, message, path, severity="warning"))
        else:
            self.warnings.append(Diagnostic(code, message, self.profile.file, severity="warning"))

    def compute(self, formula, evaluator):
        """The value of one formula of the plan; its diagnostic when it cannot be computed."""
        try:
            with decimal.localcontext(DECIMAL_CONTEXT):
                return evaluator.eval(formula.text, previously_parsed=formula.tree)
        except Exception as exc:  # noqa: BLE001 — the plan's one translation of a failure
            raise formula.raised(exc, self.profile.name) from None

    def checked(self, formula, check, value):
        try:
            return check(value)
        except ExpressionFailure as failure:
            raise formula.failure(failure, self.profile.name) from None

    def _evaluator(self, values, functions):
        names = {slot.key: value for slot, value in zip(self.plan.slots, values)}
        table = {f"f_{name}": function for name, function in PURE_FUNCTIONS.items()}
        table.update(functions)
        table[SUM] = _sum
        return names, make_evaluator(names, table)

    def run(self) -> Result:
        ruleset, profile, day, plan = self.ruleset, self.profile, self.day, self.plan

        def basis(formula, values, functions):
            with decimal.localcontext(DECIMAL_CONTEXT):
                return self._evaluator(values, functions)[1].eval(formula.text, previously_parsed=formula.tree)

        env = binder_of(plan).bind(profile, day, self.renewal, basis)
        year, size_class = env.year, env.size_class
        size = size_class.taille if size_class is not None else None
        size_confidence = size_class.confidence if size_class is not None else None
        if size_class is not None and size_confidence not in ("confirmed", "proposed"):  # a proposal's own boundary is no doubt
            note = f" ({size_class.note})" if size_class.note else ""
            self.warn("W005", msg("taille {size} rests on a class boundary that is {confidence}{note}",
                                  size=size, confidence=size_confidence, note=note))

        if profile.contract_signed is None:
            self.warn("W003", msg("no contract_signed: no ACI contract yet, so no contract year"))
        elif day < profile.contract_signed:
            self.warn("W003", msg("the contract is signed on {signed}, after {day}",
                                  signed=profile.contract_signed, day=day), ("contract_signed",))
        elif year is None:
            ended = [s for s in profile.signatures if s <= day][-1]
            self.warn("W003", msg("out of contract on {day}: the {years}-year contract signed on {signed} ended "
                                  "on {end}; state the next contract in the profile (contracts:) or assume a "
                                  "renewal (--assume-renewal)", day=day, years=ruleset.contract_years,
                                  signed=ended, end=contract_end_of(ended, ruleset.contract_years)),
                      ("contract_signed",))
        elif year.contract.assumed:
            self.warn("W010", msg("contract {number} (from {signed} to {end}) is assumed, not stated in the "
                                  "profile: {assumption}", number=year.contract.number, signed=year.contract.signed,
                                  end=year.contract.end, assumption=RENEWAL_ASSUMPTION))
        self.check_missions(year)

        names, evaluator = self._evaluator(env.values, env.functions)
        applied, skipped, definitions = [], [], {}
        for step in plan.steps:
            if step.kind == "definition":
                value = self.compute(step.expression, evaluator)
                names[step.target.key] = value
                definitions[step.name] = value
                continue
            result = self.line(step, names, evaluator, env, size_confidence)
            names[step.target.key] = result.amount if result.applies else _ZERO
            names[step.maximum.key] = result.maximum if result.applies else _ZERO
            (applied if result.applies else skipped).append(result)

        position = {line.id: index for index, line in enumerate(ruleset.lines)}
        applied.sort(key=lambda r: position[r.id])
        skipped.sort(key=lambda r: position[r.id])
        obligations = tuple(self.obligations(evaluator, env))
        total = sum((r.amount for r in applied), _ZERO)
        return Result(
            ruleset=ruleset, profile=profile, date=day, size=size, size_confidence=size_confidence,
            contract_year=year, lines=tuple(applied), skipped=tuple(skipped), obligations=obligations,
            total=total.quantize(self.quantum, rounding=ROUND_HALF_UP), warnings=tuple(self.warnings),
            definitions=definitions, environment=self.environment(env, names),
        )

    def environment(self, env, names) -> dict:
        """Every name a formula of the ruleset may read, as this evaluation left them (payment rules
        and the coverage of test cases read them): the names of the last mission an item is bound to."""
        plan, ruleset = self.plan, self.ruleset
        named = binder_of(plan).names(env)
        named.update({name: parameter.value_for(env.size) for name, parameter in ruleset.parameters.items()})
        last = None
        for item in list(ruleset.order) + list(ruleset.obligations):
            if item.mission is not None:
                last = item.mission
        if last is not None:
            named.update(mission_values(self.profile, last, env.key))
        for step in plan.steps:
            named[step.name] = names[step.target.key]
        return named

    def check_missions(self, year):
        known = self.ruleset.missions
        for mission_id, state in self.profile.missions.items():
            path = ("missions", mission_id)
            if mission_id not in known:
                arrival = self.arrivals.get(mission_id)
                if arrival is not None and arrival[0] > self.day:
                    self.warn("W004", msg("mission '{mission}' is not in force on {day}: it applies from "
                                          "{start} ({text}); ignored until then", mission=mission_id,
                                          day=self.day, start=arrival[0], text=arrival[1]), path)
                else:
                    self.warn("W004", msg("mission '{mission}' is not a mission of ruleset '{ruleset}': ignored",
                                          mission=mission_id, ruleset=self.ruleset.id), path)
                continue
            signed = self.profile.contract_signed
            if state.started is not None and signed is not None and state.started < signed:
                self.warn("W001", msg("mission '{mission}' started on {started}, before the contract was "
                                      "signed on {signed}: its funding counts from the signature",
                                      mission=mission_id, started=state.started, signed=signed),
                          path + ("started",))

    def line(self, step, names, evaluator, env, size_confidence) -> LineResult:
        line, size = step.item, env.size
        applies = True
        if step.when is not None:
            applies = self.checked(step.when, check_condition, self.compute(step.when, evaluator))
        amount = maximum = _ZERO
        if applies:
            amount = self.checked(step.amount, self.amount if step.amount.gives == "amount" else self.money,
                                  self.compute(step.amount, evaluator))
            maximum = (self.checked(step.maximum_formula, self.money, self.compute(step.maximum_formula, evaluator))
                       if step.maximum_formula is not None else amount)
            if "achievement" in line.amount.names and line.mission is not None:
                state = self.profile.missions.get(line.mission)
                key = env.key
                measured = state is not None and state.indicators_earned(key) is not None
                if key is not None and not measured and (state is None or state.rate(key) is None):
                    if isinstance(key, tuple):  # a later contract: its years are keyed n.k in the profile
                        self.warn("W002", msg("no achievement given for year {number} of contract {contract} of "
                                              "mission '{mission}' (written '{contract}.{number}' in the profile; "
                                              "'{number}' is a year of the first contract): its {volet} part "
                                              "counts as 0", number=key[1], contract=key[0], mission=line.mission,
                                              volet=line.volet), ("missions", line.mission))
                    else:
                        self.warn("W002", msg("no achievement given for contract year {number} of mission "
                                              "'{mission}': its {volet} part counts as 0",
                                              number=key, mission=line.mission, volet=line.volet),
                                  ("missions", line.mission))
            if amount > maximum:
                self.warn("W006", msg("line '{line}' pays {amount}, above its maximum {maximum}",
                                      line=line.id, amount=amount, maximum=maximum))
        runs_from = None
        if applies:
            if step.runs_from is not None:
                runs_from = self.checked(step.runs_from, check_day, self.compute(step.runs_from, evaluator))
            elif step.started is not None:
                runs_from = names[step.started.key]
        confidence = self.ruleset.confidence[line.id].get(size, "confirmed")
        if line.id in self.ruleset.reads_taille and size_confidence is not None:
            confidence = weakest(confidence, size_confidence)
        trace = self.trace(step, names, applies, evaluator) if self.explain else None
        return LineResult(line.id, line.label, line.mission, line.volet, amount, maximum,
                          line.reference, confidence, applies, trace, runs_from)

    def money(self, value) -> Decimal:
        return to_money(value, self.quantum)

    def amount(self, value) -> Decimal:
        """A line's amount that may not be negative, checked, then rounded."""
        return to_money(check_amount(value), self.quantum)

    def trace(self, step, names, applied, evaluator) -> Trace:
        formulas = {f.field: f.text for f in (step.when, step.amount, step.maximum_formula) if f is not None}
        read = {}
        for formula in (step.when, step.amount, step.maximum_formula):
            if formula is not None:
                read.update(formula.reads)
        values = {name: names.get(read[name].key) for name in sorted(read) if name not in _CONSTANT_NAMES}
        reason = None
        if not applied and step.when is not None:
            reason = self.false_part(step.when, evaluator)
        return Trace(formulas, values, applied, reason)

    @staticmethod
    def false_part(condition, evaluator) -> str:
        """The first false part of an ``a and b and c`` condition, as written."""
        node, source = condition.tree, condition.source
        while isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            for part in node.values:
                try:
                    value = evaluator.eval(source, previously_parsed=part)
                except Exception:  # the full condition was computed; a part may not be alone
                    value = None
                if not value:
                    node = part
                    break
            else:
                break
        return ast.get_source_segment(source, node) or source

    def obligations(self, evaluator, env):
        for step in self.plan.obligations:
            obligation = step.item
            if step.when is not None:
                applies = self.checked(step.when, check_condition, self.compute(step.when, evaluator))
                if not applies:
                    continue
            deadline = self.compute(step.deadline, evaluator)
            done = self.compute(step.done, evaluator)
            deadline = self.checked(step.deadline, check_date, deadline)
            if done is not None:
                done = self.checked(step.done, check_date, done)
            if done is not None and done <= self.day:
                status = "met" if done <= deadline else "late"
            else:
                done = None
                status = "missing" if self.day > deadline else "pending"
            confidence = weakest(obligation.confidence, *(
                self.ruleset.parameters[n].confidence_for(env.size)
                for n in (obligation.deadline.names | obligation.done.names) if n in self.ruleset.parameters))
            yield ObligationResult(obligation.id, obligation.label, obligation.mission, deadline, done,
                                   status, obligation.reference, confidence)


def evaluate(ruleset: Ruleset, profile: Profile, day: datetime.date, *, explain: bool = False,
             arrivals: dict | None = None, renewal: bool = False) -> Result:
    """Evaluate ``profile`` under one ``ruleset`` on one ``day`` (one part of a contract year).

    ``renewal`` assumes a new contract at each end of the last one the profile states.
    Returns a :class:`Result`; with ``explain`` each line carries a :class:`Trace`.
    ``arrivals`` (mission -> (first day, text), :meth:`Library.mission_arrivals`) lets the
    warning about a mission of a text not yet in force say from when it applies.
    Raises :class:`EvaluationError` when a formula cannot be computed (division by
    zero, a type error), naming the line and the formula. :func:`assess` gives the
    entitlement of the whole contract year.
    """
    result = _Evaluation(ruleset, profile, day, explain, arrivals, renewal).run()
    notify(result)  # the coverage of test cases listens; nothing changes the result
    return result


def _line_order(rulesets) -> list:
    """The lines of the texts of a year in one order, whatever the date: the last text's order,
    each line only an earlier text has placed after the line it follows there."""
    order = [line.id for line in rulesets[-1].lines]
    for ruleset in reversed(rulesets[:-1]):
        previous = None
        for line in ruleset.lines:
            if line.id not in order:
                order.insert(order.index(previous) + 1 if previous is not None else 0, line.id)
            previous = line.id
    return order


def describe_segments(segments) -> list:
    """The parts of a cut contract year, each with its text and days, for a W007 message."""
    return [msg("{days} days under {text} ({start} to {end})", days=s.days, text=s.ruleset.id,
                start=s.start, end=s.end) for s in segments]


def assess(timeline: Timeline, profile: Profile, day: datetime.date, *, explain: bool = False,
           arrivals: dict | None = None) -> Result:
    """What ``profile`` is entitled to for the contract year holding ``day``, and the state on ``day``.

    The amounts are the contract year's: each part of the year (cut where a text or a
    provision enters into force, see :mod:`.timeline`) is evaluated on its first day
    under the text that applies then, and each line counts each part for its days, so
    every date of the year gives the same amounts. What belongs to the day itself (the
    text in force, the obligations) comes from the evaluation on ``day``. Outside a
    contract year, the evaluation on ``day``. Raises like :func:`evaluate`.
    """
    renewal = timeline.renewal
    ruleset = timeline.resolve(day)
    point = evaluate(ruleset, profile, day, explain=explain, renewal=renewal, arrivals=arrivals)
    notes = [Diagnostic(code, message, profile.file, severity="warning")
             for code, message in timeline.forced_notes(day, ruleset)]
    year = point.contract_year
    if year is None:
        return dataclasses.replace(point, warnings=point.warnings + tuple(notes),
                                   assumptions=tuple(timeline.assumptions((ruleset,))))
    segments = timeline.segments(year)
    # A proposal's own figures, of each text the year's amounts count, are said among the assumptions.
    assumptions = tuple(timeline.assumptions([segment.ruleset for segment in segments]))
    parts, results = [], []
    for segment in segments:
        result = point if (segment.start == day and segment.ruleset is ruleset) else evaluate(
            segment.ruleset, profile, segment.start, explain=explain, renewal=renewal, arrivals=arrivals)
        results.append(result)
        parts.append((segment, [(line.id, line.amount, line.runs_from) for line in result.lines]))
    amounts, shares = combine(year, parts)
    held = next(i for i, s in enumerate(segments) if s.start <= day <= s.end)
    # Each line as the part holding the day computed it, else as the last part it applies in.
    chosen: dict = {}
    for result in [r for i, r in enumerate(results) if i != held] + [results[held]]:
        chosen.update({line.id: line for line in result.lines})
    order = _line_order([segment.ruleset for segment in segments])
    # The year's maximum of a line counts each text's maximum for the same share as its amount.
    maxima: dict = {}
    for result, share in zip(results, shares):
        for line in result.lines:
            maxima[line.id] = maxima.get(line.id, _ZERO) + line.maximum * share[line.id][1]
    lines = tuple(dataclasses.replace(chosen[i], amount=amounts[i], maximum=maxima[i].quantize(
        ruleset.quantum, rounding=ROUND_HALF_UP)) for i in order if i in chosen)
    skipped = tuple(line for line in results[held].skipped if line.id not in chosen)
    warnings, seen = [], set()
    # A mission that a part of the year knows is not "ignored", though the day's text may not have it yet.
    year_missions = {mission for result in results for mission in result.ruleset.missions}
    for result in [point] + results:
        for warning in result.warnings:
            if warning.code == "W004" and warning.path[1:2] and warning.path[1] in year_missions:
                continue
            key = (warning.code, warning.path) if warning.code == "W004" else (warning.code, warning.message)
            if key not in seen:
                seen.add(key)
                warnings.append(warning)
    if len(segments) > 1:
        described = describe_segments(segments)
        warnings.append(Diagnostic(
            "W007", msg("contract year {number} ({start} to {end}) is cut where a text or a provision enters into "
                        "force: {parts}; each line counts each part for its days, on every date of the year (on "
                        "{day} the text in force is {text})", number=year.number, start=year.start, end=year.end,
                        parts=described, day=day, text=ruleset.id), profile.file, severity="warning"))
    shares_out = tuple(SegmentShare(s.start, s.end, s.ruleset.id, s.days, share)
                       for s, share in zip(segments, shares))
    total = sum(amounts.values(), _ZERO).quantize(ruleset.quantum, rounding=ROUND_HALF_UP)
    return dataclasses.replace(
        point, lines=lines, skipped=skipped, total=total, size=results[held].size,
        size_confidence=results[held].size_confidence, warnings=tuple(warnings + notes),
        segments=shares_out, assumptions=assumptions)

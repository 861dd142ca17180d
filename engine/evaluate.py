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

from .diagnostic import Diagnostic, EvaluationError, format_path, msg
from .expressions import DECIMAL_CONTEXT, ExpressionFailure, describe_value, evaluate_expression, make_evaluator
from .helpers import PURE_FUNCTIONS, add_years
from .profile import Profile, profile_functions, profile_names
from .recording import notify
from .ruleset import Definition, FundingLine, Ruleset, weakest

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
]

_ZERO = Decimal(0)


@dataclasses.dataclass(frozen=True)
class ContractYear:
    number: int
    start: datetime.date
    end: datetime.date  # last day, included


def contract_year_of(signed: datetime.date | None, day: datetime.date, years: int | None):
    """The contract year ``day`` falls in, counting from the signature.

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
    if signed is None or day < signed:
        return None
    number = day.year - signed.year + 1
    # The anniversary in day's year may still be ahead: step back until it is not.
    while number > 1 and add_years(signed, number - 1) > day:
        number -= 1
    while add_years(signed, number) <= day:
        number += 1
    if years is not None and number > years:
        return None
    start = add_years(signed, number - 1)
    end = add_years(signed, number) - datetime.timedelta(days=1)
    return ContractYear(number, start, end)


def contract_end_of(signed: datetime.date | None, years: int | None) -> datetime.date | None:
    """The last day of a contract of ``years`` years signed on ``signed`` (None when unknown).

    >>> contract_end_of(datetime.date(2022, 3, 15), 5)
    datetime.date(2027, 3, 14)
    """
    if signed is None or years is None:
        return None
    return add_years(signed, years) - datetime.timedelta(days=1)


def mission_names(profile: Profile, mission: str, year: ContractYear | None) -> dict:
    """What a formula attached to ``mission`` reads of it, for a contract year."""
    state = profile.missions.get(mission)
    number = year.number if year else None
    rate = state.achievement.get(number) if state is not None and number is not None else None
    return {
        "started": state.started if state else None,
        "deployed": state.deployed if state else None,
        "achievement": rate if rate is not None else _ZERO,
        "indicators_earned": state.indicators_earned(number) if state else None,
    }


@dataclasses.dataclass(frozen=True)
class Trace:
    """What one line or definition read: its formulas and the values of their names."""

    formulas: dict  # "when" / "amount" / "maximum" / "expression" -> text
    values: dict  # name -> value read
    applied: bool
    reason: str | None = None  # for a line that does not apply: the part of its condition that is false


@dataclasses.dataclass(frozen=True)
class LineResult:
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


@dataclasses.dataclass(frozen=True)
class ObligationResult:
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


@dataclasses.dataclass(frozen=True)
class Result:
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

    def to_dict(self) -> dict:
        """The ``eval --format json`` document (DESIGN.md's output contract)."""
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
        }


def _is_number(value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


class _Evaluation:
    def __init__(self, ruleset: Ruleset, profile: Profile, day: datetime.date, explain: bool,
                 arrivals: dict | None = None):
        self.arrivals = arrivals or {}
        self.ruleset = ruleset
        self.profile = profile
        self.day = day
        self.explain = explain
        self.warnings: list[Diagnostic] = []
        self.quantum = ruleset.quantum

    def warn(self, code, message, path=()):
        document = self.profile.document
        if document is not None and path:
            self.warnings.append(document.diagnostic(code, message, path, severity="warning"))
        else:
            self.warnings.append(Diagnostic(code, message, self.profile.file, severity="warning"))

    def fail(self, item, field, failure: ExpressionFailure, expression):
        path = item.path + (field,) if not isinstance(item, Definition) else item.path
        document = self.ruleset.document
        hint = msg("; {hint}", hint=failure.hint) if failure.hint else ""
        where = {"problem": failure.message, "name": getattr(item, "name", None) or item.id,
                 "path": document.describe(path) if document is not None else format_path(path),
                 "formula": expression.text, "profile": self.profile.name, "hint": hint}
        message = (msg("{problem} in line '{name}' ({path}: {formula}) for profile '{profile}'{hint}", **where)
                   if isinstance(item, FundingLine) else
                   msg("{problem} in item '{name}' ({path}: {formula}) for profile '{profile}'{hint}", **where))
        if document is None:
            raise EvaluationError([Diagnostic(failure.code, message, self.ruleset.source, path=path)])
        # At the node as written: a line inherited through an amendment is in its base's file.
        raise EvaluationError([document.diagnostic(failure.code, message, path)])

    def compute(self, item, field, expression, evaluator):
        try:
            return evaluate_expression(evaluator, expression)
        except ExpressionFailure as failure:
            self.fail(item, field, failure, expression)

    def run(self) -> Result:
        ruleset, profile, day = self.ruleset, self.profile, self.day
        names = profile_names(profile, day)
        year = contract_year_of(profile.contract_signed, day, ruleset.contract_years)
        functions = dict(PURE_FUNCTIONS)
        functions.update(profile_functions(profile, year.number if year else None))
        maxima: dict = {}

        def sum_of(table, field, *values):
            return sum((table.get(line.id, _ZERO) for line in ruleset.lines
                        if getattr(line, field) in values), _ZERO)

        functions["sum_lines"] = lambda field, *values: sum_of(names, field, *values)
        functions["sum_maxima"] = lambda field, *values: sum_of(maxima, field, *values)
        evaluator = make_evaluator(names, functions)
        for name, parameter in ruleset.parameters.items():
            if parameter.by_taille is None:  # the taille's basis may read these
                names[name] = parameter.value

        size, size_confidence = None, None
        if ruleset.taille is not None:
            basis = self.compute_basis(evaluator)
            size_class = ruleset.taille.classify(basis)
            if size_class is None:
                raise EvaluationError([ruleset.document.diagnostic(
                    "E403", msg("{value} is in no taille class of ruleset '{ruleset}'",
                                value=describe_value(basis), ruleset=ruleset.id),
                    ("taille", "classes"))])
            size, size_confidence = size_class.taille, size_class.confidence
            if size_confidence != "confirmed":
                note = f" ({size_class.note})" if size_class.note else ""
                self.warn("W005", msg("taille {size} rests on a class boundary that is {confidence}{note}",
                                      size=size, confidence=size_confidence, note=note))

        contract_end = contract_end_of(profile.contract_signed, ruleset.contract_years)
        if profile.contract_signed is None:
            self.warn("W003", msg("no contract_signed: no ACI contract yet, so no contract year"))
        elif day < profile.contract_signed:
            self.warn("W003", msg("the contract is signed on {signed}, after {day}",
                                  signed=profile.contract_signed, day=day), ("contract_signed",))
        elif year is None:
            self.warn("W003", msg("the {years}-year contract ended on {end}; give the renewed contract's "
                                  "signature date", years=ruleset.contract_years, end=contract_end),
                      ("contract_signed",))
        names.update({
            "taille": size,
            "contract_year": year.number if year else None,
            "contract_year_start": year.start if year else None,
            "contract_year_end": year.end if year else None,
            "contract_end": contract_end,
            "text_in_force": ruleset.in_force,
        })
        for name, parameter in ruleset.parameters.items():
            if parameter.by_taille is not None:
                names[name] = parameter.value_for(size)

        self.check_missions(year)
        self.check_straddles(year)

        applied, skipped, definitions = [], [], {}
        for item in ruleset.order:
            self.bind_mission(names, item, year)
            if isinstance(item, Definition):
                value = self.compute(item, "expression", item.expression, evaluator)
                names[item.name] = value
                definitions[item.name] = value
                continue
            result = self.line(item, names, evaluator, size, size_confidence)
            names[item.id] = result.amount if result.applies else _ZERO
            maxima[item.id] = result.maximum if result.applies else _ZERO
            (applied if result.applies else skipped).append(result)

        position = {line.id: index for index, line in enumerate(ruleset.lines)}
        applied.sort(key=lambda r: position[r.id])
        skipped.sort(key=lambda r: position[r.id])
        obligations = tuple(self.obligations(names, evaluator, year))
        total = sum((r.amount for r in applied), _ZERO)
        return Result(
            ruleset=ruleset, profile=profile, date=day, size=size, size_confidence=size_confidence,
            contract_year=year, lines=tuple(applied), skipped=tuple(skipped), obligations=obligations,
            total=total.quantize(self.quantum, rounding=ROUND_HALF_UP), warnings=tuple(self.warnings),
            definitions=definitions, environment=names,
        )

    def compute_basis(self, evaluator):
        taille = self.ruleset.taille
        document = self.ruleset.document
        try:
            value = evaluate_expression(evaluator, taille.basis)
        except ExpressionFailure as failure:
            raise EvaluationError([document.diagnostic(
                failure.code, msg("{problem} in taille.basis ({formula}) for profile '{profile}'{hint}",
                                  problem=failure.message, formula=taille.basis.text, profile=self.profile.name,
                                  hint=msg("; {hint}", hint=failure.hint) if failure.hint else ""),
                ("taille", "basis"))]) from None
        if not _is_number(value):
            raise EvaluationError([document.diagnostic(
                "E402", msg("taille.basis gives {value}, not a number", value=describe_value(value)),
                ("taille", "basis"))])
        return value

    def bind_mission(self, names, item, year):
        if item.mission is not None:
            names.update(mission_names(self.profile, item.mission, year))

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

    def check_straddles(self, year):
        """Explain a contract year that a text, or a provision, enters into force within."""
        if year is None:
            return
        ruleset = self.ruleset
        for (previous, _), (name, start) in zip(ruleset.history, ruleset.history[1:]):
            if year.start < start <= year.end:
                self.warn("W007", msg("contract year {number} ({start} to {end}) straddles the entry into "
                                      "force of {text} on {day}: on {date} the text applied is {applied}; "
                                      "the days before {day} fall under {previous}",
                                      number=year.number, start=year.start, end=year.end, text=name, day=start,
                                      date=self.day, applied=ruleset.id, previous=previous))
        for provision in ruleset.provisions:
            if year.start < provision.day <= year.end:
                where = {"text": provision.ruleset, "provision": provision.description, "day": provision.day,
                         "number": year.number, "start": year.start, "end": year.end, "date": self.day}
                self.warn("W007", msg("{text}: {provision} enters into force on {day}, inside contract year "
                                      "{number} ({start} to {end}); on {date} it is in force", **where)
                          if provision.day <= self.day else
                          msg("{text}: {provision} enters into force on {day}, inside contract year "
                              "{number} ({start} to {end}); on {date} it is not yet in force", **where))

    def line(self, line: FundingLine, names, evaluator, size, size_confidence) -> LineResult:
        applies = True
        if line.when is not None:
            applies = self.compute(line, "when", line.when, evaluator)
            if not isinstance(applies, bool):
                self.fail(line, "when", ExpressionFailure(
                    "E402", msg("the condition gives {value}, not true or false", value=describe_value(applies))), line.when)
        amount = maximum = _ZERO
        if applies:
            amount = self.money(line, "amount", line.amount, evaluator)
            maximum = (self.money(line, "maximum", line.maximum, evaluator)
                       if line.maximum is not None else amount)
            if "achievement" in line.amount.names and line.mission is not None:
                state = self.profile.missions.get(line.mission)
                number = names.get("contract_year")
                measured = state is not None and state.indicators_earned(number) is not None
                if number is not None and not measured and (state is None or number not in state.achievement):
                    self.warn("W002", msg("no achievement given for contract year {number} of mission "
                                          "'{mission}': its {volet} part counts as 0",
                                          number=number, mission=line.mission, volet=line.volet),
                              ("missions", line.mission))
            if amount > maximum:
                self.warn("W006", msg("line '{line}' pays {amount}, above its maximum {maximum}",
                                      line=line.id, amount=amount, maximum=maximum))
        elif line.maximum is not None:
            maximum = _ZERO
        runs_from = None
        if applies:
            if line.runs_from is not None:
                runs_from = self.compute(line, "runs_from", line.runs_from, evaluator)
                if runs_from is not None and not isinstance(runs_from, datetime.date):
                    self.fail(line, "runs_from", ExpressionFailure(
                        "E402", msg("gives {value}, not a date", value=describe_value(runs_from))), line.runs_from)
            elif line.mission is not None:
                runs_from = names.get("started")
        confidence = self.ruleset.confidence[line.id].get(size, "confirmed")
        if line.id in self.ruleset.reads_taille and size_confidence is not None:
            confidence = weakest(confidence, size_confidence)
        trace = self.trace(line, names, applies, evaluator) if self.explain else None
        return LineResult(line.id, line.label, line.mission, line.volet, amount, maximum,
                          line.reference, confidence, applies, trace, runs_from)

    def money(self, line, field, expression, evaluator) -> Decimal:
        value = self.compute(line, field, expression, evaluator)
        if not _is_number(value) or isinstance(value, Decimal) and not value.is_finite():
            self.fail(line, field, ExpressionFailure(
                "E402", msg("gives {value}, not an amount", value=describe_value(value))), expression)
        try:
            return Decimal(value).quantize(self.quantum, rounding=ROUND_HALF_UP, context=DECIMAL_CONTEXT)
        except decimal.InvalidOperation:
            self.fail(line, field, ExpressionFailure(
                "E402", msg("gives {value}, too large for an amount", value=describe_value(value))), expression)

    def trace(self, line, names, applied, evaluator) -> Trace:
        formulas = {field: getattr(line, field).text for field in ("when", "amount", "maximum")
                    if getattr(line, field) is not None}
        read = set()
        for field in ("when", "amount", "maximum"):
            expression = getattr(line, field)
            if expression is not None:
                read |= expression.names
        values = {name: names.get(name) for name in sorted(read) if name not in ("True", "False", "None")}
        reason = None
        if not applied and line.when is not None:
            reason = self.false_part(line.when, evaluator)
        return Trace(formulas, values, applied, reason)

    @staticmethod
    def false_part(condition, evaluator) -> str:
        """The first false part of an ``a and b and c`` condition, as written."""
        node, source = condition.node, condition.source
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

    def obligations(self, names, evaluator, year):
        for obligation in self.ruleset.obligations:
            self.bind_mission(names, obligation, year)
            if obligation.when is not None:
                applies = self.compute(obligation, "when", obligation.when, evaluator)
                if not isinstance(applies, bool):
                    self.fail(obligation, "when", ExpressionFailure(
                        "E402", msg("the condition gives {value}, not true or false", value=describe_value(applies))), obligation.when)
                if not applies:
                    continue
            deadline = self.compute(obligation, "deadline", obligation.deadline, evaluator)
            done = self.compute(obligation, "done", obligation.done, evaluator)
            for field, value, may_be_none in (("deadline", deadline, False), ("done", done, True)):
                if not (isinstance(value, datetime.date) or (may_be_none and value is None)):
                    self.fail(obligation, field, ExpressionFailure(
                        "E402", msg("gives {value}, not a date", value=describe_value(value))),
                        getattr(obligation, field))
            if done is not None and done <= self.day:
                status = "met" if done <= deadline else "late"
            else:
                done = None
                status = "missing" if self.day > deadline else "pending"
            confidence = weakest(obligation.confidence, *(
                self.ruleset.parameters[n].confidence_for(names.get("taille"))
                for n in (obligation.deadline.names | obligation.done.names) if n in self.ruleset.parameters))
            yield ObligationResult(obligation.id, obligation.label, obligation.mission, deadline, done,
                                   status, obligation.reference, confidence)


def evaluate(ruleset: Ruleset, profile: Profile, day: datetime.date, *, explain: bool = False,
             arrivals: dict | None = None) -> Result:
    """Evaluate ``profile`` under ``ruleset`` on ``day``.

    Returns a :class:`Result`; with ``explain`` each line carries a :class:`Trace`.
    ``arrivals`` (mission -> (first day, text), :meth:`Library.mission_arrivals`) lets the
    warning about a mission of a text not yet in force say from when it applies.
    Raises :class:`EvaluationError` when a formula cannot be computed (division by
    zero, a type error), naming the line and the formula.
    """
    result = _Evaluation(ruleset, profile, day, explain, arrivals).run()
    notify(result)  # the coverage of test cases listens; nothing changes the result
    return result

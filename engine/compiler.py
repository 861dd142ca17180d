"""validate -> compile: from a ruleset document to a :class:`~.ruleset.Ruleset`.

``validate_ruleset`` runs the JSON Schema; ``compile_ruleset`` then parses every
expression once, checks the names each may read, orders definitions and lines
so that each comes after what it reads (a cycle is a diagnostic), checks the
size table and the dates, and precomputes each line's confidence per taille.
Both report every problem they find, each at its line and column.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from . import aggregates
from .aggregates import AGGREGATES, CONDITION_NAMES, LINE_AGGREGATES, MISSION_AGGREGATES
from .crosstext import CROSS_TEXT_FUNCTIONS
from .diagnostic import Diagnostic, InputError, msg, suggest
from .expressions import Expression, parse_expression
from .helpers import LINE_FIELDS, LINE_FUNCTIONS, MISSION_FUNCTIONS, PURE_FUNCTIONS
from .names import BASIS_NAMES, FUNCTION_NAMES, MISSION_NAMES, PROFILE_NAMES  # the one table of readable names
from .plausible import check_plausible, plausible_ranges
from .ruleset import (
    AnnualMaximum,
    Definition,
    FundingLine,
    Installment,
    Mission,
    Obligation,
    Parameter,
    PaymentRule,
    Ruleset,
    SizeClass,
    Taille,
    weakest,
)
from .schema import schema_diagnostics
from .yaml_loader import Document, Positions

__all__ = [
    "PROFILE_NAMES",
    "MISSION_NAMES",
    "BASIS_NAMES",
    "FUNCTION_NAMES",
    "load_ruleset",
    "validate_ruleset",
    "compile_ruleset",
]

# Functions whose arguments are all literal texts, read when the ruleset is compiled.
_SUMS = LINE_FUNCTIONS + tuple(LINE_AGGREGATES)
_CONSTANTS = ("True", "False", "None")
_FUNCTIONS = frozenset(FUNCTION_NAMES)
# What a name may be given to, as E207 says it.
_KINDS = {"parameter": msg("parameter"), "definition": msg("definition"), "line": msg("line")}


def load_ruleset(filename, day: datetime.date | None = None) -> Ruleset:
    """Read, validate and compile one ruleset file, with the texts it amends.

    ``day`` None applies every provision; otherwise those in force on ``day``.
    Raises InputError with every problem.
    """
    from .library import Library  # the library resolves amendment chains

    return Library().get(str(filename), day)


def validate_ruleset(document: Document) -> list[Diagnostic]:
    """Every problem of a ruleset document against ``schemas/ruleset.schema.json``."""
    return schema_diagnostics(document, "ruleset")


def _date(value):
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def _value(value):
    """A parameter's value: a date from its text, else the number or boolean as read."""
    if isinstance(value, str):
        return datetime.date.fromisoformat(value)
    return value


def _annual_maximum(spec) -> AnnualMaximum | None:
    if spec is None:
        return None
    return AnnualMaximum(spec["label"], tuple(spec["volets"]), spec["reference"], spec.get("note"))


class _Compiler:
    def __init__(self, document: Document, history=None, provisions=()):
        self.doc = document
        self.data = document.data
        self.problems: list[Diagnostic] = []
        self.history = history or ((document.data["id"], _date(document.data["dates"]["in_force"])),)
        self.provisions = tuple(provisions)

    def where(self, path) -> str:
        """How a message names a node: its path in the file it was written in."""
        return self.doc.describe(path)

    def error(self, code, message, path, *, key=False):
        self.problems.append(self.doc.diagnostic(code, message, path, key=key))

    # -- pieces ------------------------------------------------------------------

    def parameters(self) -> dict:
        result = {}
        for name, spec in (self.data.get("parameters") or {}).items():
            path = ("parameters", name)
            by_taille = None
            if "by_taille" in spec:
                by_taille = {int(k): _value(v) for k, v in spec["by_taille"].items()}
            confidence = spec["confidence"]
            if isinstance(confidence, dict):
                confidence = {int(k): v for k, v in confidence.items()}
                if by_taille is not None:
                    for taille in confidence:
                        if taille not in by_taille:
                            self.error("E303", msg("parameter '{name}' gives a confidence for taille {taille} but no value",
                                                          name=name, taille=taille), path + ("confidence", str(taille)), key=True)
            self.check_cents(name, spec, path)
            check_plausible(self, name, spec, path)  # the ``plausible`` field (engine/plausible.py)
            ranges, reason = plausible_ranges(self.doc, spec, path)
            result[name] = Parameter(
                name=name, label=spec.get("label"), unit=spec.get("unit"),
                value=_value(spec.get("value")), by_taille=by_taille,
                reference=spec["reference"], confidence=confidence, note=spec.get("note"), path=path,
                ranges=ranges, range_reason=reason,
            )
        return result

    def check_cents(self, name, spec, path):
        """Euro amounts are exact to the cent (the ruleset's rounding quantum)."""
        if spec.get("unit") not in (None, "EUR"):
            return
        quantum = Decimal((self.data.get("rounding") or {}).get("quantum", "0.01"))
        cells = [((("value",)), spec.get("value"))] if "value" in spec else []
        cells += [(("by_taille", key), value) for key, value in (spec.get("by_taille") or {}).items()]
        for where, value in cells:
            if isinstance(value, Decimal) and value != value.quantize(quantum):
                self.error("E204", msg("parameter '{name}': {value} is not an amount in whole cents "
                                       "(the ruleset rounds to {quantum})", name=name, value=value, quantum=quantum),
                           path + where)

    def taille(self, parameters: dict) -> Taille | None:
        spec = self.data.get("taille")
        if spec is None:
            return None
        path = ("taille",)
        classes = []
        for index, item in enumerate(spec["classes"]):
            item_path = path + ("classes", index)
            number = item["taille"]
            low, high = item.get("min"), item.get("max")
            if low is not None and high is not None and high < low:
                self.error("E301", msg("taille {number}: max {high} is below min {low}", number=number, high=high, low=low),
                           item_path)
            classes.append((index, SizeClass(number, low if low is not None else 0, high,
                                             item.get("confidence", spec["confidence"]), item.get("note"))))
        classes.sort(key=lambda pair: pair[1].low)
        for (index_a, a), (index_b, b) in zip(classes, classes[1:]):
            where = path + ("classes", index_b)
            if a.high is None:
                self.error("E301", msg("taille {a} has no max, so taille {b} can never apply", a=a.taille, b=b.taille),
                           path + ("classes", index_a))
            elif b.low <= a.high:
                self.error("E301", msg("tailles {a} and {b} overlap: {low} is in both", a=a.taille, b=b.taille, low=b.low),
                           where)
            elif b.low > a.high + 1:
                self.error("E301", msg("gap between taille {a} and {b}: {first} to {last} are in no class",
                                       a=a.taille, b=b.taille, first=a.high + 1, last=b.low - 1), where)
        if classes and classes[-1][1].high is not None:
            last_index, last = classes[-1]
            self.error("E301", msg("taille {taille} has a max: values above {high} are in no class",
                                   taille=last.taille, high=last.high),
                       path + ("classes", last_index))
        scalars = {name for name, parameter in parameters.items() if parameter.by_taille is None}
        basis = self.expression(spec["basis"], path + ("basis",), set(BASIS_NAMES) | scalars)
        if basis is None:
            return None
        for function in sorted(basis.functions & set(_SUMS)):
            # The taille comes first: every line's amount may depend on it.
            self.error("E103", msg("{function}() reads the lines' amounts, which are computed after the "
                                   "taille: {where} cannot call it", function=function,
                                   where=self.where(path + ('basis',))), path + ("basis",))
            return None
        return Taille(basis, tuple(c for _, c in classes), spec["reference"], spec["confidence"])

    def missions(self) -> dict:
        result = {}
        for index, spec in enumerate(self.data.get("missions") or []):
            path = ("missions", index)
            if spec["id"] in result:
                self.error("E206", msg("mission '{id}' is defined twice", id=spec['id']), path + ("id",))
                continue
            result[spec["id"]] = Mission(spec["id"], spec["label"], spec["kind"], spec.get("reference"),
                                         _date(spec.get("in_force")))
        return result

    def expression(self, value, path, known_names, missions=None) -> Expression | None:
        if not isinstance(known_names, frozenset):  # the whole ruleset's names arrive built once
            known_names = frozenset(known_names) | frozenset(_CONSTANTS)
        expression, problems = parse_expression(value, known_names=known_names, known_functions=_FUNCTIONS)
        text = str(value)
        for problem in problems:
            # The problem's place in the stripped text, as an index into the scalar's value.
            lead = len(text) - len(text.lstrip())
            lines = text.strip().split("\n")
            index = lead + sum(len(l) + 1 for l in lines[:problem.line_offset]) + problem.column
            diagnostic = self.doc.diagnostic(
                problem.code, msg("{problem} in {where}", problem=problem.message, where=self.where(path)), path,
                index=index)
            self.problems.append(dataclasses.replace(diagnostic, subject=problem.name))
        if expression is not None:
            self.check_line_calls(expression, path)
            self.check_literal_calls(expression, path, text)
        if expression is not None and expression.functions & set(MISSION_AGGREGATES):
            expression = self.expand_missions(expression, path, known_names, missions, text)
        if expression is not None and missions is not None:
            for function, argument, column in expression.literal_arguments:
                if function in MISSION_FUNCTIONS and argument not in missions:
                    guess = suggest(str(argument), missions)
                    hint = msg(" (did you mean '{guess}'?)", guess=guess) if guess else ""
                    lead = len(text) - len(text.lstrip())
                    self.problems.append(self.doc.diagnostic(
                        "E208", msg("unknown mission '{mission}' in {where}{hint}", mission=argument, where=self.where(path),
                                   hint=hint), path,
                        index=lead + column))
        return expression

    def check_line_calls(self, expression, path):
        for function, arguments, _ in expression.calls:
            if function not in _SUMS:
                continue
            if not arguments or arguments[0] not in LINE_FIELDS or not all(
                    isinstance(a, str) for a in arguments):
                self.error("E103", msg("{function}() takes a field ({fields}) then the values to sum, all written as "
                                       "texts, in {where}", function=function,
                                       fields=', '.join(repr(f) for f in LINE_FIELDS), where=self.where(path)), path)

    def check_literal_calls(self, expression, path, text):
        """Arguments an analyst writes as literals, checked before any profile is read."""
        lead = len(text) - len(text.lstrip())
        for node in aggregates.ast.walk(expression.node):
            if not isinstance(node, aggregates.ast.Call):
                continue
            function, arguments = node.func.id, node.args
            index = lead + node.col_offset - (1 if node.lineno == 1 else 0)
            if (function in ("round_down", "round_half_up") and len(arguments) == 2
                    and isinstance(arguments[1], aggregates.ast.Constant)):
                try:
                    PURE_FUNCTIONS[function](0, arguments[1].value)
                except (TypeError, ValueError):
                    self.problems.append(self.doc.diagnostic("E103", msg(
                        "{function}() rounds to a power of ten such as '0.01', 1 or 100, not {value} in {where}",
                        function=function, value=repr(arguments[1].value), where=self.where(path)), path,
                        index=index))
            if function in ("min", "max") and len(arguments) < 2:
                self.problems.append(self.doc.diagnostic("E103", msg(
                    "{function}() compares two values or more in {where}", function=function,
                    where=self.where(path)), path, index=index))
            if function in CROSS_TEXT_FUNCTIONS:
                literal = all(isinstance(a, aggregates.ast.Constant) for a in arguments)
                self.check_cross_text_call(function, tuple(a.value for a in arguments) if literal else None,
                                           path, index)

    def check_cross_text_call(self, function, arguments, path, index):
        declared = self.data.get("other_texts") or {}
        wanted = 1 if function == "text_total" else 2
        if arguments is None or len(arguments) != wanted or not all(isinstance(a, str) for a in arguments):
            self.problems.append(self.doc.diagnostic("E103", msg(
                "{function}() takes {count} texts: the name of another text under other_texts{rest}, in {where}",
                function=function, count=wanted, rest="" if wanted == 1 else msg(", then an id"),
                where=self.where(path)), path, index=index))
            return
        if arguments[0] not in declared:
            guess = suggest(arguments[0], declared)
            hint = msg(" (did you mean '{guess}'?)", guess=guess) if guess else msg(
                ": declare it under other_texts (a name: a ruleset id or file)")
            self.problems.append(self.doc.diagnostic("E102", msg(
                "{function}(): no other text is named '{name}'{hint} in {where}", function=function,
                name=arguments[0], hint=hint, where=self.where(path)), path, index=index))

    def expand_missions(self, expression, path, known_names, missions, text):
        """count_missions / any_mission / all_missions, written out over the text's missions."""
        lead = len(text) - len(text.lstrip())
        if missions is None:
            self.error("E103", msg("{where} cannot count over the missions (the taille comes before them)",
                                   where=self.where(path)), path)
            return None
        condition_names = (frozenset(known_names) - {"indicators_earned"}) | frozenset(CONDITION_NAMES)
        functions = frozenset(FUNCTION_NAMES) - set(AGGREGATES)
        replaced = {}
        for call in aggregates.mission_calls(expression):
            column = lead + call.col_offset - (1 if call.lineno == 1 else 0)
            arguments = call.args
            kinds = [a.value for a in arguments[1:] if isinstance(a, aggregates.ast.Constant)]
            if (not arguments or not all(isinstance(a, aggregates.ast.Constant) and isinstance(a.value, str)
                                         for a in arguments)):
                self.problems.append(self.doc.diagnostic("E103", msg(
                    "{function}() takes a condition written as a text, then the kinds of mission to count "
                    "(optional), all as texts: {function}('achievement >= 0.9', 'socle'), in {where}",
                    function=call.func.id, where=self.where(path)), path, index=column))
                return None
            unknown = [k for k in kinds if k not in ("socle", "optionnelle")]
            if unknown:
                self.problems.append(self.doc.diagnostic("E204", msg(
                    "{function}(): '{kind}' is not a kind of mission (socle, optionnelle) in {where}",
                    function=call.func.id, kind=unknown[0], where=self.where(path)), path, index=column))
                return None
            condition, problems = parse_expression(arguments[0].value, known_names=condition_names,
                                                   known_functions=functions)
            if problems:
                for problem in problems:
                    hint = (msg("; a count over the missions reads started, deployed and achievement, not "
                                "indicators_earned") if problem.name == "indicators_earned" else "")
                    self.problems.append(self.doc.diagnostic(problem.code, msg(
                        "{problem} in the condition of {function}() in {where}{hint}", problem=problem.message,
                        function=call.func.id, where=self.where(path), hint=hint), path,
                        index=column + len(call.func.id) + 2 + problem.column))
                return None
            chosen = [m.id for m in missions.values() if not kinds or m.kind in kinds]
            if len(chosen) * (len(list(aggregates.ast.walk(condition.node))) + 2) > aggregates.MAX_EXPANDED_PARTS:
                self.problems.append(self.doc.diagnostic("E104", msg(
                    "{function}() over {count} missions makes a formula of more than {limit} parts in {where}",
                    function=call.func.id, count=len(chosen), limit=aggregates.MAX_EXPANDED_PARTS,
                    where=self.where(path)), path, index=column))
                return None
            replaced[id(call)] = aggregates.expand_missions(call, condition.node, chosen)

        class _Swap(aggregates.ast.NodeTransformer):
            def visit_Call(self, node):
                if id(node) in replaced:
                    return replaced[id(node)]
                self.generic_visit(node)
                return node

        tree = _Swap().visit(expression.node)
        rebuilt = aggregates.rebuild(expression, tree)
        if rebuilt is None:
            self.error("E104", msg("{where} expands to more than {limit} parts", where=self.where(path),
                                   limit=aggregates.MAX_EXPANDED_PARTS), path)
        return rebuilt

    def check_line_sums(self, definitions, lines, missions):
        """sum_lines('volet', 'fixee') would silently sum nothing: each value must select a line."""
        fields: dict = {}
        kinds = {mission.id: mission.kind for mission in missions.values()}
        formulas = [(d.path, d.expression) for d in definitions.values()]
        formulas += [(line.path + (field,), getattr(line, field)) for line in lines
                     for field in ("when", "amount", "maximum", "runs_from")]
        for path, expression in formulas:
            for function, arguments, _ in (expression.calls if expression is not None else ()):
                if function not in _SUMS or not arguments or arguments[0] not in LINE_FIELDS:
                    continue
                field, values = arguments[0], arguments[1:]
                if field not in fields:
                    fields[field] = {kinds.get(line.mission) if field == "kind" else getattr(line, field)
                                     for line in lines}
                present = fields[field]
                for value in values:
                    if value not in present:
                        guess = suggest(str(value), {str(v) for v in present if v is not None})
                        hint = msg(" (did you mean '{guess}'?)", guess=guess) if guess else ""
                        found = self.doc.diagnostic("E102", msg(
                            "{function}(): no line has {field} '{value}'{hint} in {where}", function=function,
                            field=field, value=value, hint=hint, where=self.where(path)), path)
                        # A line or mission selected by id is a name: one an amendment removed is
                        # reported at its removal (engine/library.py).
                        subject = str(value) if field in ("id", "mission") else None
                        self.problems.append(dataclasses.replace(found, subject=subject))

    def expand_lines(self, definitions, lines, obligations, payments, missions):
        """sum_lines('kind', ...) and sum_lines_except(...) as sums over the ids they select."""
        kinds = {mission.id: mission.kind for mission in missions.values()}

        def expanded(expression, path, itself=None):
            if expression is None or not aggregates.needs_line_expansion(expression):
                return expression
            rebuilt = aggregates.rebuild(expression, aggregates.expand_lines(expression.node, lines, kinds, itself))
            if rebuilt is None:
                self.error("E104", msg("{where} expands to more than {limit} parts", where=self.where(path),
                                       limit=aggregates.MAX_EXPANDED_PARTS), path)
                return expression
            return rebuilt

        definitions = {name: dataclasses.replace(d, expression=expanded(d.expression, d.path))
                       for name, d in definitions.items()}
        new_lines = [dataclasses.replace(line, **{field: expanded(getattr(line, field), line.path + (field,), line.id)
                                                  for field in ("when", "amount", "maximum", "runs_from")})
                     for line in lines]
        obligations = [dataclasses.replace(o, **{field: expanded(getattr(o, field), o.path + (field,))
                                                 for field in ("when", "deadline", "done")})
                       for o in obligations]
        payments = [dataclasses.replace(
            rule, when=expanded(rule.when, rule.path + ("when",)),
            installments=tuple(dataclasses.replace(
                item, share=expanded(item.share, rule.path + ("installments", i, "share")),
                due=expanded(item.due, rule.path + ("installments", i, "due")))
                for i, item in enumerate(rule.installments))) for rule in payments]
        return definitions, new_lines, obligations, payments

    def check_shares(self, payments, parameters):
        """The installments of a payment rule pay the whole year: shares that read only numbers and
        parameters that do not depend on the taille must add up to 1 (else it is checked when paid)."""
        scalars = {name: p.value for name, p in parameters.items() if p.by_taille is None}
        for rule in payments:
            shares = [item.share for item in rule.installments]
            if any(share is None or not share.names <= set(scalars) or share.functions for share in shares):
                continue
            values = [aggregates.constant_value(share, scalars) for share in shares]
            if any(value is None for value in values):
                continue
            total = sum(values, Decimal(0))
            if total != 1:
                self.error("E322", msg("the installments of payment rule '{rule}' add up to {total}, not 1 (100 %): "
                                       "{shares}", rule=rule.id, total=total,
                                       shares=" + ".join(str(v) for v in values)),
                           rule.path + ("installments",))

    def check_mission(self, mission, missions, path):
        if mission is not None and mission not in missions:
            guess = suggest(mission, missions)
            hint = (msg(" (did you mean '{guess}'?)", guess=guess) if guess
                    else msg("; missions: {missions}", missions=', '.join(missions)))
            self.error("E208", msg("unknown mission '{mission}'{hint}", mission=mission, hint=hint), path)

    # -- the whole -----------------------------------------------------------------

    def compile(self) -> Ruleset:
        data = self.data
        parameters = self.parameters()
        missions = self.missions()
        taille = self.taille(parameters)
        tailles = {c["taille"] for c in (data.get("taille") or {}).get("classes", [])}
        for parameter in parameters.values():
            if parameter.by_taille is None:
                continue
            for number in sorted(tailles - set(parameter.by_taille)):
                self.error("E303", msg("parameter '{name}' has no value for taille {taille}", name=parameter.name,
                                       taille=number),
                           parameter.path + ("by_taille",))
            for number in sorted(set(parameter.by_taille) - tailles):
                self.error("E303", msg("parameter '{name}' gives taille {taille}, which the taille table does not "
                                       "define", name=parameter.name, taille=number),
                           parameter.path + ("by_taille", str(number)), key=True)

        owners: dict = {}
        for name in PROFILE_NAMES + MISSION_NAMES:
            owners[name] = msg("a name the engine provides")
        for name in FUNCTION_NAMES:
            owners[name] = msg("a function")

        def claim(name, what, path):
            if name in owners:
                self.error("E207", msg("'{name}' is already {owner}: give this {what} another name", name=name,
                                       owner=owners[name], what=_KINDS[what]),
                           path, key=what in ("parameter", "definition"))
                return False
            owners[name] = msg("the name of a {what}", what=_KINDS[what])
            return True

        for name, parameter in parameters.items():
            claim(name, "parameter", parameter.path)
        definition_specs = data.get("definitions") or {}
        for name in definition_specs:
            claim(name, "definition", ("definitions", name))
        line_specs = data.get("lines") or []
        line_ids = set()
        for index, spec in enumerate(line_specs):
            if spec["id"] in line_ids:
                self.error("E206", msg("line '{id}' is defined twice", id=spec['id']), ("lines", index, "id"))
                continue
            line_ids.add(spec["id"])
            claim(spec["id"], "line", ("lines", index, "id"))

        computed = set(definition_specs) | line_ids
        # Built once: a copy per formula made compiling quadratic in the ruleset's size.
        common = frozenset(PROFILE_NAMES) | frozenset(parameters) | computed | frozenset(_CONSTANTS)
        with_mission = common | frozenset(MISSION_NAMES)

        definitions = {}
        for name, spec in definition_specs.items():
            path = ("definitions", name)
            confidence = None
            if isinstance(spec, dict):
                mission, label, expr_path = spec.get("mission"), spec.get("label"), path + ("expression",)
                value, confidence = spec["expression"], spec.get("confidence")
            else:
                mission, label, expr_path, value = None, None, path, spec
            self.check_mission(mission, missions, path + ("mission",))
            names = with_mission if mission else common
            expression = self.expression(value, expr_path, names, missions)
            if expression is not None:
                definitions[name] = Definition(name, expression, mission, label, path, confidence)

        lines = []
        seen = set()
        for index, spec in enumerate(line_specs):
            path = ("lines", index)
            if spec["id"] in seen:
                continue
            seen.add(spec["id"])
            mission = spec.get("mission")
            self.check_mission(mission, missions, path + ("mission",))
            names = with_mission if mission else common
            when = self.expression(spec["when"], path + ("when",), names, missions) if "when" in spec else None
            amount = self.expression(spec["amount"], path + ("amount",), names, missions)
            maximum = (self.expression(spec["maximum"], path + ("maximum",), names, missions)
                       if "maximum" in spec else None)
            runs_from = (self.expression(spec["runs_from"], path + ("runs_from",), names, missions)
                         if "runs_from" in spec else None)
            lines.append(FundingLine(
                id=spec["id"], label=spec["label"], mission=mission, volet=spec["volet"], when=when,
                amount=amount, maximum=maximum, reference=spec["reference"],
                confidence=spec.get("confidence"), note=spec.get("note"), path=path, runs_from=runs_from,
                clawback=bool(spec.get("clawback"))))

        obligations = []
        obligation_ids = set()
        for index, spec in enumerate(data.get("obligations") or []):
            path = ("obligations", index)
            if spec["id"] in obligation_ids:
                self.error("E206", msg("obligation '{id}' is defined twice", id=spec['id']), path + ("id",))
                continue
            obligation_ids.add(spec["id"])
            mission = spec.get("mission")
            self.check_mission(mission, missions, path + ("mission",))
            names = with_mission if mission else common
            obligations.append(Obligation(
                id=spec["id"], label=spec["label"], mission=mission,
                when=self.expression(spec["when"], path + ("when",), names, missions) if "when" in spec else None,
                deadline=self.expression(spec["deadline"], path + ("deadline",), names, missions),
                done=self.expression(spec["done"], path + ("done",), names, missions),
                reference=spec["reference"], confidence=spec.get("confidence"), path=path))

        payments = []
        payment_ids = set()
        payment_names = with_mission
        for index, spec in enumerate(data.get("payments") or []):
            path = ("payments", index)
            if spec["id"] in payment_ids:
                self.error("E206", msg("payment rule '{id}' is defined twice", id=spec['id']), path + ("id",))
                continue
            payment_ids.add(spec["id"])
            installments = []
            for number, item in enumerate(spec["installments"]):
                item_path = path + ("installments", number)
                installments.append(Installment(
                    item["label"],
                    self.expression(item["share"], item_path + ("share",), payment_names, missions),
                    self.expression(item["due"], item_path + ("due",), payment_names, missions)))
            payments.append(PaymentRule(
                id=spec["id"], label=spec["label"], volets=tuple(spec["volets"]),
                when=(self.expression(spec["when"], path + ("when",), payment_names, missions)
                      if "when" in spec else None),
                installments=tuple(installments), reference=spec["reference"],
                confidence=spec.get("confidence"), path=path))

        if payments:
            paid = {volet for rule in payments for volet in rule.volets}
            for line in lines:
                if line.volet not in paid:
                    self.error("E309", msg("no payment rule pays volet '{volet}' of line '{line}': add it to the volets "
                                           "of a rule under payments", volet=line.volet, line=line.id),
                               line.path + ("volet",))

        self.check_line_sums(definitions, lines, missions)
        if not self.problems:
            definitions, lines, obligations, payments = self.expand_lines(
                definitions, lines, obligations, payments, missions)
        self.check_shares(payments, parameters)

        dates = data["dates"]
        signed, published = _date(dates.get("signed")), _date(dates.get("published"))
        in_force, until = _date(dates["in_force"]), _date(dates.get("until"))
        if until is not None and until < in_force:
            self.error("E302", msg("dates.until {until} precedes dates.in_force {in_force}", until=until,
                                   in_force=in_force), ("dates", "until"))
        if signed is not None and in_force < signed:
            self.error("E302", msg("dates.in_force {in_force} precedes dates.signed {signed}", in_force=in_force,
                                   signed=signed), ("dates", "in_force"))
        if signed is not None and published is not None and published < signed:
            self.error("E302", msg("dates.published {published} precedes dates.signed {signed}", published=published,
                                   signed=signed),
                       ("dates", "published"))

        if self.problems:
            raise InputError(self.problems)

        items = {**definitions, **{line.id: line for line in lines}}
        reads = {name: self._reads(item, lines) for name, item in items.items()}
        order = self.order(items, reads)
        if self.problems:
            raise InputError(self.problems)

        confidence, reads_taille = self.provenance(order, reads, parameters, tailles)
        indicators = tuple(
            {k: v for k, v in item.items() if k != "in_force"} for item in data.get("indicators") or [])
        rounding = data.get("rounding") or {}
        contract = data.get("contract") or {}
        return Ruleset(
            id=data["id"], title=data["title"], kind=data["kind"], status=data["status"],
            reference=data["reference"], signed=signed, published=published, in_force=in_force,
            until=until, quantum=Decimal(rounding.get("quantum", "0.01")),
            contract_years=contract.get("duration_years"), contract_reference=contract.get("reference"),
            taille=taille, parameters=parameters, missions=missions, definitions=definitions,
            lines=tuple(lines), obligations=tuple(obligations), order=tuple(order),
            confidence=confidence, reads_taille=frozenset(reads_taille), source=self.doc.file,
            chain=tuple(name for name, _ in self.history), positions=Positions.of(self.doc),
            history=self.history, provisions=self.provisions, indicators=indicators,
            reads={name: frozenset(names) for name, names in reads.items()},
            payments=tuple(payments), annual_maximum=_annual_maximum(data.get("annual_maximum")),
        )

    @staticmethod
    def _reads(item, lines) -> set:
        """The names an item reads, with the lines its sum_lines() / sum_maxima() select."""
        expressions = [item.expression] if isinstance(item, Definition) else [
            item.when, item.amount, item.maximum, item.runs_from]
        names = set()
        for expression in expressions:
            if expression is not None:
                names |= _Compiler._reads_of(expression, lines)
        return names

    def order(self, items: dict, reads: dict) -> list:
        """Definitions and lines, each after the ones it reads (depth-first, iterative)."""
        order, state = [], {}  # state: 1 visiting, 2 done
        known = set(items)
        for root in items:
            if state.get(root):
                continue
            stack = [(root, iter(sorted(reads[root] & known)))]
            state[root] = 1
            trail = [root]
            while stack:
                name, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    trail.pop()
                    state[name] = 2
                    order.append(items[name])
                    continue
                if state.get(child) == 1:
                    cycle = trail[trail.index(child):] + [child]
                    what = (msg("reads itself") if len(cycle) == 2
                            else msg("cycle: {cycle}", cycle=" -> ".join(cycle)))
                    self.error("E105", msg("'{name}' {what}", name=child, what=what), self._cycle_place(cycle, items))
                    return order
                if not state.get(child):
                    state[child] = 1
                    trail.append(child)
                    stack.append((child, iter(sorted(reads[child] & known))))
        return order

    def _cycle_place(self, cycle, items) -> tuple:
        """Where to report a cycle: the formula that closes it, preferably one written in the
        text being compiled (an amendment that made the cycle, not the accord it amends)."""
        lines = [item for item in items.values() if isinstance(item, FundingLine)]
        places = []
        for name, following in zip(cycle, cycle[1:]):
            item = items[name]
            if isinstance(item, Definition):
                places.append(item.path)
                continue
            for field in ("when", "amount", "maximum", "runs_from"):
                expression = getattr(item, field)
                if expression is not None and following in self._reads_of(expression, lines):
                    places.append(item.path + (field,))
                    break
            else:
                places.append(item.path)
        own = [path for path in places if self.doc.file_of(path) == self.doc.file]
        return (own or places)[0]

    @staticmethod
    def _reads_of(expression, lines) -> set:
        names = set(expression.names)
        for function, arguments, _ in expression.calls:
            if function in LINE_FUNCTIONS and arguments:
                field, values = arguments[0], arguments[1:]
                names |= {line.id for line in lines if getattr(line, field, None) in values}
        return names

    def provenance(self, order, all_reads, parameters, tailles):
        confidence, reads_taille = {}, set()
        for item in order:
            reads = all_reads[item.name]
            per_taille = {}
            for number in sorted(tailles) or [None]:
                tags = [getattr(item, "confidence", None)]
                tags += [parameters[n].confidence_for(number) for n in reads if n in parameters]
                tags += [confidence[n][number] for n in reads if n in confidence]
                per_taille[number] = weakest(*tags)
            confidence[item.name] = per_taille
            if ("taille" in reads or any(n in reads_taille for n in reads)
                    or any(parameters[n].by_taille is not None for n in reads if n in parameters)):
                reads_taille.add(item.name)
        return confidence, reads_taille


def compile_ruleset(document: Document, *, history=None, provisions=()) -> Ruleset:
    """A :class:`Ruleset` from a full document that passed :func:`validate_ruleset`.

    ``history`` lists (id, in-force date) from the first accord to this text, for
    a consolidated document; ``provisions`` the provisions of the chain that have
    their own in-force date. Raises :class:`InputError` with every problem found.
    """
    if "changes" in document.data:
        raise InputError([document.diagnostic(
            "E306", msg("an amending ruleset is compiled with the text it amends (use the library)"),
            ("changes",))])
    return _Compiler(document, history, provisions).compile()

"""The barème of a ruleset: each line's maximum per taille, and the yearly maximum of a CPTS.

A line's maximum is read from its ``maximum`` formula (or its ``amount``) when the
formula reads parameters only. A conditional maximum (``a if c else b``) reaches
the larger of its branches. The yearly maximum is what the ruleset's
``annual_maximum`` declares: the sum of the maxima of the lines of some volets,
where lines whose conditions exclude each other (one requires ``c``, the other
``not c``) count the larger only, since one contract year never pays both.
`aci-rules show` prints it under the barème and `aci-rules diff` compares it.
"""

from __future__ import annotations

import ast
import itertools
from decimal import Decimal

from .expressions import ExpressionFailure, evaluate_expression, make_evaluator
from .helpers import round_down
from .ruleset import FundingLine, Ruleset

__all__ = ["static_maximum", "upper_maximum", "reachable_maximum", "excluded_at", "annual_maximum",
           "annual_maximum_by_mission", "annual_lines", "tailles_of",
           "MAX_EXCLUSIVE_GROUP"]

# Lines that exclude one another are counted by trying their compatible subsets;
# a dozen keeps that to a few thousand tries, far above any text (the shipped ones have a pair).
MAX_EXCLUSIVE_GROUP = 12


def tailles_of(*rulesets: Ruleset) -> list:
    """The tailles of the rulesets' size tables, in order; [None] when none has one."""
    found = set()
    for ruleset in rulesets:
        if ruleset.taille is not None:
            found |= {c.taille for c in ruleset.taille.classes}
    return sorted(found) or [None]


def _value_of(ruleset: Ruleset, node: ast.AST, taille, sums: bool = False, depth: int = 0) -> Decimal | None:
    """The value of a formula tree that reads only parameters (and the taille, and definitions
    that read only those), else None.

    With ``sums``, ``sum_maxima(...)`` reads the most the lines it names can reach together.
    """
    names = {"taille": taille}
    functions = {}
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            called = child.func.id if isinstance(child.func, ast.Name) else None
            if not (sums and called == _SUM_MAXIMA):
                return None
            functions[_SUM_MAXIMA] = lambda field, *values: _sum_maxima(ruleset, taille, field, values)
        if isinstance(child, ast.Name) and child.id not in names and child.id not in functions:
            parameter = ruleset.parameters.get(child.id)
            if parameter is not None:
                names[child.id] = parameter.value_for(taille)
                continue
            # A definition that reads only parameters and the taille is read through.
            node_of = _definition_node(ruleset, child.id, depth)
            value = None if node_of is None else _value_of(ruleset, node_of, taille, sums, depth + 1)
            if value is None:
                return None
            names[child.id] = value
    try:
        value = evaluate_expression(make_evaluator(names, functions), _Tree(node))
    except (ExpressionFailure, _Unknown):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return Decimal(value).quantize(ruleset.quantum)


_SUM_MAXIMA = "sum_maxima"


class _Unknown(Exception):
    """A line summed by sum_maxima() has no maximum known from parameters."""


def _sum_maxima(ruleset, taille, field, values):
    lines = [line for line in ruleset.lines if getattr(line, field) in values]
    total = _best_sum(ruleset, lines, taille)
    if total is None:
        raise _Unknown
    return total


class _Tree:
    """A formula tree in the shape :func:`evaluate_expression` reads."""

    def __init__(self, node):
        self.node = node
        self.text = ""


def static_maximum(ruleset: Ruleset, line: FundingLine, taille) -> Decimal | None:
    """A line's maximum (or amount) for a taille when it reads only parameters, else None."""
    expression = line.maximum or line.amount
    return _value_of(ruleset, expression.node, taille)


def upper_maximum(ruleset: Ruleset, line: FundingLine, taille) -> Decimal | None:
    """The most a line can reach for a taille: its static maximum, or the larger branch of a
    conditional one (``a if c else b``) whose branches read only parameters, or the highest
    value its formula can take over the taille's population (an amount per inhabitant with a
    ceiling, see :func:`_interval_of`); else None."""
    expression = line.maximum or line.amount
    value = _upper(ruleset, expression, taille)
    if value is None:
        bounds = _interval_of(ruleset, expression.node, taille)
        if bounds is not None and bounds[1] is not None:
            value = bounds[1].quantize(ruleset.quantum)
    return value


def _upper(ruleset: Ruleset, expression, taille) -> Decimal | None:
    """A static maximum, or the larger branch of a conditional one, else None."""
    def upper(node):
        if isinstance(node, ast.IfExp):
            branches = [upper(node.body), upper(node.orelse)]
            return None if None in branches else max(branches)
        return _value_of(ruleset, node, taille, sums=True)

    return upper(expression.node)


# Definitions read through by the barème, one inside another: far above any text's nesting, and
# a bound on the recursion whatever a text holds (the compiler refuses cycles).
MAX_DEFINITION_DEPTH = 32


def _definition_node(ruleset: Ruleset, name: str, depth: int):
    """The formula tree of definition ``name``, or None (not a definition, or nested too deep)."""
    definition = ruleset.definitions.get(name)
    if definition is None or depth >= MAX_DEFINITION_DEPTH:
        return None
    return definition.expression.node


def _interval_of(ruleset: Ruleset, node: ast.AST, taille, depth: int = 0):
    """(lowest, highest) a formula tree can give a CPTS of a taille (None for a side without
    bound), or None when it reads what has no known range.

    Reads numbers, parameters, the taille, ``population`` when the taille is read on it alone
    (its class's bounds), + - * /, ``min``, ``max``, ``round_down`` (monotonic), ``a if c
    else b`` (either branch): enough for an amount per inhabitant with a floor and a ceiling.
    """
    value = _value_of(ruleset, node, taille, sums=True, depth=depth)
    if value is not None:
        return value, value
    if isinstance(node, ast.Name):
        if node.id == "population":
            return _population_range(ruleset, taille)
        inner = _definition_node(ruleset, node.id, depth)  # a definition: its formula's range
        return None if inner is None else _interval_of(ruleset, inner, taille, depth + 1)
    if isinstance(node, ast.IfExp):
        branches = [_interval_of(ruleset, node.body, taille, depth), _interval_of(ruleset, node.orelse, taille, depth)]
        if None in branches:
            return None
        return _lowest(*(b[0] for b in branches)), _highest(*(b[1] for b in branches))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _interval_of(ruleset, node.operand, taille, depth)
        return None if inner is None else (_negate(inner[1]), _negate(inner[0]))
    if isinstance(node, ast.BinOp):
        return _arithmetic(node.op, _interval_of(ruleset, node.left, taille, depth),
                           _interval_of(ruleset, node.right, taille, depth))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
        name, arguments = node.func.id, [_interval_of(ruleset, arg, taille, depth) for arg in node.args]
        if name == "round_down" and arguments[0] is not None:
            step = arguments[1] if len(arguments) > 1 else (Decimal(1), Decimal(1))
            if step is None or step[0] != step[1]:
                return None
            low, high = arguments[0]
            return tuple(None if b is None else round_down(b, step[0]) for b in (low, high))
        if name in ("min", "max"):
            # min: below every argument's highest; max: above every argument's lowest. An
            # argument without a known range leaves that side open.
            lows = [None if a is None else a[0] for a in arguments]
            highs = [None if a is None else a[1] for a in arguments]
            if name == "min":
                known = [h for h in highs if h is not None]
                return (None if None in lows else min(lows)), (min(known) if known else None)
            known = [low for low in lows if low is not None]
            return (max(known) if known else None), (None if None in highs else max(highs))
    return None


def _population_range(ruleset: Ruleset, taille):
    if ruleset.taille is None or " ".join(ruleset.taille.basis.text.split()) != "population":
        return None
    classes = [c for c in ruleset.taille.classes if c.taille == taille]
    if not classes:
        return None
    highs = [c.high for c in classes]
    return Decimal(min(c.low for c in classes)), (None if None in highs else Decimal(max(highs)))


def _negate(value):
    return None if value is None else -value


def _lowest(*values):
    return None if None in values else min(values)


def _highest(*values):
    return None if None in values else max(values)


def _arithmetic(op, left, right):
    """The range of ``left op right`` from the ranges of both sides (None when unknown)."""
    if left is None or right is None:
        return None
    (a, b), (c, d) = left, right
    if isinstance(op, ast.Add):
        return (None if None in (a, c) else a + c), (None if None in (b, d) else b + d)
    if isinstance(op, ast.Sub):
        return (None if None in (a, d) else a - d), (None if None in (b, c) else b - c)
    if isinstance(op, ast.Mult):
        if None not in (a, b, c, d):
            corners = [a * c, a * d, b * c, b * d]
            return min(corners), max(corners)
        if a is not None and c is not None and a >= 0 and c >= 0:  # both sides non-negative
            return a * c, (None if None in (b, d) else b * d)
        return None
    if isinstance(op, ast.Div) and c == d and c is not None and c > 0:
        return (None if a is None else a / c), (None if b is None else b / c)
    return None


def excluded_at(ruleset: Ruleset, line: FundingLine, taille) -> bool:
    """Whether a line's condition is false for every CPTS of a taille: one of the parts of its
    ``when`` joined by ``and`` reads only parameters and the taille, and is false.

    A part that reads anything else (the profile, the date, other lines) is not decided here.
    """
    if line.when is None:
        return False
    body = line.when.node
    parts = body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And) else [body]
    for part in parts:
        names = {"taille": taille}
        decided = True
        for child in ast.walk(part):
            if isinstance(child, ast.Call):
                decided = False
                break
            if isinstance(child, ast.Name) and child.id not in names:
                parameter = ruleset.parameters.get(child.id)
                if parameter is None:
                    decided = False
                    break
                names[child.id] = parameter.value_for(taille)
        if not decided:
            continue
        try:
            value = evaluate_expression(make_evaluator(names, {}), _Tree(part))
        except ExpressionFailure:
            continue
        if value is False:
            return True
    return False


def reachable_maximum(ruleset: Ruleset, line: FundingLine, taille) -> Decimal | None:
    """The most a line can pay a CPTS of a taille: 0 where its condition excludes the taille
    (:func:`excluded_at`), else :func:`upper_maximum` (which reads ``sum_maxima``); None when
    that depends on more than parameters."""
    if excluded_at(ruleset, line, taille):
        return Decimal(0).quantize(ruleset.quantum)
    value = upper_maximum(ruleset, line, taille)
    return None if value is None else value.quantize(ruleset.quantum)


def _conjuncts(line: FundingLine) -> set:
    """The parts of a line's condition joined by ``and``, as comparable keys; a negated part
    is ('not', key)."""
    if line.when is None:
        return set()
    body = line.when.node
    parts = body.values if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And) else [body]
    keys = set()
    for part in parts:
        if isinstance(part, ast.UnaryOp) and isinstance(part.op, ast.Not):
            keys.add(("not", ast.dump(part.operand)))
        else:
            keys.add(("is", ast.dump(part)))
    return keys


def _exclusive(a: set, b: set) -> bool:
    return any(("not", key) in b for kind, key in a if kind == "is") or \
        any(("not", key) in a for kind, key in b if kind == "is")


def annual_lines(ruleset: Ruleset) -> tuple:
    """The lines the yearly maximum adds up (those of the declared volets), in barème order."""
    if ruleset.annual_maximum is None:
        return ()
    volets = set(ruleset.annual_maximum.volets)
    return tuple(line for line in ruleset.lines if line.volet in volets)


def _best_sum(ruleset: Ruleset, lines, taille) -> Decimal | None:
    """The most ``lines`` can reach together for a taille: lines that exclude each other
    count the larger; None when one has no maximum known from parameters."""
    conditions = {line.id: _conjuncts(line) for line in lines}
    groups: list[list] = []  # lines linked by exclusions
    for line in lines:
        linked = [g for g in groups if any(_exclusive(conditions[line.id], conditions[o.id]) for o in g)]
        groups = [g for g in groups if g not in linked] + [[line] + [o for g in linked for o in g]]
    total = Decimal(0)
    for group in groups:
        values = {line.id: upper_maximum(ruleset, line, taille) for line in group}
        if None in values.values() or len(group) > MAX_EXCLUSIVE_GROUP:
            return None
        best = Decimal(0)
        for size in range(1, len(group) + 1):
            for subset in itertools.combinations(group, size):
                if not any(_exclusive(conditions[a.id], conditions[b.id])
                           for a, b in itertools.combinations(subset, 2)):
                    best = max(best, sum(values[line.id] for line in subset))
        total += best
    return total


def annual_maximum(ruleset: Ruleset) -> dict | None:
    """The yearly maximum of a CPTS per taille, as the ruleset's ``annual_maximum`` declares it.

    Takes a compiled ruleset. Returns {taille: Decimal, or None where a counted line's maximum
    depends on more than parameters}, or None when the ruleset declares no yearly maximum.
    """
    if ruleset.annual_maximum is None:
        return None
    lines = annual_lines(ruleset)
    result = {}
    for taille in tailles_of(ruleset):
        total = _best_sum(ruleset, lines, taille)
        result[taille] = None if total is None else total.quantize(ruleset.quantum)
    return result


def annual_maximum_by_mission(ruleset: Ruleset) -> dict | None:
    """The yearly maximum split by mission (None for lines of no mission), per taille.

    Takes a compiled ruleset. Returns {mission: {taille: Decimal, or None where a counted line's
    maximum depends on more than parameters}}, in barème order, or None when the ruleset
    declares no yearly maximum. Lines that exclude each other belong to one mission in the
    shipped texts, so the parts add up to :func:`annual_maximum`.
    """
    if ruleset.annual_maximum is None:
        return None
    groups: dict = {}
    for line in annual_lines(ruleset):
        groups.setdefault(line.mission, []).append(line)
    result = {}
    for mission, lines in groups.items():
        result[mission] = {}
        for taille in tailles_of(ruleset):
            total = _best_sum(ruleset, lines, taille)
            result[mission][taille] = None if total is None else total.quantize(ruleset.quantum)
    return result

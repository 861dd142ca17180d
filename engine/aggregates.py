"""Aggregates over the missions and the lines, expanded when a ruleset is compiled.

An analyst writes ``count_missions('achievement >= 0.9') >= 3`` or
``sum_lines_except('volet', 'garantie')``; the compiler turns each into constructs
every evaluation path already computes, so that no backend knows aggregates:

- ``count_missions(condition, kind...)`` becomes ``count_true(c1, c2, ...)``, one
  condition per mission of the consolidated text (of those kinds, when kinds are
  given), where the condition's ``started``, ``deployed`` and ``achievement`` read
  that mission (``mission_started('m')``...). ``any_mission`` is ``count_true(...)
  >= 1`` and ``all_missions`` ``count_true(...) == n``. A mission a later text adds
  is counted, since the expansion runs on the consolidated text.
- ``sum_lines('kind', 'socle')`` (the lines of the missions of a kind) and
  ``sum_lines_except(field, values...)`` (every other line: neither those selected
  nor the line that sums) become ``sum_lines('id', ...)`` over the lines they select;
  likewise for ``sum_maxima``.

The trees built here carry the position of the call they replace, so that a trace
quoting a part of a formula quotes what the analyst wrote.
"""

from __future__ import annotations

import ast
import copy
from decimal import Decimal

from .helpers import LINE_FUNCTIONS

__all__ = [
    "MISSION_AGGREGATES",
    "LINE_AGGREGATES",
    "AGGREGATES",
    "CONDITION_NAMES",
    "MAX_EXPANDED_PARTS",
    "mission_calls",
    "bind_condition",
    "expand_missions",
    "line_selection",
    "expand_lines",
    "needs_line_expansion",
    "rebuild",
    "constant_value",
]

MISSION_AGGREGATES = ("count_missions", "any_mission", "all_missions")
# Each sums over every line but those it names (and the one that calls it).
LINE_AGGREGATES = {"sum_lines_except": "sum_lines", "sum_maxima_except": "sum_maxima"}
AGGREGATES = MISSION_AGGREGATES + tuple(LINE_AGGREGATES)

# What a condition over each mission reads of it, and the function that reads it by id.
CONDITION_NAMES = {"started": "mission_started", "deployed": "mission_deployed",
                   "achievement": "mission_achievement"}

# An aggregate copies its condition once per mission: a formula expanded past this many
# parts is refused (E104) rather than compiled for minutes.
MAX_EXPANDED_PARTS = 2 ** 14  # 16 384


def mission_calls(expression) -> list:
    """The aggregate calls over missions in a parsed formula: (call node, column of the call)."""
    found = []
    for node in ast.walk(expression.node):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in MISSION_AGGREGATES:
            found.append(node)
    return found


def _place(node, like):
    """Give ``node`` and everything under it the position of ``like`` (the call it replaces)."""
    for part in ast.walk(node):
        if "lineno" in part._attributes:
            ast.copy_location(part, like)
    return node


class _Bind(ast.NodeTransformer):
    """A condition's mission names to the functions that read one mission by its id."""

    def __init__(self, mission: str):
        self.mission = mission

    def visit_Name(self, node):
        function = CONDITION_NAMES.get(node.id)
        if function is None:
            return node
        return ast.Call(func=ast.Name(id=function, ctx=ast.Load()),
                        args=[ast.Constant(value=self.mission)], keywords=[])


def bind_condition(condition: ast.AST, mission: str) -> ast.AST:
    """A copy of ``condition`` reading ``mission`` where it reads started / deployed / achievement."""
    return _Bind(mission).visit(copy.deepcopy(condition))


def expand_missions(call: ast.Call, condition: ast.AST, missions: list) -> ast.AST:
    """The tree that replaces one ``count_missions`` / ``any_mission`` / ``all_missions`` call.

    ``condition`` is the checked tree of its condition, ``missions`` the ids it ranges over.
    """
    terms = [bind_condition(condition, mission) for mission in missions]
    counted = ast.Call(func=ast.Name(id="count_true", ctx=ast.Load()), args=terms, keywords=[])
    name = call.func.id
    if name == "any_mission":
        tree = ast.Compare(left=counted, ops=[ast.GtE()], comparators=[ast.Constant(value=1)])
    elif name == "all_missions":
        tree = ast.Compare(left=counted, ops=[ast.Eq()], comparators=[ast.Constant(value=len(missions))])
    else:
        tree = counted
    return _place(tree, call)


def line_selection(field: str, values, lines, kinds: dict, *, excluding=False, itself=None) -> list:
    """The ids of the lines a line function selects, in the ruleset's order.

    ``kinds`` maps each mission to its kind, for the field ``kind``; ``excluding``
    selects every line but those, and never ``itself`` (the line that sums).
    """
    def value_of(line):
        if field == "kind":
            return kinds.get(line.mission)
        return getattr(line, field)

    chosen = [line.id for line in lines if (value_of(line) in values) != excluding]
    return [name for name in chosen if name != itself]


def needs_line_expansion(expression) -> bool:
    """True when a formula calls a line aggregate or a line function by mission kind."""
    for function, arguments, _ in expression.calls:
        if function in LINE_AGGREGATES:
            return True
        if function in LINE_FUNCTIONS and arguments and arguments[0] == "kind":
            return True
    return False


class _Lines(ast.NodeTransformer):
    def __init__(self, lines, kinds, itself):
        self.lines, self.kinds, self.itself = lines, kinds, itself

    def visit_Call(self, node):
        self.generic_visit(node)
        name = node.func.id
        excluding = name in LINE_AGGREGATES
        if not excluding and not (name in LINE_FUNCTIONS and node.args and node.args[0].value == "kind"):
            return node
        field, values = node.args[0].value, {arg.value for arg in node.args[1:]}
        chosen = line_selection(field, values, self.lines, self.kinds, excluding=excluding, itself=self.itself)
        tree = ast.Call(func=ast.Name(id=LINE_AGGREGATES.get(name, name), ctx=ast.Load()),
                        args=[ast.Constant(value="id")] + [ast.Constant(value=i) for i in chosen], keywords=[])
        return _place(tree, node)


def expand_lines(node: ast.AST, lines, kinds: dict, itself=None) -> ast.AST:
    """A copy of ``node`` where each line aggregate is a ``sum_lines('id', ...)`` over its lines."""
    return _Lines(lines, kinds, itself).visit(copy.deepcopy(node))


def rebuild(expression, node):
    """``expression`` with a new tree: its names, functions and calls read again from the tree.

    The text stays the analyst's; the tree is what every path evaluates. Returns None when
    the tree has more than :data:`MAX_EXPANDED_PARTS` parts.
    """
    names, functions, literal_arguments, calls = set(), set(), [], []
    count, stack = 0, [node]
    while stack:
        part = stack.pop()
        count += 1
        if count > MAX_EXPANDED_PARTS:
            return None
        if isinstance(part, ast.Name):
            names.add(part.id)
        elif isinstance(part, ast.Call):  # its function's name is not a name it reads
            name = part.func.id
            functions.add(name)
            if part.args and isinstance(part.args[0], ast.Constant):
                literal_arguments.append((name, part.args[0].value, 0))
            literal = all(isinstance(arg, ast.Constant) for arg in part.args)
            calls.append((name, tuple(arg.value for arg in part.args) if literal else None, 0))
            stack.extend(part.args)
            continue
        stack.extend(ast.iter_child_nodes(part))
    return type(expression)(expression.text, node, frozenset(names), frozenset(functions),
                            tuple(literal_arguments), tuple(calls), expression.source)


def constant_value(expression, scalars: dict):
    """The value of a formula of numbers, + - * / and ``scalars`` (parameters), else None."""
    from .expressions import evaluate_expression, ExpressionFailure, make_evaluator

    try:
        value = evaluate_expression(make_evaluator(dict(scalars), {}), expression)
    except ExpressionFailure:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return Decimal(value)

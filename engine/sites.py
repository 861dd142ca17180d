"""Where each piece of a compiled ruleset was written: the sites coverage and mutation talk about.

A consolidated ruleset mixes items of several files (an avenant over the accord it
amends, a proposal over both). A *site* names a piece by the file it was written
in and its path in that file, so that the same formula or figure is recognised in
every consolidated text that holds it (aci-2019's condition of a line is one site,
whether the line is evaluated under aci-2019 or inherited by avenant-2).

Inside a formula, a node is named by its ordinal in :func:`ast.walk` order, which
is the same in every compiled copy of the same text.
"""

from __future__ import annotations

import ast
import dataclasses

from .ruleset import Definition, Ruleset

__all__ = ["Site", "ExpressionSite", "expression_sites", "parameter_site", "site_of", "node_position",
           "node_text", "condition_parts", "ordinals"]


@dataclasses.dataclass(frozen=True)
class Site:
    """A node of a ruleset file: the file and the path in it."""

    file: str
    path: tuple


@dataclasses.dataclass(frozen=True)
class ExpressionSite:
    """One formula of a compiled ruleset, with the site it was written at.

    ``where`` is its path in the consolidated text; ``owner`` how an analyst
    names it (``lines[<id>].when``); ``kind`` one of line, definition,
    obligation, payment, taille; ``mission`` the mission whose names it reads.
    """

    site: Site
    where: tuple
    owner: str
    kind: str
    item: str | None
    field: str
    expression: object
    mission: str | None


def site_of(ruleset: Ruleset, path) -> Site:
    """The site of the node at ``path`` of a compiled ruleset (from its positions table)."""
    positions = ruleset.positions
    return Site(positions.file_of(path), tuple(positions.source_path(path)))


def parameter_site(ruleset: Ruleset, name: str) -> Site:
    return site_of(ruleset, ruleset.parameters[name].path)


def expression_sites(ruleset: Ruleset):
    """Every formula of a compiled ruleset, as :class:`ExpressionSite`, in a stable order."""
    positions = ruleset.positions
    found = []

    def add(path, owner, kind, item, field, expression, mission):
        if expression is not None:
            found.append(ExpressionSite(site_of(ruleset, path), tuple(path), owner, kind, item, field,
                                        expression, mission))

    if ruleset.taille is not None:
        add(("taille", "basis"), "taille.basis", "taille", None, "basis", ruleset.taille.basis, None)
    for item in ruleset.order:
        if isinstance(item, Definition):
            path = item.path + (("expression",) if positions.has(item.path + ("expression",)) else ())
            add(path, f"definitions.{item.name}", "definition", item.name, "expression", item.expression,
                item.mission)
            continue
        for field in ("when", "amount", "maximum", "runs_from"):
            add(item.path + (field,), f"lines[{item.id}].{field}", "line", item.id, field,
                getattr(item, field), item.mission)
    for obligation in ruleset.obligations:
        for field in ("when", "deadline", "done"):
            add(obligation.path + (field,), f"obligations[{obligation.id}].{field}", "obligation",
                obligation.id, field, getattr(obligation, field), obligation.mission)
    for rule in ruleset.payments:
        add(rule.path + ("when",), f"payments[{rule.id}].when", "payment", rule.id, "when", rule.when, None)
        for index, installment in enumerate(rule.installments):
            for field in ("share", "due"):
                add(rule.path + ("installments", index, field),
                    f"payments[{rule.id}].installments[{index}].{field}", "payment", rule.id,
                    f"installments[{index}].{field}", getattr(installment, field), None)
    return found


def ordinals(expression) -> dict:
    """id(node) -> its ordinal in :func:`ast.walk` order, for one compiled formula."""
    return {id(node): index for index, node in enumerate(ast.walk(expression.node))}


def node_text(expression, node, link: int | None = None) -> str:
    """The text of a node of a formula as written (one link of a chained comparison)."""
    source = expression.source
    if link is not None and isinstance(node, ast.Compare):
        left = node.left if link == 0 else node.comparators[link - 1]
        right = node.comparators[link]
        operator = _OPERATOR_TEXT.get(type(node.ops[link]), "?")
        return f"{_segment(source, left)} {operator} {_segment(source, right)}"
    return _segment(source, node)


def _segment(source, node) -> str:
    text = ast.get_source_segment(source, node)
    return " ".join((text or ast.unparse(node)).split())


_OPERATOR_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
                  ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


def node_position(ruleset: Ruleset, where: tuple, expression, node) -> tuple:
    """(file, line, column) of a node of a formula, in the file it was written in."""
    positions = ruleset.positions
    line, column = positions.position(where)
    text = positions.texts.get(tuple(where), expression.text)
    lineno = getattr(node, "lineno", None)
    if lineno is not None:
        offset = lineno - 1
        col = node.col_offset - (1 if offset == 0 else 0)
        lead = len(text) - len(text.lstrip())
        pieces = text.strip().split("\n")
        index = lead + sum(len(piece) + 1 for piece in pieces[:offset]) + max(col, 0)
        line, column = positions.scalar_position(where, index) or (line, column)
    return positions.file_of(where), line, column


def condition_parts(expression) -> list:
    """The parts of a formula that decide something: ``(node, link)`` pairs.

    Each operand of ``and`` / ``or`` / ``not``, each comparison (each link of a
    chained one, ``link`` its index), and each test of ``x if test else y``;
    ``link`` is None for a part that is not a comparison.

    >>> from aci_rules.engine.expressions import parse_expression
    >>> e, _ = parse_expression("a and not b and c <= d <= f", known_names=set("abcdf"), known_functions=set())
    >>> [node_text(e, node, link) for node, link in condition_parts(e)]
    ['a', 'b', 'c <= d <= f', 'c <= d', 'd <= f']
    """
    parts, seen = [], set()

    def add(node, link=None):
        if (id(node), link) not in seen:
            seen.add((id(node), link))
            parts.append((node, link))

    for node in ast.walk(expression.node):
        if isinstance(node, ast.Compare):
            for link in range(len(node.ops)):
                add(node, link)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                # A comparison counts by its links, ``not x`` by x: the same truth, seen once.
                if not (isinstance(value, ast.Compare) and len(value.ops) == 1) and not (
                        isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not)):
                    add(value)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            if not (isinstance(node.operand, ast.Compare) and len(node.operand.ops) == 1):
                add(node.operand)
        elif isinstance(node, ast.IfExp):
            if not (isinstance(node.test, ast.Compare) and len(node.test.ops) == 1):
                add(node.test)
    return sorted(parts, key=lambda part: (getattr(part[0], "lineno", 0), getattr(part[0], "col_offset", 0),
                                           part[1] or 0))

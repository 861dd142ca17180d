"""A fast check of documents against a published JSON Schema, derived from the schema itself.

jsonschema is exact but slow (about 0.5 ms for a profile, and 50 ms to import). Most
documents a user gives are valid: this module turns the part of a schema it understands
into plain Python predicates that say True only for a document jsonschema (and the
calendar range check of :mod:`.schema`) would accept. A document it does not pass goes
to jsonschema, whose diagnostics are therefore exactly those of checking it in full.

The predicates are stricter than the schema, never looser: an unknown keyword, a type
of value the schema could read two ways (a float, a boolean where a number is expected),
a text shaped like a date in a free-text field (the calendar range check reads it),
a key that is not a text: each makes the predicate say False.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

__all__ = ["compile_check", "is_date_in_range", "DATE_SHAPE"]

DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The one pattern of a date field the schemas use (the format says the rest).
_DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(?!\\n)$"
_IGNORED = {"description", "title", "$comment", "examples", "$schema", "$id", "$defs", "default"}


def is_date_in_range(value, first: int, last: int) -> bool:
    """True for a text YYYY-MM-DD that is a day of the calendar of a year in first..last."""
    if type(value) is not str or not DATE_SHAPE.fullmatch(value):
        return False
    try:
        year = datetime.date.fromisoformat(value).year
    except ValueError:
        return False
    return first <= year <= last


def compile_check(schema: dict, first_year: int, last_year: int):
    """A predicate true only for a document the schema accepts, with every date-shaped text a
    date of the years ``first_year``..``last_year``; None when the schema uses a keyword this
    module does not understand at its root (a subschema not understood makes its part False).

    >>> check = compile_check({"type": "object", "required": ["n"], "additionalProperties": False,
    ...                        "properties": {"n": {"type": "integer", "minimum": 0}}}, 1900, 2100)
    >>> check({"n": 3}), check({"n": -1}), check({"n": True}), check({}), check({"n": 1, "m": 2})
    (True, False, False, False, False)
    """
    return _Compiler(schema, first_year, last_year).node(schema)


def _never(value) -> bool:
    return False


class _Compiler:
    def __init__(self, root: dict, first: int, last: int):
        self.root, self.first, self.last = root, first, last

    def resolve(self, node: dict) -> dict | None:
        ref = node.get("$ref")
        if ref is None:
            return node
        if not ref.startswith("#/"):
            return None
        target = self.root
        for part in ref[2:].split("/"):
            if not isinstance(target, dict) or part not in target:
                return None
            target = target[part]
        if not isinstance(target, dict):
            return None
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return self.resolve(merged) if "$ref" in target else merged

    def node(self, node):
        if not isinstance(node, dict):
            return None
        node = self.resolve(node)
        if node is None:
            return None
        keys = set(node) - _IGNORED
        kind = node.get("type")
        if kind == "object":
            return self.mapping(node, keys)
        if kind == "array":
            return self.array(node, keys)
        if kind in ("integer", "number"):
            return self.number(node, keys, kind)
        if kind == "string":
            return self.text(node, keys)
        if kind == "boolean" and keys == {"type"}:
            return lambda value: type(value) is bool
        return None

    def mapping(self, node, keys):
        if not keys <= {"type", "properties", "required", "additionalProperties", "propertyNames"}:
            return None
        properties = {}
        for name, sub in (node.get("properties") or {}).items():
            properties[name] = self.node(sub) or _never
        required = tuple(node.get("required", ()))
        extra = node.get("additionalProperties", True)
        if extra is False:
            other = None
        elif extra is True:
            return None  # anything goes: the values could be of any shape
        else:
            other = self.node(extra) or _never
        names = node.get("propertyNames")
        name_ok = None
        if names is not None:
            if not isinstance(names, dict) or set(names) - _IGNORED != {"pattern"}:
                return None
            name_ok = re.compile(names["pattern"]).search

        def check(value) -> bool:
            if type(value) is not dict:
                return False
            for name in required:
                if name not in value:
                    return False
            for key, item in value.items():
                if type(key) is not str or (name_ok is not None and not name_ok(key)):
                    return False
                sub = properties.get(key)
                if sub is None:
                    if other is None or not other(item):
                        return False
                elif not sub(item):
                    return False
            return True

        return check

    def array(self, node, keys):
        if not keys <= {"type", "items", "minItems", "maxItems"}:
            return None
        item = self.node(node["items"]) if "items" in node else None
        if item is None:
            return None
        fewest, most = node.get("minItems", 0), node.get("maxItems")

        def check(value) -> bool:
            if type(value) is not list or len(value) < fewest or (most is not None and len(value) > most):
                return False
            for element in value:
                if not item(element):
                    return False
            return True

        return check

    def number(self, node, keys, kind):
        if not keys <= {"type", "minimum", "maximum"}:
            return None
        low, high = node.get("minimum"), node.get("maximum")

        def bounded(value) -> bool:
            return (low is None or value >= low) and (high is None or value <= high)

        if kind == "integer":
            return lambda value: type(value) is int and bounded(value)
        return lambda value: (type(value) is int or (type(value) is Decimal and value.is_finite())) and bounded(value)

    def text(self, node, keys):
        if not keys <= {"type", "minLength", "maxLength", "pattern", "format"}:
            return None
        first, last = self.first, self.last
        if "format" in node or "pattern" in node:
            if node.get("format") != "date" or node.get("pattern") != _DATE_PATTERN or keys - {"type", "pattern",
                                                                                              "format"}:
                return None
            return lambda value: is_date_in_range(value, first, last)
        shortest, longest = node.get("minLength", 0), node.get("maxLength")
        shape = DATE_SHAPE.fullmatch

        # A free text shaped like a date is checked for the calendar's years by schema.py: left to it.
        def check(value) -> bool:
            return (type(value) is str and len(value) >= shortest and (longest is None or len(value) <= longest)
                    and not shape(value))

        return check

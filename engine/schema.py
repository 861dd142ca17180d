"""Check a document against one of the published JSON Schemas.

The schemas in ``schemas/`` are the contract an editor can use too; this module
only turns jsonschema's errors into diagnostics an analyst can act on: the line
and column of the node at fault, the unknown field with the closest known one,
a YAML hint when a value was typed differently from what the writer meant.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from decimal import Decimal

from aci_rules import package_files

from .diagnostic import Diagnostic, Message, excerpt, msg, suggest
from .typedcheck import compile_check
from .yaml_loader import Document, walk

__all__ = ["load_schema", "schema_diagnostics", "is_valid", "MIN_YEAR", "MAX_YEAR"]

# Dates outside this range are typos (2202 for 2022) in a domain that starts in
# 2019; refusing them also keeps date arithmetic far from datetime's limits.
MIN_YEAR = 1900
MAX_YEAR = 2100

_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_TYPE_WORDS = {
    "string": msg("a text"),
    "integer": msg("a whole number"),
    "number": msg("a number"),
    "boolean": msg("true or false"),
    "object": msg("a mapping (key: value)"),
    "array": msg("a list"),
    "null": msg("nothing"),
}


def _either(words: list) -> Message:
    """'a, b or c' of a list of words (messages or texts)."""
    if len(words) == 1:
        return words[0] if isinstance(words[0], Message) else msg("{word}", word=words[0])
    return msg("{items} or {last}", items=[w if isinstance(w, Message) else msg("{word}", word=w)
                                           for w in words[:-1]], last=words[-1])


def _at(where: str):
    return msg(" in {where}", where=where) if where else ""


@functools.cache
def load_schema(name: str) -> dict:
    """The JSON Schema ``schemas/<name>.schema.json`` shipped with the package."""
    text = package_files("aci_rules.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    # Bounds as exact decimals: read as a float, 999999999999.99 is 999999999999.98999...,
    # and the amount 999999999999.99 was "above the maximum 999999999999.99".
    return json.loads(text, parse_float=Decimal)


@functools.cache
def _validator(name: str):
    # jsonschema is imported here, when a document did not pass the typed check: about
    # 50 ms that `aci-rules eval` of a valid profile does not pay.
    import jsonschema

    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@functools.cache
def typed_check(name: str):
    """The fast predicate derived from schema ``name`` (see :mod:`.typedcheck`): true only for
    data without any diagnostic of :func:`schema_diagnostics`; None when the schema is beyond it."""
    return compile_check(load_schema(name), MIN_YEAR, MAX_YEAR)


def is_valid(data, name: str) -> bool:
    """True when ``data`` satisfies schema ``name`` (no diagnostics)."""
    check = typed_check(name)
    return (check is not None and check(data)) or _validator(name).is_valid(data)


def schema_diagnostics(document: Document, name: str) -> list[Diagnostic]:
    """Every problem of ``document`` against schema ``name``, sorted by position.

    A document the typed check passes has none; any other is checked in full by jsonschema.
    """
    check = typed_check(name)
    if check is not None and check(document.data):
        return []
    validator = _validator(name)
    found: dict[tuple, Diagnostic] = {}
    for error in validator.iter_errors(document.data):
        for diagnostic in _translate(error, document):
            found.setdefault((diagnostic.line, diagnostic.column, diagnostic.message), diagnostic)
    found.update({(d.line, d.column, d.message): d for d in _date_range(document)})
    return sorted(found.values(), key=lambda d: (d.line or 0, d.column or 0, d.code))


def _describe(value) -> Message:
    if isinstance(value, bool):
        return msg("the value {value}", value=str(value).lower())
    if isinstance(value, (int, Decimal)):
        return msg("the number {value}", value=value)
    if isinstance(value, str):
        return msg("the text {value}", value=excerpt(value))
    if value is None:
        return msg("nothing")
    if isinstance(value, dict):
        return msg("a mapping")
    return msg("a list")


def _translate(error, document: Document):
    path = tuple(error.absolute_path)
    where = document.describe(path)
    at = _at(where)
    kind = error.validator
    instance = error.instance

    if "propertyNames" in error.absolute_schema_path:
        # jsonschema checks each key as an instance of its own, at the parent's path.
        yield document.diagnostic(
            "E204", msg("key {key} is not allowed{at}{hint}", key=excerpt(instance), at=at,
                        hint=_property_names_hint(error.schema)),
            path + (instance,), key=True)
        return

    if kind == "additionalProperties" and isinstance(instance, dict):
        known = list(error.schema.get("properties", {}))
        missing = _missing_required(error.schema, instance)
        for key in instance:
            if key in known or _matches_pattern(error.schema, key):
                continue
            guess = suggest(key, known)
            if guess:
                message = (msg("unknown field {key}{at}: did you mean '{guess}'? (it is required)",
                               key=excerpt(key), at=at, guess=guess) if guess in missing else
                           msg("unknown field {key}{at}: did you mean '{guess}'?", key=excerpt(key), at=at,
                               guess=guess))
            else:
                message = msg("unknown field {key}{at}; known fields: {known}", key=excerpt(key), at=at,
                              known=", ".join(known))
            yield document.diagnostic("E201", message, path + (key,), key=True)
        return

    if kind == "required":
        (name,) = re.findall(r"'([^']*)' is a required property", error.message) or [None]
        if name is None:
            name = str(error.message)
        extras = [k for k in instance if k not in error.schema.get("properties", {})]
        if suggest(name, extras):
            return  # reported once, as the misspelt field, by additionalProperties
        yield document.diagnostic("E202", msg("missing required field '{name}'{at}", name=name, at=at), path)
        return

    if kind == "type":
        expected = error.validator_value
        expected = [expected] if isinstance(expected, str) else list(expected)
        words = _either([_TYPE_WORDS.get(t, t) for t in expected])
        hint = _yaml_hint(instance, expected, document, path)
        if not path and isinstance(instance, str):
            # A file of plain text where YAML keys were expected: say what it is, never what it says.
            yield document.diagnostic("E203", msg("expected {expected}: this file is a plain text of {count} "
                                                  "characters, not YAML keys and values", expected=words,
                                                  count=len(instance)), path)
            return
        yield document.diagnostic("E203", msg("expected {expected}{at}, got {found}{hint}", expected=words, at=at,
                                              found=_describe(instance), hint=hint), path)
        return

    if kind == "enum":
        options = [str(o) for o in error.validator_value]
        guess = suggest(str(instance), options) if isinstance(instance, str) else None
        tail = (msg(": did you mean '{guess}'?", guess=guess) if guess else
                msg("; one of: {options}", options=", ".join(options)))
        yield document.diagnostic("E204", msg("{found} is not allowed{at}{hint}", found=_describe(instance), at=at,
                                              hint=tail), path)
        return

    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = error.validator_value
        found = _describe(instance)
        yield document.diagnostic("E204", {
            "minimum": msg("{found}{at} is below the minimum {bound}", found=found, at=at, bound=bound),
            "maximum": msg("{found}{at} is above the maximum {bound}", found=found, at=at, bound=bound),
            "exclusiveMinimum": msg("{found}{at} is not above {bound}", found=found, at=at, bound=bound),
            "exclusiveMaximum": msg("{found}{at} is not below {bound}", found=found, at=at, bound=bound),
        }[kind], path)
        return

    if kind in ("pattern", "format") and error.schema.get("format") == "date":
        yield document.diagnostic("E205", _date_message(instance, where), path)
        return

    if kind in ("oneOf", "anyOf") and error.context:
        from jsonschema.exceptions import best_match

        deepest = best_match(error.context)
        if deepest.validator == "required" and all(c.validator == "required" for c in error.context):
            names = _either([f"'{m}'" for m in (re.findall(r"'([^']*)' is a required", c.message)[0]
                                                 for c in error.context)])
            yield document.diagnostic("E202", msg("needs {names}{at}", names=names, at=at), path)
            return
        if isinstance(instance, (str, int, Decimal, bool)) and not isinstance(instance, dict):
            yield document.diagnostic(
                "E203", msg("{found} is not allowed{at}: expected {expected}", found=_describe(instance), at=at,
                            expected=_oneof_words(error.schema)), path)
            return
        yield from _translate(deepest, document)
        return

    if kind in ("minLength", "maxLength", "minItems", "minProperties"):
        yield document.diagnostic("E204", msg("{where}: {problem}", where=where or "value", problem=error.message),
                                  path)
        return

    if kind == "pattern":
        yield document.diagnostic(
            "E204", msg("{found}{at} does not have the expected form ({pattern})", found=_describe(instance),
                        at=at, pattern=_plain_pattern(error.validator_value)),
            path)
        return

    yield document.diagnostic("E200", msg("{where}: {problem}", where=where or "document", problem=error.message),
                              path)


def _missing_required(schema, instance) -> set:
    return {name for name in schema.get("required", []) if name not in instance}


def _matches_pattern(schema, key) -> bool:
    return any(re.search(p, key) for p in schema.get("patternProperties", {}))


def _plain_pattern(pattern: str) -> str:
    # Every pattern ends '(?!\n)$' so that Python's '$' refuses a trailing newline; a reader needs only '$'.
    return pattern.replace(r"(?!\n)", "")


def _property_names_hint(schema):
    pattern = _plain_pattern(schema.get("pattern") or "")
    if pattern == "^(?:[1-9][0-9]?\\.)?[1-5]$":
        return msg(" (contract years are 1 to 5; year k of a later contract n is n.k, e.g. 2.1)")
    if pattern == "^[1-9]$":
        return msg(" (expected a taille: 1, 2, 3 ...)")
    if pattern:
        return msg(" (keys are lower-case names: {pattern})", pattern=pattern)
    return ""


def _oneof_words(schema) -> Message:
    words = []
    for option in schema.get("oneOf", schema.get("anyOf", [])):
        ref = option.get("$ref", "")
        if ref.endswith("/amount"):
            words.append(msg("an amount (a number of euros)"))
        elif ref.endswith("/date"):
            words.append(msg("a date (YYYY-MM-DD)"))
        elif ref.endswith("/expression"):
            words.append(msg("an expression"))
        elif option.get("type") == "boolean":
            words.append(msg("true or false"))
        elif option.get("type") == "object":
            words.append(msg("a mapping"))
        elif ref.endswith("/confidence"):
            words.append(msg("confirmed, derived, unverified or proposed"))
    return _either(words) if words else msg("another form")


def _yaml_hint(instance, expected, document: Document, path):
    style = document.styles.get(path)
    if "string" in expected and isinstance(instance, (int, Decimal, bool)) and style == "":
        if isinstance(instance, bool):
            return msg(" (YAML read it as a boolean: quote it if a text is meant)")
        return msg(" (YAML read it as a number: quote it if a text is meant)")
    if isinstance(instance, str) and set(expected) & {"integer", "number"}:
        if re.fullmatch(r"[-+]?[0-9 ]+,[0-9]+", instance):
            return msg(" (write decimals with a point: 12.50)")
        if style in ("'", '"') and re.fullmatch(r"[-+]?[0-9.]+", instance):
            return msg(" (remove the quotes)")
    if "integer" in expected and isinstance(instance, Decimal):
        return msg(" (a count has no decimals)")
    return ""


def _date_message(value, where: str) -> Message:
    at = _at(where)
    if not isinstance(value, str):
        return msg("expected a date (YYYY-MM-DD){at}, got {found}", at=at, found=_describe(value))
    if not _DATE_SHAPE.fullmatch(value):
        return msg("'{value}'{at} is not a date written YYYY-MM-DD (e.g. 2023-01-15)", value=value, at=at)
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return msg("'{value}'{at} is not a date of the calendar", value=value, at=at)
    return msg("'{value}'{at} is not a valid date", value=value, at=at)


def _date_range(document: Document):
    """Dates of the calendar but outside MIN_YEAR..MAX_YEAR."""
    for path, node in walk(document.data):
        if isinstance(node, str) and _DATE_SHAPE.fullmatch(node):
            try:
                year = datetime.date.fromisoformat(node).year
            except ValueError:
                continue  # not a date of the calendar: the schema's format check says so
            if not MIN_YEAR <= year <= MAX_YEAR:
                yield document.diagnostic(
                    "E205", msg("'{value}' in {where} is outside the years {first}..{last}", value=node,
                                where=document.describe(path), first=MIN_YEAR, last=MAX_YEAR),
                    path)

"""The one currency of every check: a :class:`Diagnostic`, and the exception tree.

A diagnostic knows where it is (file, line, column, and the path of the YAML node
at fault) and renders itself as ``file:line:col: CODE message``. Checkers yield
diagnostics relative to the node they look at; the caller fills in the file and
the position from the document's side table.

Codes, by phase:

* ``E0xx`` reading the file and its YAML;
* ``E1xx`` expressions (syntax, names, forbidden constructs, cycles);
* ``E2xx`` structure: what the JSON Schemas and the cross-field checks find;
* ``E3xx`` ruleset semantics (size table, dates, amendments, rulesets in force);
* ``E4xx`` evaluation (division by zero, type errors);
* ``W0xx`` warnings, which never change the exit code.

A message is a :class:`Message`: an English template with named parameters
(``msg("unknown column '{name}'", name=name)``). The engine only builds it; the
command line renders it in the reader's language at output time, through the gettext
catalogs of ``cli/locale`` (the template is the msgid). ``Diagnostic.message`` is the
English rendering, for programs and logs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from .records import record

__all__ = [
    "Message",
    "msg",
    "Diagnostic",
    "AciError",
    "InputError",
    "EvaluationError",
    "format_path",
    "suggest",
    "excerpt",
    "printable",
    "MAX_EXCERPT",
]

# A message quotes at most this many characters of a user's text: a file that is not
# what was expected (a key, a password file) must never be echoed whole.
MAX_EXCERPT = 40


def printable(text: str) -> str:
    """``text`` with every control character (terminal escapes, line breaks) written as an escape.

    >>> print(printable("fixe" + chr(10) + chr(27) + "[31m"))
    fixe\\n\\x1b[31m
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def excerpt(text: str) -> str:
    """A short, escaped quotation of a user's text for a message.

    >>> print(excerpt("fixe" + chr(10)))
    'fixe\\n'
    >>> excerpt("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (100 characters)"
    """
    if len(text) <= MAX_EXCERPT:
        return f"'{printable(text)}'"
    return f"'{printable(text[:MAX_EXCERPT])}…' ({len(text)} characters)"

def plain_decimal(value) -> str:
    """A decimal as a person writes it: no exponent, no trailing zeros.

    >>> from decimal import Decimal
    >>> plain_decimal(Decimal("10.00")), plain_decimal(Decimal("12.50")), plain_decimal(Decimal("1E+2"))
    ('10', '12.5', '100')
    """
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


Path = tuple  # a path into a YAML document: keys (str) and list indexes (int)


def format_path(path: Sequence) -> str:
    """Render a document path the way an analyst reads it.

    >>> format_path(("lines", 3, "when"))
    'lines[3].when'
    >>> format_path(())
    ''
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt ``name``, or None.

    >>> suggest("populaton", ["population", "members"])
    'population'
    >>> suggest("zzz", ["population"]) is None
    True
    """
    import difflib  # only when a name is misspelt: no command that succeeds pays its import

    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.7)
    return matches[0] if matches else None


def _identity(text: str) -> str:
    return text


@record
class Message:
    """A text for a person, not yet in a language: an English template (the gettext msgid)
    and its named parameters, which may be messages themselves.

    >>> hint = msg(": did you mean '{guess}'?", guess="population")
    >>> str(msg("unknown column '{name}'{hint}", name="populaton", hint=hint))
    "unknown column 'populaton': did you mean 'population'?"
    >>> msg("{count} cells", count=3).render(lambda t: {"{count} cells": "{count} cellules"}.get(t, t))
    '3 cellules'
    """

    template: str
    params: dict = dataclasses.field(default_factory=dict)

    def render(self, translate=_identity) -> str:
        """The text in the language ``translate`` (template -> template) gives."""
        if not self.params:  # a template without parameters is shown as written
            return translate(self.template)
        values = {key: _rendered(value, translate) for key, value in self.params.items()}
        return translate(self.template).format(**values)

    def __str__(self) -> str:
        return self.render()

    def __hash__(self) -> int:  # a message is a value: the same template and parameters, the same message
        return hash((self.template, repr(sorted(self.params.items()))))

    def __add__(self, other):  # "message" + " more": one message of two parts
        return msg("{first}{second}", first=self, second=other)

    def __radd__(self, other):
        return msg("{first}{second}", first=other, second=self)


def _rendered(value, translate):
    if isinstance(value, Message):
        return value.render(translate)
    if isinstance(value, list) and all(isinstance(item, Message) for item in value):
        return ", ".join(item.render(translate) for item in value)  # a list of parts, in order
    return value


def msg(template: str, **params) -> Message:
    """A :class:`Message`; ``template`` must be a literal (the catalogs are built from the code)."""
    return Message(template, params)


@record
class Diagnostic:
    """One problem found in one place.

    ``line`` and ``column`` are 1-based; they are None when the problem has no
    position (a file that cannot be read, a date given on the command line).
    """

    code: str
    message: str  # in English; built from ``text`` when a Message is given
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: tuple = ()
    severity: str = "error"
    subject: str | None = dataclasses.field(default=None, compare=False)  # the name at fault, if any
    text: Message | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if isinstance(self.message, Message):
            object.__setattr__(self, "text", self.message)
            object.__setattr__(self, "message", self.message.render())
        elif self.text is None or self.text.render() != self.message:  # a text given as is
            object.__setattr__(self, "text", Message(self.message))

    def __str__(self) -> str:
        return self.render()

    def render(self, translate=_identity) -> str:
        """``file:line:col: CODE message``, the message in the language ``translate`` gives."""
        where = self.file or "aci-rules"  # a problem of the command line, not of a file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{printable(where)}: {self.code} {printable(self.text.render(translate))}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": format_path(self.path),
            "severity": self.severity,
        }


class AciError(Exception):
    """Base of every error aci-rules raises on purpose."""


class InputError(AciError):
    """The input (a ruleset, a profile, an option value) has problems.

    Carries every diagnostic found, not only the first.
    """

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class EvaluationError(InputError):
    """An expression failed while a profile was evaluated (division by zero, types)."""

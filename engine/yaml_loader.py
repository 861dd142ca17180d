"""Read one YAML file into plain data, with the line and column of every node.

The only module that touches files and YAML. It builds the data itself from
PyYAML's event stream (it never calls a constructor), which lets it:

* refuse anchors, aliases, merge keys and tags at the first one met (an alias
  bomb is stopped at its first ``&``; ``!!python/...`` never reaches a
  constructor);
* refuse a duplicate key, saying where the first one was;
* stop a deep nesting at :data:`MAX_DEPTH` before anything recursive runs;
* type plain scalars by a strict subset of YAML 1.2, and report every scalar
  that a YAML 1.1 reader would type differently (``NO``, ``on``, ``010``,
  ``12:30``, ``1e3``) instead of converting it silently.

Dates are kept as their text (the JSON Schemas check them as ``format: date``);
numbers become ``int`` or :class:`decimal.Decimal`, never ``float``. Mapping
keys are always strings (``{1: 0.8}`` has the key ``"1"``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import stat
from decimal import Decimal
from typing import Any

import yaml

from .diagnostic import Diagnostic, InputError, msg
from .records import record

__all__ = [
    "Document",
    "Positions",
    "load_document",
    "walk",
    "parse_document",
    "MAX_FILE_BYTES",
    "MAX_DEPTH",
    "MAX_NUMBER_DIGITS",
    "MAX_NODES",
    "read_bytes",
    "decode_text",
]

# A shipped ruleset is about 20 KB and a profile under 1 KB: 2 MiB leaves room for
# a large national ruleset while refusing a 100 MB file (or /dev/zero) before any
# byte of it is parsed.
MAX_FILE_BYTES = 2 * 1024 * 1024

# Rulesets nest about 6 levels deep. PyYAML's composer (and the C loader) recurse
# once per level and crash on tens of thousands of '['; we stop long before.
MAX_DEPTH = 32

# Bounds the work of one file whatever its shape (a flat list of a million '0,').
MAX_NODES = 100_000

# No figure of the ACI needs more than 12 digits before the point and 2 after it;
# a longer literal is a typo (and an int of 100 000 digits is slow to convert).
MAX_NUMBER_DIGITS = 15

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_YAML11_BOOL = {
    word
    for base in ("yes", "no", "on", "off")
    for word in (base, base.capitalize(), base.upper())
}
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)")
_OCTAL_LIKE = re.compile(r"[-+]?0[0-9]+(\.[0-9]*)?")
_RADIX = re.compile(r"[-+]?0[xXoObB][0-9a-fA-F_]+")
_UNDERSCORE_NUMBER = re.compile(r"[-+]?[0-9][0-9_]*_[0-9_]*(\.[0-9_]*)?")
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?")
_EXPONENT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(inf|Inf|INF|nan|NaN|NAN)")


class _Located:
    """Where the nodes of a file stand: what :class:`Document` and :class:`Positions` share.

    ``marks`` maps a path (a tuple of keys and indexes) to the 1-based line and column of
    the node's value; ``key_marks`` to the position of the key that names it; ``styles``
    to the scalar style (``""`` for plain, ``"'"``, ``'"'``, ``"|"``, ``">"``) so that an
    error inside an expression can point at the right column. A consolidated ruleset (an
    avenant applied to its base) has subtrees from several files: ``origins`` maps the path
    of such a subtree to its file, ``aliases`` a path to its path in the file it came from.
    The two values a position needs of the data itself are asked of :meth:`_item_id` and
    :meth:`_scalar_text`. (The attributes ``file``, ``marks``, ``key_marks``, ``styles``,
    ``origins``, ``sources`` and ``aliases`` are the fields of both.)
    """

    def _item_id(self, path) -> str | None:
        """The ``id`` of the mapping at ``path``, when it is one and has a text id."""
        raise NotImplementedError

    def _scalar_text(self, path) -> str | None:
        """The text of the scalar at ``path``, when it is a text."""
        raise NotImplementedError

    def source_path(self, path) -> tuple:
        """The path of the node at ``path`` in the file it was written in.

        >>> doc = Document("t.yaml", {}, aliases={("lines", 3): ("changes", "lines", "add", 0)})
        >>> doc.source_path(("lines", 3, "amount"))
        ('changes', 'lines', 'add', 0, 'amount')
        """
        path = tuple(path)
        for size in range(len(path), -1, -1):
            if path[:size] in self.aliases:
                return self.aliases[path[:size]] + path[size:]
        return path

    def describe(self, path) -> str:
        """How a message names the node at ``path``: its path in the file it was written in,
        an item of a list named by its ``id`` when it has one.

        >>> doc = Document("t.yaml", {"lines": [{"id": "a"}, {"id": "fixe", "amount": 1}]})
        >>> doc.describe(("lines", 1, "amount"))
        'lines[fixe].amount'
        >>> doc = Document("t.yaml", {"lines": [{"id": "fixe"}]}, aliases={("lines", 0): ("changes", "lines", "add", 2)})
        >>> doc.describe(("lines", 0, "when"))
        'changes.lines.add[fixe].when'
        >>> doc.aliases = {("lines", 0, "when"): ("changes", "lines", "change", 1, "when")}
        >>> doc.describe(("lines", 0, "when"))
        'changes.lines.change[fixe].when'
        """
        path = tuple(path)
        size, head = 0, ()
        for size in range(len(path), -1, -1):
            if path[:size] in self.aliases:
                head = self.aliases[path[:size]]
                break
        else:
            size = 0
        parts = head + path[size:]
        # Which node of ``path`` each part of the written path stands for.
        # (an alias's written path ends like the path it stands for: align them from the end)
        node_of = {len(head) - back: size - back for back in range(1, min(len(head), size) + 1)}
        node_of.update({len(head) + index - size: index for index in range(size, len(path))})
        out = ""
        for position, part in enumerate(parts):
            if isinstance(part, int):
                label = self._item_id(path[: node_of[position] + 1]) if position in node_of else None
                out += f"[{label if label is not None else part}]"
            else:
                out += ("." if out else "") + str(part)
        return out

    def file_of(self, path) -> str:
        """The file the node at ``path`` was written in."""
        path = tuple(path)
        while path:
            if path in self.origins:
                return self.origins[path]
            path = path[:-1]
        return self.origins.get((), self.file)

    def has(self, path) -> bool:
        """Whether a node stands at ``path``."""
        return tuple(path) in self.marks

    def scalar_position(self, path, index: int) -> tuple[int, int] | None:
        """Line and column of the character at ``index`` of the scalar at ``path``.

        Follows the scalar through the source as YAML folded it (a line break read
        as a space, indentation dropped), for plain, quoted and block scalars.
        None when the source is not at hand.

        >>> doc = parse_document(b"a: one two\\n  three four\\n", "t.yaml")
        >>> doc.scalar_position(("a",), 14)
        (2, 9)
        """
        path = tuple(path)
        style, mark = self.styles.get(path), self.marks.get(path)
        lines = self.sources.get(self.file_of(path))
        value = self._scalar_text(path)
        if style is None or mark is None or lines is None or not isinstance(value, str):
            return None
        line, column = mark[0] - 1, mark[1] - 1
        if style in ("'", '"'):
            column += 1
        elif style in ("|", ">"):
            line += 1
            if line >= len(lines):
                return None
            column = len(lines[line]) - len(lines[line].lstrip(" "))
        block_indent = column
        for position in range(min(index, len(value))):
            if value[position] == "\n" or column >= len(lines[line].rstrip()):
                line += 1
                if line >= len(lines):
                    return None
                text = lines[line]
                column = (min(block_indent, len(text) - len(text.lstrip(" "))) if style in ("|", ">")
                          else len(text) - len(text.lstrip(" ")))
                continue
            column += 1
        if line < len(lines) and column >= len(lines[line].rstrip()) and style not in ("|", ">"):
            return (line + 1, column + 1)
        return (line + 1, column + 1)

    def position(self, path, *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while True:
            if key and path in self.key_marks:
                return self.key_marks[path]
            if path in self.marks:
                return self.marks[path]
            if not path:
                return (None, None)
            path = path[:-1]

    def diagnostic(self, code: str, message: str, path=(), *, key: bool = False,
                   severity: str = "error", index: int | None = None) -> Diagnostic:
        """A diagnostic at ``path`` in this document.

        ``index`` points inside the scalar at ``path``, e.g. at a name inside an
        expression (the character's index in the scalar's value).
        """
        line, column = self.position(path, key=key)
        if index is not None:
            line, column = self.scalar_position(path, index) or (line, column)
        return Diagnostic(code, message, self.file_of(path), line, column, self.source_path(path), severity)


@record(frozen=False)
class Document(_Located):
    """The data of one YAML file and where each of its nodes stands (see :class:`_Located`)."""

    file: str
    data: Any
    marks: dict = dataclasses.field(default_factory=dict)
    key_marks: dict = dataclasses.field(default_factory=dict)
    styles: dict = dataclasses.field(default_factory=dict)
    origins: dict = dataclasses.field(default_factory=dict)
    sources: dict = dataclasses.field(default_factory=dict)  # file -> its lines, to point inside scalars
    aliases: dict = dataclasses.field(default_factory=dict)  # path here -> its path in the file it came from
    digest: str | None = None  # SHA-256 of the bytes read: what a cache keys on (never id())

    def _item_id(self, path) -> str | None:
        node = self.get(path)
        return node["id"] if isinstance(node, dict) and isinstance(node.get("id"), str) else None

    def _scalar_text(self, path) -> str | None:
        value = self.get(path)
        return value if isinstance(value, str) else None

    def subtree(self, path) -> "Document":
        """The node at ``path`` as a document of its own, positions kept.

        >>> doc = parse_document(b"a:\\n  b: 1\\n", "t.yaml")
        >>> sub = doc.subtree(("a",))
        >>> sub.data, sub.position(("b",))
        ({'b': 1}, (2, 6))
        """
        path = tuple(path)
        size = len(path)
        result = Document(self.file_of(path), self.get(path))
        for source, target in ((self.marks, result.marks), (self.key_marks, result.key_marks),
                               (self.styles, result.styles), (self.origins, result.origins),
                               (self.aliases, result.aliases)):
            for key, value in source.items():
                if key[:size] == path:
                    target[key[size:]] = value
        result.sources = self.sources
        return result

    def get(self, path, default=None):
        """The value at ``path``, or ``default``."""
        node = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return default
        return node


def walk(data):
    """Every node of a document's data with its path, ``(path, node)``, the document itself first;
    iterative (a deep document never exhausts the stack)."""
    stack = [((), data)]
    while stack:
        path, node = stack.pop()
        yield path, node
        if isinstance(node, dict):
            stack.extend((path + (key,), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((path + (index,), item) for index, item in enumerate(node))


@record(eq=False)
class Positions(_Located):
    """Where each node of a (consolidated) document was written, without its data: the table a
    compiled ruleset keeps for the diagnostics of its evaluation, the sites of coverage and
    mutation, and nothing else. Besides the positions of :class:`_Located` it holds the two
    things a position needs of the data: the ``id`` of each list item (``lines[fixe]``) and the
    text of each scalar (to point inside a formula)."""

    file: str
    marks: dict
    key_marks: dict
    styles: dict
    origins: dict
    sources: dict
    aliases: dict
    ids: dict  # path of a list item -> its text id
    texts: dict  # path of a text scalar -> its text

    @classmethod
    def of(cls, document: Document) -> "Positions":
        """The positions of ``document``, read once (one walk of its data)."""
        ids, texts = {}, {}
        for path, node in walk(document.data):
            if isinstance(node, list):
                for index, item in enumerate(node):
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        ids[path + (index,)] = item["id"]
            elif isinstance(node, str):
                texts[path] = node
        return cls(document.file, dict(document.marks), dict(document.key_marks), dict(document.styles),
                   dict(document.origins), dict(document.sources), dict(document.aliases), ids, texts)

    def _item_id(self, path) -> str | None:
        return self.ids.get(tuple(path))

    def _scalar_text(self, path) -> str | None:
        return self.texts.get(tuple(path))

    # Pickled (the compiled-texts cache, engine/cache.py) as one block of bytes, unpacked when a
    # position is first asked: an `eval` that reports no problem of the shipped texts never asks,
    # and the table was three quarters of the cache file and 40 % of the time to read it.

    def __reduce__(self):
        packed = self.__dict__.get("_packed")
        if packed is None:
            import pickle

            packed = pickle.dumps(tuple(getattr(self, name) for name in _PACKED_FIELDS),
                                  protocol=pickle.HIGHEST_PROTOCOL)
        return (_packed_positions, (self.file, packed))

    def __getattr__(self, name):
        # Reached only for an attribute not set: the fields of a table not unpacked yet.
        packed = self.__dict__.get("_packed")
        if packed is None or name not in _PACKED_FIELDS:
            raise AttributeError(name)
        for field, value in zip(_PACKED_FIELDS, _unpack(packed)):
            object.__setattr__(self, field, value)
        del self.__dict__["_packed"]
        return getattr(self, name)


_PACKED_FIELDS = tuple(field.name for field in dataclasses.fields(Positions) if field.name != "file")


def _packed_positions(file: str, packed: bytes) -> Positions:
    """A :class:`Positions` read from a pickle, its table still packed (see ``Positions.__reduce__``)."""
    if not isinstance(file, str) or not isinstance(packed, bytes):
        raise TypeError("not a table of positions")
    positions = object.__new__(Positions)
    object.__setattr__(positions, "file", file)
    object.__setattr__(positions, "_packed", packed)
    return positions


def _unpack(packed: bytes) -> tuple:
    """The fields of a packed table: plain data only (dicts, tuples, lists, texts, numbers), no
    object of any class, so that even a forged cache file builds nothing else. A table that
    cannot be read (a damaged file) is an empty one: a diagnostic then goes without its line."""
    import io
    import pickle

    class DataOnly(pickle.Unpickler):
        def find_class(self, module, name):
            raise pickle.UnpicklingError(f"{module}.{name}: a table of positions holds plain data only")

    try:
        fields = DataOnly(io.BytesIO(packed)).load()
        if isinstance(fields, tuple) and len(fields) == len(_PACKED_FIELDS) and all(
                isinstance(f, dict) for f in fields):
            return fields
    except Exception:  # noqa: BLE001 — a table that cannot be read is none
        pass
    return tuple({} for _ in _PACKED_FIELDS)


def load_document(filename: str | os.PathLike, display_name: str | None = None) -> Document:
    """Read and parse one YAML file.

    Takes a path; ``display_name`` is what diagnostics call the file (by default
    the path as given). Returns a :class:`Document`. Raises :class:`InputError`
    with every problem found (one when the file cannot be read at all).
    """
    name = display_name or os.fspath(filename)
    raw = read_bytes(filename, name)
    return parse_document(raw, name)


def parse_document(raw: bytes, name: str) -> Document:
    """Parse bytes already read. See :func:`load_document`.

    >>> parse_document(b"a: 1\\nb: [x, 2.50]\\n", "t.yaml").data
    {'a': 1, 'b': ['x', Decimal('2.50')]}
    >>> parse_document(b"a: 1\\na: 2\\n", "t.yaml")
    Traceback (most recent call last):
    ...
    aci_rules.engine.diagnostic.InputError: t.yaml:2:1: E008 duplicate key 'a', first at line 1
    """
    text = decode_text(raw, name)
    builder = _Builder(name)
    builder.build(text)
    if builder.errors:
        raise InputError(builder.errors)
    builder.document.sources = {name: text.split("\n")}
    builder.document.digest = hashlib.sha256(raw).hexdigest()
    return builder.document


def read_bytes(filename, name: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; InputError (E001) otherwise.

    A directory, a FIFO (whose open would block) or a device (/dev/zero never ends) is
    refused before it is opened; the size is checked before reading, and again while
    reading, for a file that grows.
    """

    def fail(message: str):
        raise InputError([Diagnostic("E001", message, name)])

    try:
        info = os.stat(filename)
    except FileNotFoundError:
        fail(msg("no such file"))
    except OSError as exc:
        fail(msg("cannot read: {reason}", reason=exc.strerror or str(exc)))
    if stat.S_ISDIR(info.st_mode):
        fail(msg("is a directory, not a YAML file"))
    if not stat.S_ISREG(info.st_mode):
        # A FIFO would block the open; a device like /dev/zero never ends.
        fail(msg("is not a regular file (a FIFO, a device or a socket)"))
    if info.st_size > limit:
        fail(msg("is {size} bytes; the limit is {limit} bytes", size=info.st_size, limit=limit))
    try:
        with open(filename, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        fail(msg("cannot read: {reason}", reason=exc.strerror or str(exc)))
    if len(raw) > limit:
        fail(msg("is over the limit of {limit} bytes", limit=limit))
    return raw


def _line_col(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    line = before.count(b"\n") + 1
    column = offset - (before.rfind(b"\n") + 1) + 1
    return line, column


def decode_text(raw: bytes, name: str) -> str:
    """UTF-8 text of ``raw`` (a BOM is accepted); InputError (E002) at the first NUL or bad byte."""
    nul = raw.find(b"\x00")
    if nul >= 0:
        line, col = _line_col(raw, nul)
        raise InputError([Diagnostic("E002", msg("NUL byte: this is not a text file"), name, line, col)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw, exc.start)
        raise InputError([Diagnostic(
            "E002", msg("not UTF-8: byte 0x{byte:02x} (save the file as UTF-8; Latin-1 'é' is one such byte)",
                        byte=raw[exc.start]), name, line, col)]) from None
    return text[1:] if text.startswith("\ufeff") else text


def resolve_plain(text: str):
    """Type a plain (unquoted) scalar. Returns ``(value, problem)``.

    ``problem`` is a message when YAML 1.1 and 1.2 readers would disagree, or the
    text is a number this language refuses; the value is then the text.

    >>> resolve_plain("12")
    (12, None)
    >>> resolve_plain("0.80")
    (Decimal('0.80'), None)
    >>> resolve_plain("2023-06-01")
    ('2023-06-01', None)
    >>> str(resolve_plain("NO")[1])
    "'NO' is read as false by YAML 1.1 and as a text by YAML 1.2: write false, or quote it ('NO')"
    """
    if text in _NULL:
        return None, None
    if text in _BOOL:
        return _BOOL[text], None
    if text in _YAML11_BOOL:
        truth = "true" if text.lower() in ("yes", "on") else "false"
        return text, msg("'{text}' is read as {truth} by YAML 1.1 and as a text by YAML 1.2: write {truth}, or "
                         "quote it ('{text}')", text=text, truth=truth)
    first = text[0]
    if not (first.isdigit() or first in "+-."):
        return text, None
    if _INT.fullmatch(text):
        if len(text.lstrip("+-")) > MAX_NUMBER_DIGITS:
            return text, f"number {text[:20]}... has more than {MAX_NUMBER_DIGITS} digits"
        if text.startswith("-") and text.lstrip("-") == "0":
            return text, msg("'{text}' is a negative zero: write 0", text="-0")
        return int(text), None
    if _DECIMAL.fullmatch(text):
        digits = sum(ch.isdigit() for ch in text)
        if digits > MAX_NUMBER_DIGITS:
            return text, f"number {text[:20]}... has more than {MAX_NUMBER_DIGITS} digits"
        value = Decimal(text)
        if value == 0 and text.startswith("-"):
            return text, msg("'{text}' is a negative zero: write 0", text=text)
        return value, None
    if _OCTAL_LIKE.fullmatch(text):
        return text, msg("'{text}' has a leading zero, which YAML 1.1 reads as an octal number: write it "
                         "without the zero, or quote it ('{text}') if it is a text", text=text)
    if _RADIX.fullmatch(text) or _UNDERSCORE_NUMBER.fullmatch(text):
        return text, msg("'{text}' is a number only for some YAML readers: write it in plain decimal digits, "
                         "or quote it ('{text}')", text=text)
    if _SEXAGESIMAL.fullmatch(text):
        return text, msg("'{text}' is read as a base-60 number by YAML 1.1: quote it ('{text}') if it is a text",
                         text=text)
    if _EXPONENT.fullmatch(text):
        return text, msg("'{text}' uses exponent notation, read as a text by YAML 1.1 and as a number by YAML "
                         "1.2: write the number in full", text=text)
    if _SPECIAL_FLOAT.fullmatch(text):
        return text, msg("'{text}' is not a finite number", text=text)
    return text, None


_OPENERS = (("flow sequence", "the '['"), ("flow mapping", "the '{'"), ("quoted scalar", "the quote"),
            ("block", "the block"))


def _at_end(text: str, mark) -> bool:
    """True when ``mark`` is past the last character that is not white space."""
    lines = text.rstrip().split("\n")
    return mark.line > len(lines) - 1 or (mark.line == len(lines) - 1 and mark.column >= len(lines[-1]))


def _tab_at(text: str, mark) -> bool:
    lines = text.split("\n")
    if mark.line >= len(lines):
        return False
    line = lines[mark.line]
    return "\t" in line[: mark.column + 1]


class _Frame:
    __slots__ = ("container", "path", "pending_key", "key_line")

    def __init__(self, container, path):
        self.container = container
        self.path = path
        self.pending_key = None
        self.key_line = None


class _Builder:
    """Builds data from events, iteratively (no recursion, whatever the depth)."""

    def __init__(self, name: str):
        self.name = name
        self.errors: list[Diagnostic] = []
        self.document = Document(name, None)
        self.nodes = 0

    def error(self, code, message, mark, path=()):
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        self.errors.append(Diagnostic(code, message, self.name, line, column, tuple(path)))

    def build(self, text: str) -> None:
        try:
            self._build(yaml.parse(text, Loader=_Parser))
        except yaml.MarkedYAMLError as exc:
            if _is_parser_depth_limit(exc):
                self._depth_error(text, exc)
                return
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            if exc.context_mark is not None and mark is not None and _at_end(text, mark):
                # An unclosed bracket or quote is found at the end of the file: point at its opening.
                what = next((w for key, w in _OPENERS if key in (exc.context or "")), exc.context)
                problem = msg("{what} opened here is never closed ({problem})", what=what, problem=problem)
                mark = exc.context_mark
            if mark is not None and _tab_at(text, mark):
                problem = msg("{problem} (a tab: indent with spaces)", problem=problem)
            self.error("E003", msg("YAML syntax: {problem}", problem=problem), mark)
        except yaml.YAMLError as exc:  # ReaderError: a character YAML forbids
            self.error("E003", msg("YAML syntax: {problem}", problem=str(exc)), None)
        except _Stop:
            pass

    def _depth_error(self, text: str, exc: yaml.MarkedYAMLError) -> None:
        """Report a nesting the parser refused on its own, as our E009 at our limit.

        libyaml (bundled with PyYAML 6.0.4 and later) stops at its own depth (1000
        levels) while looking ahead, before our count sees level 33. The pure-Python
        parser has no such limit and emits events one at a time: read the text again
        with it, and our count stops at :data:`MAX_DEPTH` at the node at fault. Should
        that parser refuse too, the parser's own position is the best one known.
        """
        self.errors.clear()
        self.document = Document(self.name, None)
        self.nodes = 0
        try:
            self._build(yaml.parse(text, Loader=yaml.SafeLoader))
        except (_Stop, yaml.YAMLError):
            pass
        if not any(error.code == "E009" for error in self.errors):
            self.error("E009", msg("nested deeper than {limit} levels", limit=MAX_DEPTH),
                       exc.problem_mark or exc.context_mark)

    def _build(self, events) -> None:
        stack: list[_Frame] = []
        documents = 0
        doc = self.document
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    self.error("E005", msg("a second YAML document ('---'): a file holds one document"),
                               event.start_mark)
                    raise _Stop
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
                continue
            if isinstance(event, yaml.AliasEvent):
                self.error("E006", msg("aliases ('*') are not part of the language: write the value out"),
                           event.start_mark)
                raise _Stop
            if getattr(event, "anchor", None) is not None:
                self.error("E006", msg("anchors ('&') are not part of the language: write the value out"),
                           event.start_mark)
                raise _Stop
            if getattr(event, "tag", None) is not None:
                self.error("E007", msg("tags ('{tag}') are not part of the language", tag=event.tag),
                           event.start_mark)
                raise _Stop
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                finished = stack.pop()
                if stack:
                    self._attach(stack[-1], finished.container, finished.path, event)
                else:
                    doc.data = finished.container
                continue

            self.nodes += 1
            if self.nodes > MAX_NODES:
                self.error("E009", msg("more than {limit} YAML nodes", limit=MAX_NODES), event.start_mark)
                raise _Stop
            parent = stack[-1] if stack else None
            if parent is not None and isinstance(parent.container, dict) and parent.pending_key is None:
                self._take_key(parent, event)
                continue
            path = self._child_path(parent)
            doc.marks[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    self.error("E009", msg("nested deeper than {limit} levels", limit=MAX_DEPTH), event.start_mark)
                    raise _Stop
                container = {} if isinstance(event, yaml.MappingStartEvent) else []
                if parent is not None:
                    self._reserve(parent)
                stack.append(_Frame(container, path))
                continue
            # A scalar value.
            value = self._scalar(event, path)
            doc.styles[path] = event.style or ""
            if parent is None:
                doc.data = value
            else:
                self._attach(parent, value, path, event)
        if documents == 0 or (doc.data is None and not doc.marks):
            self.error("E004", msg("the file is empty (no YAML document, or only comments)"), None)

    def _child_path(self, parent):
        if parent is None:
            return ()
        if isinstance(parent.container, dict):
            return parent.path + (parent.pending_key,)
        return parent.path + (len(parent.container),)

    def _reserve(self, parent):
        # A container's place in its parent is taken when it starts, so that the
        # paths of its children are right; it is filled when it ends.
        if isinstance(parent.container, list):
            parent.container.append(None)

    def _attach(self, parent: _Frame, value, path, event):
        if isinstance(parent.container, dict):
            key = parent.pending_key
            if key is not _DUPLICATE:
                parent.container[key] = value
            parent.pending_key = None
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            parent.container[path[-1]] = value
        else:
            parent.container.append(value)

    def _take_key(self, parent: _Frame, event):
        if not isinstance(event, yaml.ScalarEvent):
            self.error("E003", msg("a key must be a simple text, not a list or a mapping"),
                       event.start_mark, parent.path)
            raise _Stop
        key = event.value
        if not event.style:
            value, problem = resolve_plain(key)
            if problem:
                self.error("E010", msg("key {problem}", problem=problem), event.start_mark, parent.path + (key,))
            elif value is None or isinstance(value, bool):
                self.error("E010", msg("key '{key}' reads as {value}: quote it", key=key, value=repr(value)),
                           event.start_mark,
                           parent.path + (key,))
        line, column = event.start_mark.line + 1, event.start_mark.column + 1
        if key in parent.container:
            first_line = self.document.key_marks[parent.path + (key,)][0]
            self.error("E008", msg("duplicate key '{key}', first at line {line}", key=key, line=first_line),
                       event.start_mark, parent.path + (key,))
            parent.pending_key = _DUPLICATE
            return
        if key == "<<":
            self.error("E006", msg("merge keys ('<<') are not part of the language: write the values out"),
                       event.start_mark, parent.path)
            raise _Stop
        parent.pending_key = key
        self.document.key_marks[parent.path + (key,)] = (line, column)

    def _scalar(self, event, path):
        if event.style:
            return event.value
        value, problem = resolve_plain(event.value)
        if problem:
            self.error("E010", problem, event.start_mark, path)
        return value


def _is_parser_depth_limit(exc: yaml.MarkedYAMLError) -> bool:
    """True when the parser itself refused a nesting too deep for it (libyaml >= 0.2.5 as
    bundled with PyYAML 6.0.4: ``exceeded maximum nesting depth``)."""
    return "nesting depth" in (exc.problem or "")


class _Stop(Exception):
    """Raised to stop reading at a problem after which nothing else is reliable."""


# A sentinel key under which the value of a duplicate key is dropped.
_DUPLICATE = object()


"""Many profiles at once: read them from CSV, JSON Lines or a folder, evaluate them fast.

Every profile is checked like a profile file (the same schema, the same messages),
each problem located at its file, line and column (for CSV, the column of the
cell). Evaluation uses :class:`~.fastpath.FastTimeline` (the fast path over time), optionally over several
processes.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime
import io
import json
import os
import re
import signal
import stat
from decimal import Decimal

from .assumptions import RateCheck, RateGaps
from .diagnostic import Diagnostic, EvaluationError, InputError, msg, suggest
from .fastpath import FastTimeline, batch_context
from .profile import (Crisis, Profile, compile_profile, new_mission_state, new_profile, parse_year_key,
                      validate_profile)
from .schema import MAX_YEAR, MIN_YEAR, load_schema
from .library import declared_missions, document_kind
from .paths import yaml_files_in
from .typedcheck import is_date_in_range
from .yaml_loader import MAX_NUMBER_DIGITS, Document, _line_col, decode_text, load_document, read_bytes, resolve_plain

__all__ = [
    "ProfileSource", "read_profiles", "csv_columns", "BatchRow", "evaluate_many", "BatchRun", "batch_missions",
    "MAX_BATCH_BYTES",
    "CSV_DIALECTS", "french_cell",
]

# A national file of 1 000 CPTS is about 300 KB; 200 MB leaves room for simulations of
# many variants while refusing a runaway input before reading it.
MAX_BATCH_BYTES = 200 * 1024 * 1024

# How a profiles CSV may be written: "comma" (',' between cells, decimal point, UTF-8), the
# French Excel one ("excel-fr": ';' between cells, decimal comma, dates DD/MM/YYYY, UTF-8 with
# or without BOM or Windows-1252), or "auto": whichever the header row shows.
CSV_DIALECTS = ("auto", "comma", "excel-fr")
_DELIMITER = {"comma": ",", "excel-fr": ";"}
# What the refusal of a CSV says: the dialect found (when another one was named), or the
# separator found that no dialect of ours reads.
_DIALECT_FOUND = {
    "comma": msg("this CSV is in the comma dialect (',' between cells, decimal point): "
                 "read it with --csv-dialect comma (or auto)"),
    "excel-fr": msg("this CSV is in the French Excel dialect (';' between cells, decimal comma): "
                    "read it with --csv-dialect excel-fr (or auto)"),
}
_OTHER_DELIMITERS = {
    "\t": msg("the header row is separated by tabs: a profiles CSV is separated by ',' or, from French "
              "Excel, by ';'"),
    "|": msg("the header row is separated by '|': a profiles CSV is separated by ',' or, from French "
             "Excel, by ';'"),
}

_SIMPLE_FIELDS = ("name", "population", "members", "letter_of_intent_validated", "contract_signed")


@dataclasses.dataclass(frozen=True)
class ProfileSource:
    """One profile read from a batch input, with where it came from."""

    label: str  # file, or file:line for a row
    document: Document
    # True when a typed check derived from the profile schema proved the row valid: the
    # full check (jsonschema) then has nothing to say and is skipped.
    checked: bool = False


def csv_columns(missions, years: int = 5) -> list[str]:
    """The columns a profiles CSV may have, for these mission ids."""
    columns = list(_SIMPLE_FIELDS) + ["crises", "contracts"]
    for mission in missions:
        columns += [f"{mission}_started", f"{mission}_deployed"]
        columns += [f"{mission}_achievement_{k}" for k in range(1, years + 1)]
    return columns


def _read_text(path: str) -> str:
    # The same checks as for a YAML file (regular file, size, NUL, UTF-8), with a batch's size.
    return decode_text(read_bytes(path, path, MAX_BATCH_BYTES), path)


def read_profiles(path: str, missions, csv_dialect: str = "auto") -> list[ProfileSource]:
    """The profiles of a CSV file, a JSON Lines file, or a folder of YAML profiles.

    ``missions`` are the mission ids a CSV column may name; ``csv_dialect`` is one of
    :data:`CSV_DIALECTS` (a CSV in another dialect than the one named is refused with one
    diagnostic that names the dialect found). Reading a folder, the rulesets found beside
    the profiles are texts given with them: their missions are added to ``missions`` when
    it is a set, so that a profile of a proposal's mission is not refused as naming a
    mission no text defines. Raises InputError with every problem of the input's shape
    (unknown columns, bad JSON); the profiles' own problems are for :func:`validate_profile`.
    """
    if os.path.isdir(path):
        sources = []
        files, problems = yaml_files_in(path)
        for full in files:
            try:
                document = load_document(full)
            except InputError as error:
                problems += error.diagnostics
                continue
            kind = document_kind(document)
            if kind == "profile":
                sources.append(ProfileSource(full, document))
            elif kind == "ruleset" and isinstance(missions, set):
                missions |= declared_missions(document)
        if problems:
            raise InputError(problems)
        return sources
    if path.endswith((".jsonl", ".ndjson")):
        return _read_jsonl(path)
    if path.endswith(".csv"):
        return _read_csv(path, missions, csv_dialect)
    raise InputError([Diagnostic("E001", msg("a batch reads a .csv, a .jsonl file, or a folder of YAML profiles"),
                                 path)])


def _read_jsonl(path: str) -> list[ProfileSource]:
    sources, problems = [], []
    # Lines end at '\n' only: a U+2028 inside a JSON string is part of the string.
    for number, text in enumerate(_read_text(path).split("\n"), 1):
        text = text.rstrip("\r")
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        document = _jsonl_document(text, path, number, problems)
        if document is not None:
            sources.append(ProfileSource(f"{path}:{number}", document))
    if problems:
        raise InputError(problems)
    return sources


def _jsonl_document(text: str, path: str, number: int, problems: list) -> Document | None:
    """The document of one line of JSON Lines, located at the line; None (and the problem in
    ``problems``) when the line is not a JSON value."""
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant,
                          object_pairs_hook=_no_duplicates)
    except _DuplicateKey as error:
        problems.append(Diagnostic("E008", msg("duplicate key '{key}'", key=error.key), path, number, 1))
        return None
    except RecursionError:
        problems.append(Diagnostic("E009", msg("JSON nested too deeply to be a profile"), path, number, 1))
        return None
    except (json.JSONDecodeError, ValueError) as error:
        column = getattr(error, "colno", 1)
        problems.append(Diagnostic("E003", msg("not a JSON object: {problem}",
                                               problem=getattr(error, "msg", str(error))),
                                   path, number, column))
        return None
    return Document(path, data, marks={(): (number, 1)})


class _DuplicateKey(ValueError):
    def __init__(self, key):
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number")


def _header_line(raw: bytes) -> tuple[int, bytes]:
    """The number and text of the first line of ``raw`` neither blank nor a '#' comment."""
    for number, line in enumerate(raw.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        if line.strip() and not line.startswith(b"#"):
            return number, line.rstrip(b"\r")
    return 1, b""


def _sniff(header: bytes, known) -> str | None:
    """The dialect a header row is written in, by the separator that splits it into known
    columns: "comma", "excel-fr", a separator no dialect reads, or None (no column known)."""
    # Column names are ASCII: Latin-1 reads any byte, whatever the file's encoding.
    text = header.decode("latin-1")
    counts = {separator: sum(name.strip().strip('"') in known for name in text.split(separator))
              for separator in (",", ";", *_OTHER_DELIMITERS)}
    best = max(counts, key=lambda separator: counts[separator])
    if counts[best] == 0:
        return None
    return {",": "comma", ";": "excel-fr"}.get(best, best)


def _decode_csv(raw: bytes, path: str, windows: bool) -> str:
    """The text of a CSV: UTF-8 (a BOM is accepted), else, when ``windows``, Windows-1252,
    the encoding of French Excel's "CSV (séparateur : point-virgule)"."""
    try:
        return decode_text(raw, path)
    except InputError:
        if not windows or b"\x00" in raw:
            raise
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        line, column = _line_col(raw, exc.start)
        raise InputError([Diagnostic(
            "E002", msg("byte 0x{byte:02x} is neither UTF-8 nor Windows-1252: save the file as UTF-8",
                        byte=raw[exc.start]),
            path, line, column)]) from None


def _csv_dialect(raw: bytes, path: str, known, wanted: str) -> str:
    """The dialect to read ``raw`` in; InputError (E003, one line) when the header shows a
    dialect other than ``wanted``, or a separator no dialect reads."""
    number, header = _header_line(raw)
    found = _sniff(header, known)
    if found in _OTHER_DELIMITERS:
        raise InputError([Diagnostic(
            "E003", _OTHER_DELIMITERS[found], path, number, 1)])
    if found is None:  # no known column at all: the header's own diagnostics say more
        return "comma" if wanted == "auto" else wanted
    if wanted not in ("auto", found):
        raise InputError([Diagnostic(
            "E003", _DIALECT_FOUND[found], path, number, 1)])
    return found


def _read_csv(path: str, missions, wanted: str = "auto") -> list[ProfileSource]:
    problems: list = []
    sources = list(_csv_sources(path, missions, wanted, problems))
    if problems:
        raise InputError(problems)
    return sources


def _csv_sources(path: str, missions, wanted: str, problems: list):
    """The rows of a CSV file as profiles, one at a time; the problems of a row go to ``problems``.

    A row with a problem of reading (E003, E010) is still yielded, after its problems are
    added: the caller decides what it is worth. Raises InputError at once for a problem of
    the header or of the CSV syntax itself, as reading the whole file would.
    """
    raw = read_bytes(path, path, MAX_BATCH_BYTES)
    known = csv_columns(sorted(missions))
    dialect = _csv_dialect(raw, path, known, wanted)
    # newline="": rows end at '\n' or '\r\n' only, and a quoted cell may hold a line break.
    text = _decode_csv(raw, path, windows=dialect == "excel-fr")
    del raw  # the text alone is held while the rows are read
    stream = io.StringIO(text, newline="")
    skipped = _skip_comments(stream, path)
    reader = csv.reader(stream, delimiter=_DELIMITER[dialect])
    try:
        yield from _read_csv_rows(reader, path, known, skipped, dialect == "excel-fr", problems)
    except csv.Error as error:
        # A cell over csv.field_size_limit() (128 KiB), a NUL: located at the row reached.
        raise InputError([Diagnostic("E003", msg("not a CSV row: {problem}", problem=str(error)), path,
                                     skipped + reader.line_num, 1)]) from None


def _skip_comments(stream, path: str) -> int:
    """Move ``stream`` past the blank and comment lines before the header (a note that the data
    are synthetic, say, starts with '#'); their count. InputError (E004) when nothing follows."""
    skipped = 0
    while True:
        position = stream.tell()
        line = stream.readline()
        if not line:
            raise InputError([Diagnostic("E004", msg("no header row"), path)])
        if line.strip() and not line.startswith("#"):
            stream.seek(position)
            return skipped
        skipped += 1


def _read_csv_rows(reader, path, known, skipped, french: bool, problems: list):
    header = next(reader)
    _check_header(header, known, path, skipped + reader.line_num)
    wheres = [_csv_path(name) for name in header]  # once per column, not per cell
    checks = [_cell_check(where) for where in wheres]
    required = set(load_schema("profile").get("required", ()))
    previous = reader.line_num
    for row in reader:
        number = skipped + previous + 1  # the line the row starts on
        previous = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(Diagnostic("E003", msg("{count} cells where the header has {expected}",
                                                   count=len(row), expected=len(header)),
                                       path, number, 1))
            continue
        document = _row_document(header, wheres, row, path, number, french, problems)
        valid = required.issubset(document.data)
        for where, check in zip(wheres, checks):
            if not valid:
                break
            value = _get(document.data, where)
            valid = value is _ABSENT or (check is not None and check(value))
        yield ProfileSource(f"{path}:{number}", document, checked=valid)


def _later_contract_rate(name: str, known) -> bool:
    """A rate of a year of a later contract: ``{mission}_achievement_{n}.{k}`` (as a profile writes n.k)."""
    mission, _, key = name.rpartition("_achievement_")
    return bool(mission) and f"{mission}_achievement_1" in known and re.fullmatch(r"[1-9][0-9]?\.[1-5]", key) is not None


def _check_header(header, known, path: str, line: int) -> None:
    """InputError with every duplicate or unknown column of a CSV header row."""
    wrong, years = [], {}
    for column, name in enumerate(header, 1):
        mission, _, year = name.rpartition("_achievement_")
        if mission and (name in known or _later_contract_rate(name, known)):
            first = years.setdefault((mission, parse_year_key(year)), name)
            if first != name:
                wrong.append(Diagnostic("E330", msg(
                    "columns '{first}' and '{name}' give the same contract year ('k' is a year of the first "
                    "contract, 'n.k' of contract n)", first=first, name=name), path, line, column))
                continue
        if name in header[:column - 1]:
            wrong.append(Diagnostic("E008", msg("duplicate column '{name}', first at column {first}", name=name,
                                                first=header.index(name) + 1), path, line, column))
        elif name not in known and not _later_contract_rate(name, known):
            guess = suggest(name, known)
            hint = msg(": did you mean '{guess}'?", guess=guess) if guess else ""
            wrong.append(Diagnostic("E201", msg("unknown column '{name}'{hint}", name=name, hint=hint),
                                    path, line, column))
    if wrong:
        raise InputError(wrong)


def _row_document(header, wheres, row, path: str, number: int, french: bool, problems: list) -> Document:
    """A CSV row as a profile document, each value located at its line and column; the cells
    YAML readers would type differently (E010) go to ``problems``."""
    data, marks, styles = {}, {(): (number, 1)}, {}
    for column, (name, cell) in enumerate(zip(header, row), 1):
        cell = cell.strip()
        if cell == "":
            continue
        where = wheres[column - 1]
        if name == "name":
            value = cell
        else:
            value = _csv_value(french_cell(cell) if french else cell, name, path, number, column, problems)
        _put(data, where, value)
        marks[where] = (number, column)
        styles[where] = "'" if name == "name" else ""
    return Document(path, data, marks=marks, styles=styles)


_ABSENT = object()
_ZERO = Decimal(0)


def _get(data: dict, where: tuple):
    node = data
    for key in where:
        if type(node) is not dict or key not in node:
            return _ABSENT
        node = node[key]
    return node


_FRENCH_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
# 92000, 92 000 (space, no-break space or narrow no-break space between thousands), 0,8, -1,5
_FRENCH_NUMBER = re.compile(r"([+-]?)([0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+|[0-9]+)(?:,([0-9]+))?")
_FRENCH_PERCENT = re.compile(r"(.+?)[ \u00a0\u202f]?%")


def french_cell(cell: str) -> str:
    """A cell of a French Excel CSV written the way a profile file writes it: a decimal comma
    becomes a point, thousands separators go, a percentage becomes its fraction (exactly,
    digits shifted, never through a float), a date DD/MM/YYYY becomes YYYY-MM-DD. Anything
    else (dates already ISO, a list of crises, a typo) is left for the usual checks.

    >>> french_cell("0,85"), french_cell("92 000"), french_cell("85 %"), french_cell("12,5%")
    ('0.85', '92000', '0.85', '0.125')
    >>> french_cell("01/06/2022"), french_cell("2022-06-01"), french_cell("1.000,5")
    ('2022-06-01', '2022-06-01', '1.000,5')
    """
    match = _FRENCH_DATE.fullmatch(cell)
    if match:
        return f"{match[3]}-{match[2]}-{match[1]}"
    percent = _FRENCH_PERCENT.fullmatch(cell)
    number = _FRENCH_NUMBER.fullmatch(percent[1] if percent else cell)
    if not number:
        return cell
    digits = re.sub(r"[ \u00a0\u202f]", "", number[2])
    text = f"{number[1]}{digits}" + (f".{number[3]}" if number[3] is not None else "")
    if percent:
        # x % is x / 100: shift the digits, as a decimal string (no float, no rounding).
        return format(Decimal(text).scaleb(-2), "f")
    return text


def _csv_path(column: str) -> tuple:
    if column in _SIMPLE_FIELDS or column in ("crises", "contracts"):
        return (column,)
    if "_achievement_" in column:
        mission, year = column.rsplit("_achievement_", 1)
        return ("missions", mission, "achievement", year)
    mission, field = column.rsplit("_", 1)
    return ("missions", mission, field)


def _csv_value(cell: str, name: str, path, line, column, problems):
    if name == "contracts":  # the later contracts' signature dates, separated by ';'
        return [{"signed": day.strip()} for day in cell.split(";") if day.strip()]
    if name == "crises":
        # Dates separated by ';' (by ',' too: a date holds neither), each ISO or DD/MM/YYYY.
        return [{"declared": _FRENCH_DATE.sub(r"\3-\2-\1", day.strip())}
                for day in re.split(r"[;,]", cell) if day.strip()]
    # The common shapes first, typed exactly as resolve_plain types them (no problem possible):
    # a plain integer or decimal of at most MAX_NUMBER_DIGITS digits, a date (kept as text).
    if _PLAIN_INT.fullmatch(cell):
        return int(cell)
    if len(cell) <= MAX_NUMBER_DIGITS + 1 and _PLAIN_DECIMAL.fullmatch(cell):
        return Decimal(cell)
    if _DATE.fullmatch(cell):
        return cell
    value, problem = resolve_plain(cell)
    if problem:
        problems.append(Diagnostic("E010", problem, path, line, column))
    return value


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PLAIN_INT = re.compile(f"0|[1-9][0-9]{{0,{MAX_NUMBER_DIGITS - 1}}}")
_PLAIN_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)\.[0-9]+")
# The keywords a leaf of the profile schema may use for the typed check to stand for it;
# any other keyword leaves the column to jsonschema.
_UNDERSTOOD = {"type", "minimum", "maximum", "minLength", "pattern", "format", "description"}


def _schema_at(where: tuple):
    """The profile schema's node for a document path, ``$ref`` resolved; None if not found."""
    schema = load_schema("profile")
    node = schema
    for key in where:
        if "properties" in node and key in node["properties"]:
            node = node["properties"][key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return None
        if "$ref" in node:
            node = _resolve_ref(schema, node)
    return node


def _resolve_ref(schema, node):
    ref = node["$ref"]
    if not ref.startswith("#/"):
        return {"$ref": ref}  # not understood: left to jsonschema
    target = schema
    for part in ref[2:].split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _cell_check(where: tuple):
    """A predicate true only for a cell value the full profile check would accept, or None.

    Derived from the profile schema's node for the column. It may say False for a valid
    value (the row then goes through jsonschema, which is never wrong), never True for an
    invalid one: it is stricter than the schema (plus the calendar's year range, E205).
    """
    if where == ("crises",):
        node = _schema_at(("crises",))
        item = (node or {}).get("items", {})
        if (node or {}).get("type") != "array" or set(item.get("required", ())) != {"declared"}:
            return None
        declared = _leaf_check(_resolve_ref(load_schema("profile"), item["properties"]["declared"]))
        if declared is None:
            return None
        return lambda value: (type(value) is list
                              and all(type(c) is dict and c.keys() == {"declared"} and declared(c["declared"])
                                      for c in value))
    node = _schema_at(where)
    return None if node is None else _leaf_check(node)


def _leaf_check(node: dict):
    if not set(node) <= _UNDERSTOOD:
        return None
    kind, low, high = node.get("type"), node.get("minimum"), node.get("maximum")

    def bounded(value):
        return (low is None or value >= low) and (high is None or value <= high)

    if kind == "integer":
        return lambda value: type(value) is int and bounded(value)
    if kind == "number":
        return lambda value: (type(value) is int or (type(value) is Decimal and value.is_finite())) \
            and bounded(value)
    if kind != "string" or not set(node) <= {"type", "minLength", "pattern", "format", "description"}:
        return None
    shortest = node.get("minLength", 0)
    if "pattern" in node or "format" in node:
        if node.get("format") != "date" or node.get("pattern") != "^[0-9]{4}-[0-9]{2}-[0-9]{2}(?!\\n)$":
            return None
        return _is_date
    # A free text that looks like a date is checked for the calendar's year range: left to jsonschema.
    return lambda value: type(value) is str and len(value) >= shortest and not _DATE.fullmatch(value)


def _is_date(value) -> bool:
    return is_date_in_range(value, MIN_YEAR, MAX_YEAR)


def _put(data: dict, where: tuple, value):
    node = data
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = value


@dataclasses.dataclass(frozen=True)
class BatchRow:
    source: str
    name: str
    ruleset: str
    size: int | None
    contract_year: int | None
    total: Decimal
    missions: dict  # mission id (or "" for lines of no mission) -> amount
    lines: dict  # line id -> amount
    out_of_contract: str | None = None  # why there is no contract year: "not_signed" or "ended"
    # The variable parts of a later contract's year read with no rate (assumptions.RateCheck.gaps):
    # what W050 counts, not an output.
    gaps: frozenset = dataclasses.field(default=frozenset(), compare=False, repr=False)

    def to_dict(self) -> dict:
        return {"source": self.source, "name": self.name, "ruleset": self.ruleset, "size": self.size,
                "contract_year": self.contract_year, "out_of_contract": self.out_of_contract,
                "total": str(self.total),
                "missions": {k: str(v) for k, v in self.missions.items()},
                "lines": {k: str(v) for k, v in self.lines.items()}}


def check_profiles(sources, known_missions) -> list:
    """Every problem of every profile (the same checks as for a profile file)."""
    problems = []
    for source in sources:
        if not source.checked:
            problems += validate_profile(source.document, known_missions)
    return problems


def _row(fast: FastTimeline, profile: Profile, label: str, day: datetime.date) -> BatchRow:
    ruleset, result = fast.run(profile, day)
    missions: dict = {}
    mission_of, get = fast.mission_of, missions.get
    for line_id, amount in result.amounts.items():
        key = mission_of.get(line_id) or ""
        missions[key] = get(key, _ZERO) + amount
    out = None
    if result.contract_year is None:
        out = "not_signed" if profile.contract_signed is None or day < profile.contract_signed else "ended"
    return BatchRow(label, profile.name, ruleset.id, result.size, result.contract_year,
                    result.total, missions, result.amounts, out)


def evaluate_many(fast: FastTimeline, sources, day: datetime.date, *, jobs: int = 1, progress=None,
                  timeline_spec: tuple = (None, None, False), assume=None):
    """One row per profile, in input order. Raises InputError with every evaluation failure.

    Each row is the entitlement of the contract year holding ``day`` (see :mod:`.timeline`), of
    the profile under ``assume`` (an :class:`~.assumptions.Assumed`) when given; its ``gaps``
    say which variable parts of a later contract's year read no rate.
    With ``jobs`` > 1 the profiles are spread over that many processes; each builds its
    own timeline from ``timeline_spec`` (ruleset name, as-if-in-force-from date, renewal).
    """
    rows, problems = [], []

    def collect(outcomes):
        for outcome in outcomes:
            if isinstance(outcome, BatchRow):
                rows.append(outcome)
            else:
                problems.extend(outcome)
            if progress:
                progress(1)

    if jobs > 1 and len(sources) > 1:
        import multiprocessing

        chunk = max(1, len(sources) // (jobs * 8))
        # Ctrl-C reaches every process of the terminal's group: the workers start with SIGINT
        # ignored (a spawned Python then installs no KeyboardInterrupt of its own), so only this
        # process is interrupted, and leaving the pool terminates them.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            pool = multiprocessing.get_context("spawn").Pool(
                jobs, initializer=_init_worker, initargs=(timeline_spec, day, assume))
        finally:
            signal.signal(signal.SIGINT, previous)
        try:
            collect(pool.imap(_work, sources, chunksize=chunk))
        except KeyboardInterrupt:
            _abandon(pool)
            raise
        pool.close()
        pool.join()
    else:
        check = RateCheck(fast.timeline)
        with batch_context():
            collect(_evaluate_one(fast, source, day, assume, check) for source in sources)
    if problems:
        raise InputError(problems)
    return rows


# -- Streaming: read, check and evaluate a file of rows in chunks -----------------------------
#
# A CSV or JSON Lines file is read in chunks of whole rows; each chunk is decoded, parsed,
# checked and evaluated on its own (in this process, or by a worker with --jobs), and its
# rows rendered. Only a few chunks are in memory at once, whatever the size of the file.
# The problems are those of reading the whole file first, then checking every profile,
# then evaluating them: a problem of an earlier kind anywhere hides those of later kinds,
# and the caller writes nothing (see :class:`BatchRun`).

# About five thousand rows of the national sample's shape.
CHUNK_BYTES = 1 << 20
# Below this size a batch stays in one process whatever --jobs says: starting a worker
# (a Python that imports the engine and builds the timeline) costs more than the work.
PARALLEL_FROM_BYTES = 2 * CHUNK_BYTES
# Chunks handed to the workers and not yet collected, per worker: enough to keep them busy.
_IN_FLIGHT = 3

_BOM = b"\xef\xbb\xbf"
_BAD = object()  # a cell the typed parse does not take: the row goes through the full check


def batch_missions(timeline, day: datetime.date) -> list[str]:
    """The mission columns of a batch on ``day``, known before any row is read.

    The missions of the text in force on ``day``, then, sorted, the other missions that the
    lines of a text applying to part of a contract year holding ``day`` name (a contract year
    is at most a year long, so only the texts in force within a year of ``day`` count).
    """
    ruleset = timeline.resolve(day)
    year = datetime.timedelta(days=366)
    days = {day - year, day} | {d for d in timeline.change_days if day - year <= d <= day + year}
    others = set()
    for moment in days:
        try:
            text = timeline.resolve(moment)
        except InputError:  # no text at all then: no part of a year runs under it
            continue
        others |= {line.mission for line in text.lines if line.mission and line.mission not in ruleset.missions}
    return list(ruleset.missions) + sorted(others)


@dataclasses.dataclass
class ChunkOutcome:
    """What one chunk of rows gave: its rendered rows, or its problems by kind."""

    # The renderer's text of the rows (str, or UTF-8 bytes from the columns), or the list of BatchRow.
    output: object = None
    rows: int = 0  # rows read, for a progress bar
    ended: int = 0  # CPTS whose last contract ended before the day
    read: list = dataclasses.field(default_factory=list)
    checked: list = dataclasses.field(default_factory=list)
    failed: list = dataclasses.field(default_factory=list)
    fatal: Diagnostic | None = None  # a row the CSV reader cannot read: the file is refused there
    clean: bool = True  # False: the chunk did not end at the end of a row (see BatchRun)
    gaps: RateGaps = dataclasses.field(default_factory=RateGaps)  # the CPTS W050 counts
    counters: dict | None = None  # what a worker's reader counted for the run (ColumnarRun's rows by path)
    shared: int | None = None  # a forked worker's rows left in shared memory: their length (see _Slot)


@dataclasses.dataclass(frozen=True)
class _Spec:
    """Everything a process needs to read, check and evaluate chunks of one file (picklable)."""

    path: str
    kind: str  # "csv" or "jsonl"
    header: tuple  # CSV column names
    delimiter: str
    french: bool  # cells written the French Excel way
    encoding: str
    known: frozenset  # mission ids a profile may name
    day: datetime.date
    render: object  # rows -> text, or None to keep the BatchRow objects
    assume: object = None  # profile -> the profile under the analyst's assumptions (assumptions.Assumed)


class _ChunkReader:
    """Reads, checks and evaluates chunks of a file's rows (one per process)."""

    def __init__(self, spec: _Spec, fast: FastTimeline):
        self.spec, self.fast = spec, fast
        self.check = RateCheck(fast.timeline)
        self._memo: dict = {}  # what the fast path keeps of the days and contracts met, over the chunks
        if spec.kind == "csv":
            self.row_type = _CsvRowType(spec.header, spec.french)
            self.wheres = [_csv_path(name) for name in spec.header]

    def process(self, data: bytes, first_line: int, level: int, last: bool) -> ChunkOutcome:
        """The outcome of the rows in ``data``, whose first line is line ``first_line`` of the file.

        ``level`` says what earlier chunks found: 0 nothing (evaluate), 1 a problem of a
        profile (check, evaluate nothing), 2 a problem of reading (read only).
        """
        out = ChunkOutcome()
        text = data.decode(self.spec.encoding)
        with batch_context(self._memo):
            if self.spec.kind == "jsonl":
                self._jsonl(text, first_line, level, out)
            else:
                self._csv(text, first_line, level, last, out)
        return out

    def _evaluate(self, profile, label: str, out: ChunkOutcome, rows: list) -> None:
        outcome = _evaluate_profile(self.fast, profile, label, self.spec.day, self.spec.assume, self.check)
        if isinstance(outcome, BatchRow):
            if outcome.out_of_contract == "ended":
                out.ended += 1
            if outcome.gaps:
                out.gaps.count(outcome.gaps)
            rows.append(outcome)
        else:
            out.failed += outcome

    def _finish(self, out: ChunkOutcome, rows: list) -> None:
        if out.read or out.checked or out.failed:
            return
        render = self.spec.render
        out.output = render(rows) if render is not None else rows

    def _csv(self, text: str, first_line: int, level: int, last: bool, out: ChunkOutcome) -> None:
        spec, path = self.spec, self.spec.path
        if not last:
            # A chunk was cut at a line break outside quotes as far as counting quotes tells;
            # a row starting with an opening quote after it must then come out as one cell
            # holding a line break, else the cut fell inside a quoted cell.
            text += '"\n'
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=spec.delimiter)
        records, previous = [], 0
        try:
            for row in reader:
                records.append((first_line + previous, row))
                previous = reader.line_num
        except csv.Error as error:
            # A cell over csv.field_size_limit() (128 KiB): located at the row reached.
            out.fatal = Diagnostic("E003", msg("not a CSV row: {problem}", problem=str(error)), path,
                                   first_line - 1 + reader.line_num, 1)
            return
        if not last:
            if not records or records[-1][1] != ["\n"]:
                out.clean = False
                return
            records.pop()
        width, row_type, rows = len(spec.header), self.row_type, []
        for number, row in records:
            if not "".join(row).strip():  # blanks only in every cell
                continue
            out.rows += 1
            if len(row) != width:
                out.read.append(Diagnostic("E003", msg("{count} cells where the header has {expected}",
                                                       count=len(row), expected=width), path, number, 1))
                continue
            profile = row_type.profile(row) if level == 0 and not out.read else None
            if profile is None:
                # The typed parse did not take the row: read it as a document, cell by cell with
                # its position, and check it in full (the diagnostics of a profile file).
                document = _row_document(spec.header, self.wheres, row, path, number, spec.french, out.read)
                if level >= 2 or out.read:
                    continue
                found = validate_profile(document, spec.known)
                if found:
                    out.checked += found
                    continue
                if level >= 1 or out.checked:
                    continue
                profile = compile_profile(document)
            elif out.checked:
                continue
            self._evaluate(profile, f"{path}:{number}", out, rows)
        self._finish(out, rows)

    def _jsonl(self, text: str, first_line: int, level: int, out: ChunkOutcome) -> None:
        path, rows = self.spec.path, []
        # Lines end at '\n' only: a U+2028 inside a JSON string is part of the string.
        for index, line in enumerate(text.split("\n")):
            number = first_line + index
            line = line.rstrip("\r")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            out.rows += 1
            document = _jsonl_document(line, path, number, out.read)
            if document is None or level >= 2 or out.read:
                continue
            found = validate_profile(document, self.spec.known)
            if found:
                out.checked += found
                continue
            if level >= 1 or out.checked:
                continue
            self._evaluate(compile_profile(document), f"{path}:{number}", out, rows)
        self._finish(out, rows)


def _evaluate_profile(fast, profile, label, day, assume=None, check=None):
    """The row of ``profile`` (under ``assume``, an :class:`~.assumptions.Assumed`, when given), its
    ``gaps`` found by ``check`` (a :class:`~.assumptions.RateCheck`); or the diagnostics of its failure."""
    if assume is not None:
        profile = assume(profile)
    try:
        row = _row(fast, profile, label, day)
    except EvaluationError as error:
        return error.diagnostics
    if check is not None and row.contract_year is not None:
        gaps = check.gaps(profile, day, row.lines)
        if gaps:
            row = dataclasses.replace(row, gaps=gaps)
    return row


class BatchRun:
    """Read, check and evaluate a CSV or JSON Lines file of profiles in chunks; iterate over the
    chunks' outputs in input order.

    Each output is ``render(rows)`` of a chunk's rows (or the list of :class:`BatchRow` when
    ``render`` is None); only a few chunks are held at once. Problems are those of
    :func:`read_profiles`, :func:`check_profiles` and :func:`evaluate_many` run in turn on
    the whole file: the iteration raises InputError at its end with every problem of the
    first kind found (a file that cannot be decoded, then a row the CSV reader cannot read,
    then problems of reading, of checking, of evaluating), and yields nothing after a
    problem, so that the caller, writing as it goes, drops what it wrote. ``jobs`` > 1
    spreads the chunks over that many processes, each building its own timeline from
    ``timeline_spec``; the outputs and problems are those of one process.
    ``progress(count)``, called once with an estimate of the rows, may return a callable
    called with each chunk's count of rows. After the iteration, ``ended`` counts the CPTS
    whose last contract ended before the day, and ``gaps`` (a :class:`~.assumptions.RateGaps`)
    what W050 says of the rows evaluated by rows. ``assume`` (an :class:`~.assumptions.Assumed`)
    is applied to every profile before it is evaluated.
    """

    # What reads, checks and evaluates one chunk, and how many bytes a chunk holds: the hook of
    # the columnar path (engine/columnar.py), which reads bigger chunks in columns.
    chunk_reader = _ChunkReader
    chunk_bytes = None  # None: CHUNK_BYTES
    parallel_from = None  # the size of input from which --jobs N uses N processes; None: PARALLEL_FROM_BYTES
    parallel_from_forked = None  # the same when the workers are forked (None: parallel_from)
    # With --jobs N: N - 1 workers, and this process reads a chunk itself whenever they have
    # enough in hand (one process fewer to start); else N workers, this process only reading
    # and writing.
    parent_works = False

    def __init__(self, fast: FastTimeline, path: str, known_missions, day: datetime.date, *, render=None,
                 jobs: int = 1, csv_dialect: str = "auto", timeline_spec: tuple = (None, None, False),
                 progress=None, assume=None):
        self.fast, self.path, self.known, self.day = fast, path, frozenset(known_missions), day
        self.assume, self.gaps = assume, RateGaps()
        self.render, self.jobs, self.wanted, self.timeline_spec = render, jobs, csv_dialect, timeline_spec
        self.progress = progress
        self.ended = 0
        self.kind = "jsonl" if path.endswith((".jsonl", ".ndjson")) else "csv"
        # Problems by rank: 0 a NUL byte, 1 an undecodable byte, 2 the header or a CSV row the
        # reader cannot read; then the rows' problems of reading, checking, evaluating.
        self._fatal: dict = {}
        self._read, self._checked, self._failed = [], [], []
        self._lines = 0  # '\n' bytes before the block being scanned (positions of bad bytes)
        self._csv_lines = 0  # lines as the CSV reader counts them ('\n', '\r\n', '\r')
        self._size = 0

    # -- bytes -----------------------------------------------------------------------------

    def _open(self):
        # The checks of read_bytes (a regular file, its size) before the first byte is read.
        path = self.path

        def fail(message):
            raise InputError([Diagnostic("E001", message, path)])

        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                fail(msg("is not a regular file (a FIFO, a device or a socket)"))
            if info.st_size > MAX_BATCH_BYTES:
                fail(msg("is {size} bytes; the limit is {limit} bytes", size=info.st_size, limit=MAX_BATCH_BYTES))
            stream = open(path, "rb")
            self._identity = _identity(os.fstat(stream.fileno()))
            return stream, info.st_size
        except OSError as exc:
            fail(msg("cannot read: {reason}", reason=exc.strerror or str(exc)))

    def _block(self, stream) -> bytes:
        block = stream.read(self.chunk_bytes or CHUNK_BYTES)
        self._size += len(block)
        if self._size > MAX_BATCH_BYTES:
            raise InputError([Diagnostic("E001", msg("is over the limit of {limit} bytes", limit=MAX_BATCH_BYTES),
                                         self.path)])
        return block

    def _scan(self, data: bytes, encoding: str) -> int:
        """Note the first NUL and the first undecodable byte of ``data`` (the next bytes of the file);
        returns its count of '\n'."""
        if 0 not in self._fatal:
            nul = data.find(b"\x00")
            if nul >= 0:
                self._fatal[0] = [Diagnostic("E002", msg("NUL byte: this is not a text file"), self.path,
                                             *self._position(data, nul))]
        if 1 not in self._fatal and not data.isascii():
            try:
                data.decode(encoding)
            except UnicodeDecodeError as exc:
                byte = data[exc.start]
                if encoding == "utf-8":
                    message = msg("not UTF-8: byte 0x{byte:02x} (save the file as UTF-8; Latin-1 'é' is one such "
                                  "byte)", byte=byte)
                else:
                    message = msg("byte 0x{byte:02x} is neither UTF-8 nor Windows-1252: save the file as UTF-8",
                                  byte=byte)
                self._fatal[1] = [Diagnostic("E002", message, self.path, *self._position(data, exc.start))]
        breaks = data.count(b"\n")
        self._lines += breaks
        return breaks

    def _position(self, data: bytes, offset: int) -> tuple[int, int]:
        line, column = _line_col(data, offset)
        return self._lines + line, column

    def _utf8(self, stream, first: bytes) -> bool:
        """True when the whole file is UTF-8 (French Excel's files may be Windows-1252)."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            decoder.decode(first)
            while True:
                block = stream.read(CHUNK_BYTES)
                if not block:
                    decoder.decode(b"", final=True)
                    return True
                decoder.decode(block)
        except UnicodeDecodeError:
            return False
        finally:
            stream.seek(len(first))

    # -- the header ------------------------------------------------------------------------

    def _head(self, stream) -> tuple[bytes, int]:
        """The first bytes of the file, and where its header line ends (after its line break; the
        length of the file when it has no other line)."""
        head = b""
        while True:
            block = self._block(stream)
            head += block
            if not block:
                return head, len(head)
            start = 0
            while True:
                end = head.find(b"\n", start)
                if end < 0:
                    break
                line = head[start:end]
                if (line.removeprefix(_BOM) if start == 0 else line).strip() and not line.startswith(b"#"):
                    return head, end + 1
                start = end + 1

    def _header(self, head: bytes, encoding: str, columns) -> tuple[tuple, int]:
        """``(names, lines)``: the header row of ``head`` (the bytes up to its end) and the lines up
        to it; InputError with the header's problems."""
        text = head.decode(encoding)
        if encoding == "utf-8" and text.startswith("\ufeff"):
            text = text[1:]
        stream = io.StringIO(text, newline="")
        skipped = _skip_comments(stream, self.path)
        reader = csv.reader(stream, delimiter=self.delimiter)
        try:
            header = next(reader)
        except csv.Error as error:
            raise InputError([Diagnostic("E003", msg("not a CSV row: {problem}", problem=str(error)), self.path,
                                         skipped + reader.line_num, 1)]) from None
        _check_header(header, columns, self.path, skipped + reader.line_num)
        return tuple(header), skipped + reader.line_num

    # -- chunks ----------------------------------------------------------------------------

    def _cut(self, data: bytes, quotes: bool) -> int:
        """Where to end a chunk of ``data`` (which starts a row): after its last line break outside
        quotes as counting them tells (checked by the reader), or 0 to read more first."""
        end = data.rfind(b"\n")
        if not quotes or b'"' not in data:
            return end + 1
        for _ in range(8):
            if end < 0:
                break
            if data.count(b'"', 0, end) % 2 == 0:
                return end + 1
            end = data.rfind(b"\n", 0, end)
        return 0

    def _chunks(self, stream, carry: bytes, encoding: str, first_line: int):
        """``(offset, data, first_line, last)`` for each chunk of whole rows; the bytes are scanned
        for NUL and undecodable bytes as they are read."""
        quotes, offset = self.kind == "csv", stream.tell() - len(carry)
        while True:
            block = self._block(stream)
            if not block:
                self._carry = b""
                if carry:
                    self._scan(carry, encoding)
                    if not self._fatal:
                        yield offset, carry, first_line, True
                return
            carry += block
            if len(carry) < (self.chunk_bytes or CHUNK_BYTES):
                continue
            cut = self._cut(carry, quotes)
            if cut:
                data, carry = carry[:cut], carry[cut:]
                self._carry = carry  # not scanned yet
                breaks = self._scan(data, encoding)
                if self._fatal:  # a bad byte: not decoded, and no row after it is read
                    return
                yield offset, data, first_line, False
                offset += len(data)
                first_line += _count_lines(data, breaks) if quotes else breaks

    # -- the run ---------------------------------------------------------------------------

    def __iter__(self):
        stream, size = self._open()
        with stream:
            yield from self._run(stream, size)
            if _identity(os.fstat(stream.fileno())) != self._identity:
                # Written while read: what was scanned, read and evaluated may not be one file
                # (the workers of --jobs read their chunks from it themselves).
                raise InputError([Diagnostic("E001", msg("changed while it was read: run again on a copy that "
                                                         "no program writes to"), self.path)])
        for rank in (0, 1, 2):
            if rank in self._fatal:
                raise InputError(self._fatal[rank])
        for problems in (self._read, self._checked, self._failed):
            if problems:
                raise InputError(problems)

    def _run(self, stream, size):
        self._stream = stream  # the forked workers of --jobs read their chunks through its descriptor
        encoding, header, delimiter, first_line, self._carry = "utf-8", (), ",", 1, b""
        if self.kind == "csv":
            head, end = self._head(stream)
            columns = csv_columns(sorted(self.known))
            delimiter = self.delimiter = _DELIMITER[_csv_dialect(head, self.path, columns, self.wanted)]
            if delimiter == ";" and not self._utf8(stream, head):
                encoding = "cp1252"
            self._carry = head[end:]
            self._scan(head[:end], encoding)
            if not self._fatal:
                try:
                    header, lines = self._header(head[:end], encoding, columns)
                    first_line = lines + 1
                except InputError as error:
                    self._fatal[2] = error.diagnostics  # said once the bytes are all scanned
            if self._fatal:
                self._finish_scan(stream, encoding)
                return
        spec = _Spec(self.path, self.kind, header, delimiter, delimiter == ";", encoding, self.known, self.day,
                     self.render, self.assume)
        bar = self.progress(_estimate_rows(stream, self._carry)) if self.progress else None
        chunks = self._chunks(stream, self._carry, encoding, first_line)
        if self.kind == "jsonl":
            chunks = _strip_bom(chunks)
        forked = self.jobs > 1 and _may_fork()
        threshold = PARALLEL_FROM_BYTES if self.parallel_from is None else self.parallel_from
        if forked and self.parallel_from_forked is not None:
            threshold = min(threshold, self.parallel_from_forked)
        if self.jobs > 1 and size >= threshold:
            outcomes = self._parallel(spec, chunks, forked)
        else:
            reader = self.chunk_reader(spec, self.fast)
            outcomes = ((offset, first, last, reader.process(data, first, self._level(), last))
                        for offset, data, first, last in chunks)
        yield from self._collect(outcomes, spec, stream, encoding, bar)
        if self._fatal:
            self._finish_scan(stream, encoding)

    def _finish_scan(self, stream, encoding: str) -> None:
        """Scan the rest of the file for NUL and undecodable bytes (they hide every other problem)."""
        self._scan(self._carry, encoding)
        while True:
            block = self._block(stream)
            if not block:
                return
            self._scan(block, encoding)

    def _level(self) -> int:
        return 2 if self._read else 1 if self._checked else 0

    def _collect(self, outcomes, spec, stream, encoding, bar):
        for offset, first_line, last, outcome in outcomes:
            if not outcome.clean:
                # The cut fell inside a quoted cell after all (a stray quote in a cell fooled
                # the count): the rest of the file is read as one chunk, in this process.
                outcomes.close()
                self._finish_scan(stream, encoding)
                if self._fatal:
                    return
                stream.seek(offset)
                outcome = self.chunk_reader(spec, self.fast).process(stream.read(), first_line, self._level(), True)
                last = True
            self._take(outcome, bar)
            if self._fatal:
                outcomes.close()
                return
            if self._fine():
                yield outcome.output
            if last:
                return

    def _take(self, outcome: ChunkOutcome, bar) -> None:
        if bar:
            bar(outcome.rows)
        if outcome.fatal is not None:
            self._fatal.setdefault(2, [outcome.fatal])
        self._read += outcome.read
        self._checked += outcome.checked
        self._failed += outcome.failed
        self.ended += outcome.ended
        self.gaps += outcome.gaps

    def worker_reader(self):
        """What makes the reader of a worker's chunks, ``(spec, fast) -> reader`` (picklable;
        None: :class:`_ChunkReader`)."""
        return None

    def _fine(self) -> bool:
        return not (self._fatal or self._read or self._checked or self._failed)

    def _parallel(self, spec, chunks, forked: bool):
        """The outcomes of ``chunks`` over --jobs processes: workers ``forked`` from this one
        (_may_fork) or spawned."""
        import collections
        import multiprocessing

        # Ctrl-C reaches every process of the terminal's group: the workers start with SIGINT
        # ignored (a spawned Python then installs no KeyboardInterrupt of its own), so only this
        # process is interrupted, and leaving the pool terminates them.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        local = self.chunk_reader(spec, self.fast) if self.parent_works else None
        try:
            shared, free = None, []
            if forked:
                # A copy of this process: the worker starts with the reader, the texts and their
                # columns this process has built, in milliseconds (a spawned worker imports and
                # builds them again: about 0.5 s of CPU). It reads its chunks of a CSV from the
                # file itself, by offset: only their place goes through the pipe, not 3 MB a
                # chunk taken in pieces between two threads of this process (the file is checked
                # unchanged at the end, __iter__).
                # Its rows come back through memory both processes share, a slot per chunk in
                # flight (through the pipe, the result thread of this process would take them in
                # pieces of 64 KB, each waiting for this thread to let go of the interpreter, while
                # the worker waits to send them).
                import mmap

                reader = local if local is not None else self.chunk_reader(spec, self.fast)
                free = list(range(self.jobs * _IN_FLIGHT * 2 + 1))  # the most chunks in flight, and one
                slot_bytes = 2 * (self.chunk_bytes or CHUNK_BYTES)
                shared = mmap.mmap(-1, len(free) * slot_bytes)  # anonymous, shared with the forked workers
                pool = multiprocessing.get_context("fork").Pool(
                    self.jobs - 1 if self.parent_works else self.jobs, initializer=_init_forked_worker,
                    initargs=(reader, self._stream.fileno(), shared, slot_bytes))
            else:
                pool = multiprocessing.get_context("spawn").Pool(
                    self.jobs - 1 if self.parent_works else self.jobs, initializer=_init_chunk_worker,
                    initargs=(self.timeline_spec, spec, self.worker_reader()))
        finally:
            signal.signal(signal.SIGINT, previous)
        workers = self.jobs - 1 if local is not None else self.jobs
        pending = collections.deque()
        try:
            for offset, data, first, last in chunks:
                if local is not None and sum(not isinstance(job, _Done) and not job.ready()
                                             for *_, job in pending) >= workers * _IN_FLIGHT:
                    # The workers have enough: this process reads the chunk (so the share of each
                    # follows its speed, whatever else the machine runs).
                    job = _Done(local.process(data, first, self._level(), last))
                elif forked and self.kind == "csv":  # (a JSON Lines file's first chunk lost its BOM)
                    slot = free.pop()
                    job = _Slot(pool.apply_async(_work_range, (offset, len(data), first, self._level(), last, slot)),
                                shared, slot_bytes, slot, free)
                else:
                    job = pool.apply_async(_work_chunk, (data, first, self._level(), last))
                pending.append((offset, first, last, job))
                while pending and (len(pending) >= self.jobs * _IN_FLIGHT * 2 or pending[0][3].ready()):
                    offset_, first_, last_, result = pending.popleft()
                    yield offset_, first_, last_, result.get()
            while pending:
                offset_, first_, last_, result = pending.popleft()
                yield offset_, first_, last_, result.get()
        except (KeyboardInterrupt, GeneratorExit):
            _abandon(pool)
            raise
        pool.close()
        pool.join()
        if shared is not None:
            shared.close()


class _Slot:
    """A forked worker's chunk whose rows come back in a slot of the shared memory: ``get`` takes
    them out and frees the slot."""

    def __init__(self, job, shared, slot_bytes: int, slot: int, free: list):
        self.job, self.shared, self.slot_bytes, self.slot, self.free = job, shared, slot_bytes, slot, free

    def ready(self) -> bool:
        return self.job.ready()

    def get(self) -> ChunkOutcome:
        outcome = self.job.get()
        if outcome.shared is not None:
            start = self.slot * self.slot_bytes
            outcome.output, outcome.shared = self.shared[start:start + outcome.shared], None
        self.free.append(self.slot)
        return outcome


class _Done:
    """The outcome of a chunk this process read itself (``BatchRun.parent_works``), queued with
    the workers' results."""

    def __init__(self, outcome: ChunkOutcome):
        self.outcome = outcome

    def ready(self) -> bool:
        return True

    def get(self) -> ChunkOutcome:
        return self.outcome


def _identity(info) -> tuple:
    """What says a file is the same one, unchanged: its device, inode, size and time of change."""
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def _strip_bom(chunks):
    for index, (offset, data, first, last) in enumerate(chunks):
        yield offset, (data.removeprefix(_BOM) if index == 0 else data), first, last


def _count_lines(data: bytes, breaks: int | None = None) -> int:
    """The lines of ``data`` as the CSV reader counts them (a line ends at '\\n', '\\r\\n' or '\\r');
    ``breaks``: its count of '\\n' when known."""
    breaks = data.count(b"\n") if breaks is None else breaks
    if b"\r" not in data:
        return breaks
    return breaks + data.count(b"\r") - data.count(b"\r\n")


def _estimate_rows(stream, carry: bytes) -> int:
    """About the rows left in the file (its lines), for a progress bar; the stream is left where it was."""
    here, count = stream.tell(), carry.count(b"\n")
    while True:
        block = stream.read(CHUNK_BYTES)
        if not block:
            break
        count += block.count(b"\n")
    stream.seek(here)
    return count + (1 if carry and not carry.endswith(b"\n") else 0)


_CHUNK_WORKER: dict = {}


def _init_chunk_worker(timeline_spec, spec, make=None):
    from .library import Library

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent is the one interrupted
    ruleset_name, as_if_from, renewal = timeline_spec
    timeline = Library().timeline(ruleset_name, as_if_from=as_if_from, renewal=renewal)
    _CHUNK_WORKER["reader"] = (make or _ChunkReader)(spec, FastTimeline(timeline))


def _may_fork() -> bool:
    """Whether the workers of ``--jobs`` may be forked from this process: on Linux, with this
    process's one thread (a fork copies only the thread that forks: a lock another thread held
    would stay locked in the copy). Else they are spawned. See engine.columnar's threads of BLAS."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _init_forked_worker(reader, descriptor: int, shared, slot_bytes: int):
    """A forked worker: the parent's reader, its counts set to nothing (they were the parent's),
    the parent's descriptor of the file (read by offset, so never moved), and the memory shared
    with the parent where the rows of each chunk go back (a slot of ``slot_bytes`` each)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent is the one interrupted
    counted = getattr(reader, "counted", None)
    if counted is not None:
        counted()
    _CHUNK_WORKER.update(reader=reader, descriptor=descriptor, shared=shared, slot_bytes=slot_bytes)


def _work_range(offset: int, length: int, first_line, level, last, slot: int):
    """:func:`_work_chunk` of the chunk at ``offset`` of the file, read here (a forked worker); its
    rows, when bytes that fit, go back in ``slot`` of the shared memory (see :class:`_Slot`)."""
    data = os.pread(_CHUNK_WORKER["descriptor"], length, offset)
    if len(data) != length:  # cut short: the parent says it changed (__iter__)
        return ChunkOutcome(output=b"")
    outcome = _work_chunk(data, first_line, level, last)
    output, size = outcome.output, _CHUNK_WORKER["slot_bytes"]
    if isinstance(output, bytes) and len(output) <= size:
        _CHUNK_WORKER["shared"][slot * size:slot * size + len(output)] = output
        outcome.output, outcome.shared = None, len(output)
    return outcome


def _work_chunk(data, first_line, level, last):
    reader = _CHUNK_WORKER["reader"]
    outcome = reader.process(data, first_line, level, last)
    counted = getattr(reader, "counted", None)
    if counted is not None:
        outcome.counters = counted()
    return outcome


class _CsvRowType:
    """The typed parse of a CSV row straight into a :class:`Profile`, derived from the profile schema.

    Each column gets a parser from the schema's node for the field it fills: it returns the
    value a valid cell stands for (an int, a Decimal, a date, the crises or contract dates),
    or ``_BAD`` for anything else. A row with a ``_BAD`` cell, or a missing required field,
    or later contracts out of order, gives None: it is read again as a document and checked
    in full, so its diagnostics are those of a profile file. The parsers are stricter than
    the schema, never looser; the profile is the one :func:`compile_profile` builds from the
    document of the same row (a test compares them).
    """

    def __init__(self, header, french: bool):
        schema = load_schema("profile")
        required = schema.get("required", ())
        self.columns = []  # (parse, field or None, mission or None, key)
        for name in header:
            where = _csv_path(name)
            parse = _cell_parser(where)
            if parse is None:
                self.columns = None  # a column beyond the typed parse: every row is checked in full
                break
            if len(where) == 4:  # a rate of achievement: a Decimal, as compile_profile makes it
                parse = _as_decimal(parse)
            memo: dict = {}
            parse = _memoised(parse, french and where != ("name",), memo)
            if where[0] == "missions":
                # a contract year (1..5) for a rate, -1 for the start, -2 for the deployment
                key = parse_year_key(where[3]) if len(where) == 4 else -1 if where[2] == "started" else -2
                self.columns.append((memo, parse, None, where[1], key))
            else:
                self.columns.append((memo, parse, where[0], None, None))
        self.required = tuple(required)
        if self.columns is not None and not set(required) <= {c[2] for c in self.columns}:
            self.columns = None
        self.profile = self._generate() if self.columns is not None else _no_profile

    def _generate(self):
        """The typed parse of a row as one function made for this header: the cells unpacked, each
        looked up in its column's memo (parsed on a miss), straight-line code per column.

        The columns are named by their position and their fields, missions and contract years
        travel as constants (``_K``): no text of the header is written into the code.
        """
        constants: list = []

        def constant(value) -> str:
            constants.append(value)
            return f"_K[{len(constants) - 1}]"

        fields = [field for _, _, field, _, _ in self.columns if field is not None]
        missions = list(dict.fromkeys(mission for _, _, _, mission, _ in self.columns if mission is not None))
        cells = ", ".join(f"c{index}" for index in range(len(self.columns)))
        lines = ["def _profile(_row):", f"    {cells}, = _row"]
        lines += [f"    f{index} = _ABSENT" for index in range(len(fields))]
        lines += [f"    s{index} = None" for index in range(len(missions))]
        if missions:
            lines.append("    _ms = {}")
        namespace = {"__builtins__": {}, "_ABSENT": _ABSENT, "_BAD": _BAD, "_EMPTY": _EMPTY}
        for index, (memo, parse, field, mission, key) in enumerate(self.columns):
            namespace[f"_m{index}"], namespace[f"_p{index}"] = memo, parse
            lines += [f"    if c{index}:",
                      f"        _v = _m{index}.get(c{index})",
                      "        if _v is None:",
                      f"            _v = _p{index}(c{index})",
                      "        if _v is _BAD:",
                      "            return None"]
            if field is not None:
                lines.append(f"        if _v is not _EMPTY: f{fields.index(field)} = _v")
                continue
            state = f"s{missions.index(mission)}"
            lines += ["        if _v is not _EMPTY:",
                      f"            if {state} is None: {state} = _ms[{constant(mission)}] = [None, None, {{}}]"]
            if isinstance(key, tuple) or key > 0:  # a rate, keyed by contract year (timeline.year_key)
                lines.append(f"            {state}[2][{constant(key)}] = _v")
            else:
                lines.append(f"            {state}[{-key - 1}] = _v")
        for field in self.required:
            lines += [f"    if f{fields.index(field)} is _ABSENT:", "        return None"]
        wanted = ", ".join(f"f{fields.index(name)}" if name in fields else "_ABSENT" for name in _ROW_FIELDS)
        lines.append(f"    return _finish({wanted}, {'_ms' if missions else '_NO_MISSIONS'})")
        namespace.update({"_K": tuple(constants), "_finish": _finish_profile, "_NO_MISSIONS": {}})
        exec(compile("\n".join(lines) + "\n", "<csv row>", "exec"), namespace)  # noqa: S102 — engine text only
        return namespace["_profile"]


# The fields a row's typed parse gives :func:`_finish_profile`, in this order.
_ROW_FIELDS = ("name", "population", "members", "letter_of_intent_validated", "contract_signed", "crises",
               "contracts")


def _no_profile(row):
    return None  # a header beyond the typed parse: every row is checked in full


def _finish_profile(name, population, members, letter, signed, crises, later, missions):
    """The :class:`Profile` of a row's typed cells (``_ABSENT`` for a cell not given); None when
    the later contracts are out of order (E204, said by the full check)."""
    if signed is _ABSENT:
        signed = None
    if later is not _ABSENT and later:
        if (signed is not None and min(later) < signed) or len(set(later)) != len(later):
            return None
        signatures = sorted(set(later) | ({signed} if signed is not None else set()))
        first, rest = signatures[0], tuple(signatures[1:])
    else:
        first, rest = signed, ()
    return new_profile(
        name, population, None if members is _ABSENT else members, None if letter is _ABSENT else letter, first,
        {mission: new_mission_state(state[0], state[1], state[2]) for mission, state in missions.items()},
        () if crises is _ABSENT else crises, None, (), rest)


def _as_decimal(parse):
    def decimal(cell):
        value = parse(cell)
        return value if value is _BAD or type(value) is Decimal else Decimal(value)
    return decimal


_EMPTY = object()  # a cell of blanks only: as if empty
# The values of the cells of a column read so far, per column: a batch repeats its dates and
# rates many times. Bounded, as the input is.
_MEMO_SIZE = 4096


def _memoised(parse, french: bool, memo: dict):
    """``parse`` of a raw cell (blanks around it, the French way of writing if ``french``),
    remembered in ``memo`` (the caller looks there first)."""

    def cell_value(cell):
        text = cell.strip()
        found = _EMPTY if not text else parse(french_cell(text) if french else text)
        if len(memo) < _MEMO_SIZE:
            memo[cell] = found
        return found
    return cell_value


_DATES: dict = {}  # the dates of the calendar read so far (a batch repeats a few hundred)


def _date_cell(cell: str):
    found = _DATES.get(cell)
    if found is not None:
        return found
    if not _DATE.fullmatch(cell):
        return _BAD
    try:
        day = datetime.date.fromisoformat(cell)
    except ValueError:
        return _BAD
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        return _BAD
    if len(_DATES) > _MEMO_SIZE:
        _DATES.clear()
    _DATES[cell] = day
    return day


def _cell_parser(where: tuple):
    """The typed parse of a cell of the column filling ``where``, from the profile schema; None if
    the schema's node is beyond it (the rows then all go through the full check)."""
    if where in (("crises",), ("contracts",)):
        node = _schema_at(where) or {}
        item = node.get("items", {})
        field = "declared" if where == ("crises",) else "signed"
        if node.get("type") != "array" or set(item.get("required", ())) != {field} \
                or set(node) - {"type", "items", "maxItems", "description"}:
            return None
        if _leaf_check(_resolve_ref(load_schema("profile"), item["properties"][field])) is not _is_date:
            return None
        most = node.get("maxItems")
        if where == ("crises",):
            def crises(cell):
                found = []
                for part in re.split(r"[;,]", cell):
                    part = part.strip()
                    if part:
                        day = _date_cell(_FRENCH_DATE.sub(r"\3-\2-\1", part))
                        if day is _BAD:
                            return _BAD
                        found.append(Crisis(day, None))
                return _BAD if most is not None and len(found) > most else tuple(found)
            return crises

        def contracts(cell):
            found = []
            for part in cell.split(";"):
                part = part.strip()
                if part:
                    day = _date_cell(part)
                    if day is _BAD:
                        return _BAD
                    found.append(day)
            return _BAD if most is not None and len(found) > most else found
        return contracts
    node = _schema_at(where)
    check = None if node is None else _leaf_check(node)
    if check is None:
        return None
    if check is _is_date:
        return _date_cell
    kind = node.get("type")
    if kind == "string":
        if where != ("name",):
            return None  # a text typed by YAML's rules (a number, a date): left to the full check
        return lambda cell: cell if check(cell) else _BAD
    # A plain integer or decimal of at most MAX_NUMBER_DIGITS digits, typed exactly as
    # resolve_plain types it; any other shape (a sign, an exponent, a word) goes the long way.
    decimals = kind == "number"

    def number(cell):
        if _PLAIN_INT.fullmatch(cell):
            value = int(cell)
        elif decimals and len(cell) <= MAX_NUMBER_DIGITS + 1 and _PLAIN_DECIMAL.fullmatch(cell):
            value = Decimal(cell)
        else:
            return _BAD
        return value if check(value) else _BAD
    return number


def _abandon(pool) -> None:
    """End an interrupted pool's workers at once and drop it.

    ``Pool.terminate`` (and the finaliser that runs it at exit) can wait forever on the
    queue lock of a worker it stopped mid-read: the workers are killed here, and the
    finaliser cancelled, so that an interrupted batch exits at once.
    """
    from multiprocessing import pool as pools

    # First stop the thread that replaces dead workers, or it would start new ones.
    pool._worker_handler._state = pools.TERMINATE  # noqa: SLF001 — no public way to stop it alone
    pool._change_notifier.put(None)  # noqa: SLF001
    pool._worker_handler.join(timeout=5)  # noqa: SLF001
    for worker in pool._pool:  # noqa: SLF001 — the pool has no public list of its processes
        worker.kill()
    for worker in pool._pool:  # noqa: SLF001
        worker.join(timeout=5)
    pool._terminate.cancel()  # noqa: SLF001


def _evaluate_one(fast, source, day, assume=None, check=None):
    return _evaluate_profile(fast, compile_profile(source.document), source.label, day, assume, check)


_WORKER: dict = {}


def _init_worker(timeline_spec, day, assume=None):
    from .library import Library

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent is the one interrupted

    ruleset_name, as_if_from, renewal = timeline_spec
    timeline = Library().timeline(ruleset_name, as_if_from=as_if_from, renewal=renewal)
    _WORKER["fast"], _WORKER["day"] = FastTimeline(timeline), day
    _WORKER["assume"], _WORKER["check"] = assume, RateCheck(timeline)


def _work(source):
    return _evaluate_one(_WORKER["fast"], source, _WORKER["day"], _WORKER["assume"], _WORKER["check"])

"""`batch` on the vectorised backend: a CSV of profiles read, checked and evaluated in columns.

Imported by :func:`.columnar.columnar_run` only when numpy is installed and the input is large
enough. :class:`ColumnarRun` is :class:`~.batch.BatchRun` (the same chunks of whole rows, the same
order of problems, the same output) with another reader of a chunk, :class:`ColumnarReader`:

- **Reading.** The chunk's bytes are split into lines and cells with numpy (positions of the
  line breaks and commas). A line that is not plainly one row of as many cells as the header
  (a quote, a lone carriage return, a blank line, another count of cells) is not read here.
- **Checking.** Each column gets a check derived from the profile schema's node for its field,
  through the same derivation as the typed parse of the row path (``batch._cell_parser``,
  ``_leaf_check``): whole numbers in their bounds, decimals written plainly, dates of the
  calendar in the years allowed, crises as ISO dates separated by ';', a name that needs no
  quoting or escaping. Each check is stricter than the schema, never looser: a cell it does not
  vouch for sends its row to the row path.
- **Money stays exact.** Numbers are parsed digit by digit into whole numbers and a power of ten
  (never through a float); what the backend reads as a float is that fraction correctly rounded,
  with its error bound, as :func:`~.vector._numbers` makes it.
- **Evaluation.** What a row's time gives (its contract year, the text of the year, whether the
  year is cut) is computed by the timeline's own functions once per distinct signature date; the
  rows are evaluated by :class:`~.vector.VectorRuleset`, which marks the rows it cannot vouch for.
- **The row path.** Every row not vouched for -- a line not read here, a cell not checked here,
  later contracts, a contract year cut by a text entering into force, a row the backend marks
  uncertain, a text it refuses -- is handed, alone, to the row path of ``batch``
  (:class:`~.batch._ChunkReader`), so its output row or its diagnostic (``file:line:col: CODE``)
  is exactly today's. Their number is counted (:attr:`ColumnarRun.scalar_rows`) and said on
  stderr by the command: nothing falls back silently.
- **Writing.** The rows are rendered as the row path renders them (CSV or JSON Lines), byte for
  byte: each row is laid out in a matrix of bytes, one fixed slot per field padded with NUL (a
  byte no input holds: ``batch`` refuses it), and the padding is dropped in one pass.

Tests: tests/test_columnar.py (identical output to the row path on generated profiles with edge
cells, a bad row anywhere, refused texts and rows handed over).
"""

from __future__ import annotations

import datetime
import functools
import json

from .batch import (
    BatchRun, ChunkOutcome, _ChunkReader, _cell_parser, _csv_path, _is_date, _leaf_check, _schema_at,
    _SIMPLE_FIELDS,
)
from .assumptions import RateGaps
from .impact import NO_MISSION, OUT_OF_CONTRACT
from .profile import Profile, parse_year_key
from .schema import MAX_YEAR, MIN_YEAR, load_schema
from .timeline import contract_year_on, time_names
from .vector import (
    _FIRST_SIGNED, CHUNK_ROWS, EPS, EXACT, MAX_DECIMALS, Columns, Day, Days, Num, VectorRefused, VectorRuleset,
    build_columns,
)
from .yaml_loader import MAX_NUMBER_DIGITS
from .columnar_native import (
    CONTRACTS, CRISES, DATE, INTEGER, NAME, NUMBER, Plan, native, rates, read_chunk, sum_lines, write_csv,
)

import numpy as np  # the optional extra `vector`: engine/columnar.py imports this module only with it

__all__ = ["ColumnarRun", "ColumnarReader"]

# A chunk of about sixteen thousand rows of the national sample's shape: numpy's cost per call is
# spread over many rows, and the temporaries stay small (measured at 100 000 rows: 1, 2, 4 and
# 8 MB chunks took 1.22, 1.25, 1.04 and 1.52 s of CPU, with a peak of 100, 157, 232, 391 MB; at
# 1 000 000 rows, quiet machine: 2, 3 and 4 MB 6.8, 5.7 - 6.5 and 5.5 - 5.8 s, peaks 136, 187 and
# 213 MB). 3 MB keeps a batch under the 200 MB issue 14 asks, at about the speed of 4 MB.
CHUNK_BYTES = 3 << 20
# Whole numbers of at most this many digits (MAX_NUMBER_DIGITS, far below 2**53): exact in an
# int64 and in a float64.
_DIGITS = min(MAX_NUMBER_DIGITS, 15)
# Crises of a row read here: more go to the row path.
_MOST_CRISES = 8
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_FORMULA_STARTS = b"=+-@\t\r"  # cli.output.spreadsheet_safe prefixes these with ': row path


class ColumnarRun(BatchRun):
    """:class:`~.batch.BatchRun` whose chunks are read, checked and evaluated in columns.

    After the iteration, ``vector_rows`` counts the rows the columns computed, ``scalar_rows``
    those handed to the row path, ``refused`` maps a text the backend refused to its reason,
    and ``not_read`` says why no row was read in columns (a French Excel file...), or is None.
    """

    chunk_bytes = CHUNK_BYTES
    # --jobs N spreads the chunks from this size (about 250 000 rows of the national sample's shape):
    # a spawned worker takes about 0.6 s of CPU to start (numpy, the engine, the text's columns),
    # what this process spends reading some 120 000 rows; below, one process is as fast
    # (bench_columnar.py). A forked one starts in milliseconds: from 16 MB (about 85 000 rows;
    # measured, whole process, 24 MB: 0.53 - 0.56 s of wall time with --jobs 2, 0.59 - 0.75 s
    # without; 18 MB: no gain, the last chunks of one process left to wait for).
    parallel_from = 48 << 20
    parallel_from_forked = 16 << 20
    parent_works = True  # it has built the columns of the text already: a worker fewer to start

    def __init__(self, fast, path, known_missions, day, *, missions, output_format, render, **options):
        super().__init__(fast, path, known_missions, day, render=render, **options)
        self.missions, self.output_format = missions, output_format
        self.vector_rows = self.scalar_rows = 0
        self.refused: dict = {}
        self.not_read = None
        self._vectors: dict = {}  # id(ruleset) -> (ruleset, VectorRuleset or None)
        _keep_freed_memory()

        def reader(spec, fast_timeline):
            return ColumnarReader(spec, fast_timeline, self)
        self.chunk_reader = reader

    def vector(self, ruleset):
        """The columns of ``ruleset`` (built once), or None when the backend refuses it."""
        entry = self._vectors.get(id(ruleset))
        if entry is None and any(line.mission and line.mission not in self.missions for line in ruleset.lines):
            # A mission with no column: the row path says so (a defect of ours, never hidden).
            entry = self._vectors[id(ruleset)] = (ruleset, None)
        if entry is None:
            try:
                vector = VectorRuleset(ruleset)
                _check_shape(ruleset, self.timeline.renewal)
            except VectorRefused as refusal:
                vector = None
                self.refused[ruleset.id] = refusal.reason
            entry = self._vectors[id(ruleset)] = (ruleset, vector)
        return entry[1]

    @property
    def timeline(self):
        return self.fast.timeline

    def worker_reader(self):
        return functools.partial(_worker_reader, (self.known, self.day, self.missions, self.output_format))

    def _take(self, outcome, bar) -> None:
        super()._take(outcome, bar)
        found = outcome.counters
        if found:  # a worker's: its rows by path, the texts it refused
            self.vector_rows += found["vector_rows"]
            self.scalar_rows += found["scalar_rows"]
            self.refused.update(found["refused"])
            self.not_read = self.not_read or found["not_read"]


def _worker_reader(options, spec, fast):
    """The columnar reader of a worker of ``--jobs`` (engine.batch._init_chunk_worker), with a run
    of its own whose counts go back with each chunk's outcome (:meth:`ColumnarReader.counted`)."""
    known, day, missions, output_format = options
    run = ColumnarRun(fast, spec.path, known, day, missions=missions, output_format=output_format,
                      render=spec.render)
    return run.chunk_reader(spec, fast)


def _keep_freed_memory() -> None:
    """Ask glibc's allocator to keep the memory numpy frees, up to a bound, for the next chunk.

    A chunk's temporaries are arrays of a few megabytes: by default glibc gives them back to the
    system after each chunk and the next chunk faults them in again, page by page (measured at
    1 000 000 rows: 190 000 page faults and 0.5 s of system time, against 27 000 and 0.4 s less
    once kept; the peak memory is the same, the chunks being alike). Elsewhere (another C
    library, another system) nothing is changed.
    """
    import os

    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD: keep up to 256 MB freed at the top of the heap
        libc.mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD: arrays below 64 MB come from the heap
    except (OSError, AttributeError, ValueError):
        return


def _check_shape(ruleset, renewal) -> None:
    """Refuse (visibly) if the backend's columns no longer have the shape :func:`_columns` makes."""
    blank = Profile("", 0, None, None, None, {}, ())
    expected = build_columns(ruleset, [(blank, datetime.date(2000, 1, 1), 0)], renewal)
    ours = _columns(ruleset, 1, _Rows.blank(ruleset, datetime.date(2000, 1, 1)))
    if set(expected.names) != set(ours.names) or {m: set(f) for m, f in expected.missions.items()} != \
            {m: set(f) for m, f in ours.missions.items()}:
        from .diagnostic import msg
        raise VectorRefused(msg("the columns of the vectorised backend changed shape"))


# -- the columns of a header --------------------------------------------------------------------------

class _Column:
    """How one CSV column is read here: its kind, bounds, and what it fills."""

    def __init__(self, name: str):
        self.name = name
        self.where = where = _csv_path(name)
        self.kind = None  # None: not read here (every row goes to the row path)
        self.low = self.high = None
        self.most = None
        if _cell_parser(where) is None:
            return
        if where == ("crises",):
            self.kind, self.most = "crises", (_schema_at(where) or {}).get("maxItems")
            return
        if where == ("contracts",):
            self.kind = "contracts"
            return
        node = _schema_at(where)
        check = None if node is None else _leaf_check(node)
        if check is None:
            return
        if check is _is_date:
            self.kind = "date"
            return
        low, high = node.get("minimum"), node.get("maximum")
        if any(bound is not None and type(bound) is not int for bound in (low, high)):
            return  # a bound of another kind: compared by the row path
        self.low, self.high = low, high
        if node.get("type") == "integer":
            self.kind = "integer"
        elif node.get("type") == "number":
            self.kind = "number"
        elif node.get("type") == "string" and where == ("name",):
            self.kind, self.low = "name", node.get("minLength", 0)


def _header_plan(header) -> tuple[list, str | None]:
    """The columns of a header, and why its rows cannot be read here (None when they can)."""
    columns = [_Column(name) for name in header]
    simple = set(_SIMPLE_FIELDS) | {"crises", "contracts"}
    for column in columns:
        where = column.where
        if column.kind is None or (where[0] != "missions" and where[0] not in simple):
            return columns, f"column {column.name}"
    present = {column.where[0] for column in columns}
    if not set(load_schema("profile").get("required", ())) <= present:
        return columns, "required column missing"
    if len(columns) < 2:
        return columns, "one column"
    return columns, None


# -- cells to values --------------------------------------------------------------------------------

def _window(buffer, starts, width: int):
    """The ``width`` bytes from each start (past the end of the buffer: NUL), a uint8 matrix."""
    index = starts[:, None] + np.arange(width)
    if index.size and index[:, -1].max() >= buffer.shape[0]:
        inside = index < buffer.shape[0]
        return np.where(inside, buffer[np.where(inside, index, 0)], 0).astype(np.uint8)
    return buffer[index]


def _parse_long_number(buffer, starts, lengths, decimals: bool):
    """``(ok, mantissa, scale)`` of cells written as a plain whole number (``0|[1-9][0-9]*``) or,
    with ``decimals``, a plain decimal (``(0|[1-9][0-9]*)\\.[0-9]+``), of at most _DIGITS digits,
    as the row path's typed parse takes them: the value is exactly ``mantissa / 10**scale``.
    Empty cells are not ok (the caller sees them); only the others are looked at."""
    size = starts.shape[0]
    ok = np.zeros(size, dtype=bool)
    mantissa = np.zeros(size, dtype=np.int64)
    scale = np.zeros(size, dtype=np.int64)
    at = np.flatnonzero((lengths > 0) & (lengths <= _DIGITS + (1 if decimals else 0)))
    if not at.size:
        return ok, mantissa, scale
    length = lengths[at]
    width = int(length.max())
    window = _window(buffer, starts[at], width)
    position = np.arange(width)[None, :]
    inside = position < length[:, None]
    digit = (window >= 48) & (window <= 57)
    dot = (window == 46) & inside
    dots = dot.sum(axis=1)
    where_dot = np.where(dots == 1, dot.argmax(axis=1), length)
    good = np.all(digit | ~inside | dot, axis=1)
    if decimals:
        good &= (dots == 0) | ((dots == 1) & (where_dot >= 1) & (where_dot < length - 1))
        good &= length - (dots == 1) <= _DIGITS
    else:
        good &= dots == 0
    # No leading zero before another digit of the whole part (0 alone, or 0.xx).
    good &= ~((window[:, 0] == 48) & (where_dot > 1))
    value = np.zeros(at.shape[0], dtype=np.int64)
    for column in range(width):  # Horner's rule over the digits, the dot skipped
        take = inside[:, column] & ~dot[:, column]
        value = np.where(take, value * 10 + (window[:, column].astype(np.int64) - 48), value)
    ok[at] = good
    mantissa[at] = np.where(good, value, 0)
    scale[at] = np.where(good & (dots == 1), length - where_dot - 1, 0)
    return ok, mantissa, scale


_U64 = np.uint64
_NIBBLES = _U64(0x0F0F0F0F0F0F0F0F)
_HIGH = _U64(0xF0F0F0F0F0F0F0F0)
_THREES = _U64(0x3030303030303030)
_SIXES = _U64(0x0606060606060606)
_DOTS = _U64(0x2E2E2E2E2E2E2E2E)
_LOW7 = _U64(0x7F7F7F7F7F7F7F7F)
# (1 << 8 * n) - 1: the first n bytes of a word read little-endian.
_FIRST = np.array([(1 << 8 * n) - 1 for n in range(9)], dtype=np.uint64)


def _words(padded, size: int):
    """Every 8 bytes from each offset of ``padded`` (the chunk and 16 NUL), read little-endian:
    one gather gives a cell's first 8 bytes (a view, nothing copied)."""
    return np.ndarray(shape=(size + 8,), dtype="<u8", buffer=padded, offset=0, strides=(1,))


def _swar(digits):
    """The whole numbers whose decimal digits are the bytes of ``digits`` (values 0..9, the first
    byte the most significant): three multiplications for eight digits at once."""
    value = ((digits & _NIBBLES) * _U64(2561)) >> _U64(8)
    value = ((value & _U64(0x00FF00FF00FF00FF)) * _U64(6553601)) >> _U64(16)
    return ((value & _U64(0x0000FFFF0000FFFF)) * _U64(42949672960001)) >> _U64(32)


def _parse_number(buffer, words, starts, lengths, decimals: bool):
    """``(ok, mantissa, scale)`` of cells written as a plain whole number (``0|[1-9][0-9]*``) or,
    with ``decimals``, a plain decimal (``(0|[1-9][0-9]*)\\.[0-9]+``), of at most _DIGITS digits,
    as the row path's typed parse takes them: the value is exactly ``mantissa / 10**scale``.
    Empty cells are not ok (the caller sees them). Cells of at most 8 bytes are read as one
    word each; longer ones digit by digit."""
    size = starts.shape[0]
    ok = np.zeros(size, dtype=bool)
    mantissa = np.zeros(size, dtype=np.int64)
    scale = np.zeros(size, dtype=np.int64)
    at = np.flatnonzero((lengths > 0) & (lengths <= 8))
    if at.size:
        # Each test on a whole word at once (eight bytes; no numpy reduction over short rows).
        length = lengths[at]
        inside = _FIRST[length]
        word = words[starts[at]] & inside
        # Bytes that are not digits: a high nibble other than 3, or a low nibble above 9.
        other = ((word & _HIGH) ^ _THREES) | (((word & _NIBBLES) + _SIXES) & _HIGH)
        # The byte that is '.', marked 0x80 exactly (no false mark from a borrow).
        dotted = word ^ _DOTS
        dot_mark = ~(((dotted & _LOW7) + _LOW7) | dotted | _LOW7) & inside
        one_dot = (dot_mark != 0) & ((dot_mark & (dot_mark - _U64(1))) == 0)
        no_dot = dot_mark == 0
        where_dot = np.where(one_dot, (np.log2(np.where(one_dot, dot_mark, 1).astype(np.float64)).astype(np.int64)
                                       - 7) // 8, length)
        dot_byte = np.where(one_dot, _U64(0xFF) << (_U64(8) * where_dot.astype(np.uint64)), _U64(0))
        good = (other & inside & ~dot_byte) == 0
        if decimals:
            good &= no_dot | (one_dot & (where_dot >= 1) & (where_dot < length - 1))
        else:
            good &= no_dot
        good &= ~(((word & _U64(0xFF)) == _U64(48)) & (where_dot > 1))  # no leading zero but in 0, 0.xx
        # The digits, the dot taken out (the whole part moved one byte up), then the last digit
        # moved to the eighth byte (the least significant in _swar).
        nibbles = word & _NIBBLES
        before = _FIRST[where_dot]
        nibbles = np.where(one_dot, ((nibbles & before) << _U64(8)) | (nibbles & ~_FIRST[np.minimum(where_dot + 1, 8)]),
                           nibbles)
        nibbles = nibbles << (_U64(8) * (8 - length).astype(np.uint64))
        ok[at] = good
        mantissa[at] = np.where(good, _swar(nibbles).astype(np.int64), 0)
        scale[at] = np.where(good & one_dot, length - where_dot - 1, 0)
    longer = lengths > 8
    if longer.any():
        long_ok, long_mantissa, long_scale = _parse_long_number(buffer, starts, np.where(longer, lengths, 0), decimals)
        ok |= long_ok
        mantissa = np.where(long_ok, long_mantissa, mantissa)
        scale = np.where(long_ok, long_scale, scale)
    return ok, mantissa, scale


def _parse_rates(buffer, words, starts, lengths, low, high):
    """``(ok, mantissa, scale)`` of the cells of decimal columns, each with its bounds (``starts``,
    ``lengths``: one row per column; ``low``, ``high``: per column, whole numbers or None), as
    :func:`_parse_number` and the bounds' check give them.

    Most cells are rates written ``d.dd``: read from one word each with a few operations and
    compared with the bounds in hundredths; the other cells that are not empty go through
    :func:`_parse_number`."""
    word = words[starts].astype(np.uint32)
    mask, value, nibbles, six, high_nibbles = (np.uint32(w) for w in _RATE)
    shaped = (lengths == 4) & ((word & mask) == value) & ((((word & nibbles) + six) & high_nibbles) == 0)
    mantissa = ((word & np.uint32(0x0F)) * np.uint32(100) + ((word >> np.uint32(16)) & np.uint32(0x0F)) * np.uint32(10)
                + ((word >> np.uint32(24)) & np.uint32(0x0F))).astype(np.int64)
    lowest = np.array([-1 if b is None else 100 * b for b in low], dtype=np.int64)[:, None]
    highest = np.array([1 << 40 if b is None else 100 * b for b in high], dtype=np.int64)[:, None]
    ok = shaped & (mantissa >= lowest) & (mantissa <= highest)
    mantissa *= shaped
    scale = shaped.astype(np.int64) << 1
    rest = np.flatnonzero(~shaped & (lengths > 0))
    if rest.size:
        column = rest // starts.shape[1]  # each cell's column in the group
        good, found, places = _parse_number(buffer, words, starts.ravel()[rest], lengths.ravel()[rest], True)
        for bounds, inside in ((low, np.greater_equal), (high, np.less_equal)):
            limit = np.array([b if b is not None else 0 for b in bounds], dtype=np.int64)[column]
            good &= np.array([b is None for b in bounds])[column] | inside(found, limit * _POW10[places])
        ok.ravel()[rest], mantissa.ravel()[rest], scale.ravel()[rest] = good, found, places
    return ok, mantissa, scale


def _pattern(pattern: bytes):
    """The words (little-endian) that check a cell's bytes against ``pattern`` (b'd': a digit,
    else that byte), for :func:`_digits_match`: (mask, value, low nibbles, sixes, high nibbles)."""
    mask = value = low = 0
    for position, byte in enumerate(pattern):
        shift = 8 * position
        if byte == ord("d"):
            mask, value, low = mask | 0xF0 << shift, value | 0x30 << shift, low | 0x0F << shift
        else:
            mask, value = mask | 0xFF << shift, value | byte << shift
    return tuple(_U64(w) for w in (mask, value, low, low & 0x0606060606060606, low << 4))


# YYYY-MM- (the first word of a date cell) and DD (its next two bytes).
_DATE_HEAD = _pattern(b"dddd-dd-")
_DATE_TAIL = _pattern(b"dd")
_RATE = _pattern(b"d.dd")  # the usual rate of achievement, 0.00 to 1.00
_DATE_TABLE = None  # YYYYMMDD - MIN_YEAR * 10**4 -> date.toordinal(), 0 where no such day


def _date_table():
    """The ordinal of every day of MIN_YEAR..MAX_YEAR, at the index of its YYYYMMDD (8 MB, once)."""
    global _DATE_TABLE
    if _DATE_TABLE is None:
        days = np.arange(f"{MIN_YEAR:04d}-01-01", f"{MAX_YEAR + 1:04d}-01-01", dtype="datetime64[D]")
        months = days.astype("datetime64[M]")
        key = (months.astype("datetime64[Y]").astype(np.int64) + 1970 - MIN_YEAR) * 10 ** 4 \
            + (months.astype(np.int64) % 12 + 1) * 100 + (days - months).astype(np.int64) + 1
        table = np.zeros((MAX_YEAR + 1 - MIN_YEAR) * 10 ** 4, dtype=np.int32)
        table[key] = days.astype(np.int64) + _EPOCH_ORDINAL
        _DATE_TABLE = table
    return _DATE_TABLE


def _digits_match(word, pattern) -> np.ndarray:
    """Whether each word's bytes are those of ``pattern`` (_pattern: a digit where it says 'd')."""
    mask, value, low, six, high = pattern
    # A low nibble above 9 carries into its high nibble once 6 is added (never into the next byte).
    return ((word & mask) == value) & ((((word & low) + six) & high) == _U64(0))


def _parse_dates(buffer, words, starts, lengths):
    """``(ok, ordinal)`` of cells written YYYY-MM-DD, a day of the calendar in the years allowed
    (``batch._is_date``); the ordinal is date.toordinal()'s.

    Each cell is two words read from its start: the pattern is checked on whole words, the
    eight digits are combined into YYYYMMDD by :func:`_swar`, and a table of the days of the
    years allowed gives the ordinal (0: no such day, as 2023-02-29)."""
    head = words[starts]
    tail = words[starts + 8]
    good = (lengths == 10) & _digits_match(head, _DATE_HEAD) & _digits_match(tail & _U64(0xFFFF), _DATE_TAIL)
    # The digits as one word, YYYYMMDD, the first byte the most significant.
    digits = (head & _U64(0x0F0F0F0F)) | ((head >> _U64(8)) & _U64(0x0F0F00000000)) \
        | ((tail & _U64(0x0F0F)) << _U64(48))
    key = _swar(digits).astype(np.int64) - MIN_YEAR * 10 ** 4
    table = _date_table()
    inside = good & (key >= 0) & (key < table.shape[0])
    ordinal = table[np.where(inside, key, 0)].astype(np.int64)
    ordinal = np.where(inside, ordinal, 0)
    return inside & (ordinal != 0), ordinal


def _name_ok(buffer, starts, lengths, shortest: int):
    """Names the row path takes as they are and that both outputs write as they are.

    Not: a first or last character that str.strip() could take off (only ASCII from '!' to '~'
    and the two-byte UTF-8 letters from U+00C0 are vouched for there), a control character, a
    backslash (JSON escapes it), a formula start (spreadsheet_safe), a text shaped like a date,
    fewer characters than the schema's minLength.
    """
    size = starts.shape[0]
    ends = starts + lengths
    last_index = buffer.shape[0] - 1
    first = buffer[np.clip(starts, 0, last_index)]
    last = buffer[np.clip(ends - 1, 0, last_index)]
    before_last = buffer[np.clip(ends - 2, 0, last_index)]
    ok = (lengths >= 1) & (((first >= 0x21) & (first <= 0x7E)) | ((first >= 0xC3) & (first <= 0xDF)))
    ok &= ~np.isin(first, np.frombuffer(_FORMULA_STARTS, dtype=np.uint8))
    ok &= ((last >= 0x21) & (last <= 0x7E)) | \
        ((last >= 0x80) & (last <= 0xBF) & (before_last >= 0xC3) & (before_last <= 0xDF) & (lengths >= 2))
    at = np.flatnonzero(ok)
    if at.size:
        # Every byte of the names: a control character or a backslash, and the characters (bytes
        # less UTF-8's continuation bytes), counted per name.
        length = lengths[at]
        before = np.concatenate([[0], np.cumsum(length)[:-1]])
        within = np.arange(int(length.sum()), dtype=np.int64) - np.repeat(before, length)
        data = buffer[np.repeat(starts[at], length) + within]
        bad = np.add.reduceat(((data < 0x20) | (data == 0x5C)).astype(np.int64), before)
        characters = length - np.add.reduceat(((data >= 0x80) & (data <= 0xBF)).astype(np.int64), before)
        ok[at] = (bad == 0) & (characters >= shortest)
    shaped = np.zeros(size, dtype=bool)
    tens = np.flatnonzero(lengths == 10)
    if tens.size:
        window = _window(buffer, starts[tens], 10)
        digit = (window >= 48) & (window <= 57)
        shaped[tens] = np.all(digit[:, [0, 1, 2, 3, 5, 6, 8, 9]], axis=1) & (window[:, 4] == 45) \
            & (window[:, 7] == 45)
    return ok & ~shaped


_POW10 = 10 ** np.arange(19, dtype=np.int64)
_POW10F = 10.0 ** np.arange(19)
_POW5 = 5 ** np.arange(19, dtype=np.int64)


def _block(parse, buffer, words, starts, lengths, at, ok):
    """``parse`` of the cells of the columns ``at`` at once (``starts`` and ``lengths``: a column's
    cells in each row): its results as (columns, rows) matrices; a row with a cell neither empty
    nor good is no longer ``ok``."""
    begin, length = starts[at], lengths[at]
    good, *values = parse(buffer, words, begin.ravel(), length.ravel())
    good = good.reshape(length.shape)
    bad = np.flatnonzero(~good.ravel() & (length.ravel() != 0))
    if bad.size:
        ok[bad % length.shape[1]] = False
    return (good, *(value.reshape(length.shape) for value in values))


# -- the rows of a chunk read in columns --------------------------------------------------------------

class _Rows:
    """What the columns need of the rows evaluated together: values per row, None where absent."""

    def __init__(self, size):
        self.size = size
        self.population = np.zeros(size, dtype=np.int64)
        self.members = np.zeros(size, dtype=np.int64)
        self.days = {}  # field -> (ordinal, null)
        self.mission_days = {}  # (mission, field) -> (ordinal, null)
        self.achievement = {}  # (mission, year) -> (mantissa, scale, present)
        # Or, from the compiled reader, the rates as the rows x columns matrices it filled:
        # (mantissas, scales, goods, the rows taken of them (None: all), (mission, year) -> column).
        self.rates = None
        self.crises = (np.zeros((size, 0), dtype=np.int64), np.zeros((size, 0), dtype=bool))
        self.when = np.zeros(size, dtype=np.int64)  # the day the text is evaluated on
        self.time: dict = {}  # time name -> (ordinal or number, null)
        self.year = np.zeros(size, dtype=np.int64)  # the contract year's key at `when`, by _key_index (0: none)
        self.rated: dict = {}  # mission -> whether each row has a rate for its year (set by _columns)

    @classmethod
    def blank(cls, ruleset, day):
        rows = cls(1)
        rows.when[:] = day.toordinal()
        for name in ("contract_year", "contract_signed", "contract_year_start", "contract_year_end", "contract_end"):
            rows.time[name] = (np.zeros(1, dtype=np.int64), np.ones(1, dtype=bool))
        return rows

    def take(self, index):
        """The rows at ``index`` (sorted, no repeats: all of them is these rows)."""
        if index.shape[0] == self.size:
            return self
        taken = _Rows(index.shape[0])
        taken.population, taken.members = self.population[index], self.members[index]
        taken.days = {k: (v[index], n[index]) for k, (v, n) in self.days.items()}
        taken.mission_days = {k: (v[index], n[index]) for k, (v, n) in self.mission_days.items()}
        taken.achievement = {k: (m[index], s[index], p[index]) for k, (m, s, p) in self.achievement.items()}
        if self.rates is not None:
            *matrices, at, columns = self.rates
            taken.rates = (*matrices, index if at is None else at[index], columns)
        taken.crises = (self.crises[0][index], self.crises[1][index])
        taken.when, taken.year = self.when[index], self.year[index]
        taken.time = {k: (v[index], n[index]) for k, (v, n) in self.time.items()}
        return taken


_KEYS: dict = {}  # a contract year's key (timeline.year_key: k, or (n, k)) -> a small number, from 1
_LATER: set = set()  # the numbers of _KEYS that are years of a later contract than the first


def _key_index(key) -> int:
    """A number standing for a contract year's key, the same in every chunk and column."""
    return _KEYS.setdefault(key, len(_KEYS) + 1)


def _day_column(values, null):
    return Day(values.astype(np.int64), null if null.any() else None)


def _number_column(mantissa, scale, null=None):
    """A Num as :func:`~.vector._numbers` makes it of Decimals ``mantissa / 10**scale``: the float
    correctly rounded (a division of two floats holding whole numbers exactly), its error bound
    (0 when the fraction is a binary one), and the exact form when it is not whole."""
    size = mantissa.shape[0]
    if not scale.any():  # whole numbers (a population, a contract year): exact floats
        v = mantissa.astype(np.float64)
        if null is not None:
            v = np.where(null, 0.0, v)
        whole = not size or bool(np.abs(v).max() < EXACT)
        e = np.zeros(size)
        return Num(v, e, null if null is not None and null.any() else None, whole=whole, exact=None)
    v = mantissa / _POW10F[scale]
    binary = (mantissa % _POW5[scale]) == 0
    e = np.where(binary, 0.0, np.abs(v) * EPS)
    if null is not None:
        v, e = np.where(null, 0.0, v), np.where(null, 0.0, e)
    whole = bool(not (e != 0).any() and (v == np.floor(v)).all() and (not size or np.abs(v).max() < EXACT))
    exact = None
    if not whole:
        k = int(scale.max()) if size else 0
        # Whole numbers below 2**53 times a power of ten, the product below 2**53: exact in floats.
        ints = mantissa.astype(np.float64) * _POW10F[k - scale]
        if null is not None:
            ints = np.where(null, 0.0, ints)
        if k <= MAX_DECIMALS and (not size or np.abs(ints).max() < EXACT):
            exact = (ints, k)
    return Num(v, e, null if null is not None and null.any() else None, whole=whole, exact=exact)


def _columns(ruleset, size, rows: _Rows) -> Columns:
    """The backend's columns of ``rows``, as :func:`~.vector.build_columns` makes them of profiles."""
    no = np.zeros(size, dtype=bool)
    zero = np.zeros(size, dtype=np.int64)

    def day(field):
        values, null = rows.days.get(field, (zero, ~no))
        return _day_column(values, null)

    def time_day(name):
        values, null = rows.time[name]
        return _day_column(values, null)

    year_values, year_null = rows.time["contract_year"]
    names = {
        "date": Day(rows.when.copy()),
        "population": _number_column(rows.population, zero),
        "members": _number_column(rows.members, zero),
        "letter_of_intent_validated": day("letter_of_intent_validated"),
        _FIRST_SIGNED: day("contract_signed"),  # the taille's basis reads the first contract's signature
        "contract_year": _number_column(year_values, zero, year_null),
        "text_in_force": Day(np.full(size, ruleset.in_force.toordinal(), dtype=np.int64)),
    }
    for name in ("contract_signed", "contract_year_start", "contract_year_end", "contract_end"):
        names[name] = time_day(name)
    missions = {}
    rows.rated = {}
    for mission in ruleset.missions:
        if rows.rates is not None:
            mantissa, scale, rated = _rates_of(rows, mission)
        else:
            mantissa, scale, rated = zero.copy(), zero.copy(), no.copy()
            for (of, key), found in rows.achievement.items():
                if of != mission:
                    continue
                take = (rows.year == _key_index(key)) & found[2]
                mantissa = np.where(take, found[0], mantissa)
                scale = np.where(take, found[1], scale)
                rated |= take
        rows.rated[mission] = rated
        missions[mission] = {
            "started": _day_column(*rows.mission_days.get((mission, "started"), (zero, ~no))),
            "deployed": _day_column(*rows.mission_days.get((mission, "deployed"), (zero, ~no))),
            "achievement": _number_column(mantissa, scale),
            "indicators_earned": _number_column(zero, zero, ~no),
        }
    names["crises"] = Days(rows.crises[0], rows.crises[1])
    names["population_history"] = (Days(np.zeros((size, 0), dtype=np.int64), np.zeros((size, 0), dtype=bool)),
                                   Num(np.zeros((size, 0)), np.zeros((size, 0)), whole=True))
    return Columns(size, names, missions, np.zeros(size, dtype=np.int64))


def _rates_of(rows: _Rows, mission: str):
    """(mantissa, scale, whether there is one) of each row's rate of ``mission`` for its contract
    year (0, 0, False where it has none), from the compiled reader's matrices (engine/_columnar.c:
    one pass a mission where the numpy reader's columns take a few per year)."""
    values, scales, goods, at, columns = rows.rates
    mine = [(_key_index(key), column) for (of, key), column in columns.items() if of == mission]
    table = np.full(len(_KEYS) + 1, -1, dtype=np.int64)  # contract year's key -> its column here
    for key, column in mine:
        table[key] = column
    return rates(native(), rows.year, at, table, values, scales, goods)


class ColumnarReader:
    """Reads, checks and evaluates a chunk of a CSV in columns; hands the rest to the row path.

    ``process`` has the contract of :meth:`~.batch._ChunkReader.process`.
    """

    def __init__(self, spec, fast, run: ColumnarRun):
        self.spec, self.fast, self.run = spec, fast, run
        self.rows = _ChunkReader(spec, fast)  # the row path
        self.columns, reason = _header_plan(spec.header) if spec.kind == "csv" else ([], "not a CSV")
        if reason is None and (spec.delimiter != "," or spec.french or spec.encoding != "utf-8"):
            reason = "French Excel CSV"
        if reason is not None and run.not_read is None:
            run.not_read = reason
        self.reason = reason
        self.day = spec.day
        # Dates and rates, the most cells, are read a group of columns at a time; the rest one by one.
        self._dates, self._rates, self._others = [], [], []
        for index, column in enumerate(self.columns if reason is None else ()):
            if column.kind == "date":
                self._dates.append((index, column.where))
            elif column.kind == "number" and column.where[0] == "missions" and column.where[2:3] == ("achievement",):
                self._rates.append((index, column.where))
            else:
                self._others.append(index)
        self._times: dict = {}  # signature ordinal (-1: none) -> what the row's time gives
        self._gaps = RateGaps()  # W050's count of the rows the columns computed in this chunk
        self.native = native() if reason is None else None
        self._plan = _native_plan(self.columns) if self.native is not None else None
        self.writer = _Writer(spec, run, self.native) if reason is None else None
        if self.writer is not None and not self.writer.plain_source:
            self.reason = run.not_read = run.not_read or "a file name the output quotes"
            self.writer = None

    def counted(self) -> dict:
        """What this reader counted for its run since the last call (a worker sends it back)."""
        run = self.run
        found = {"vector_rows": run.vector_rows, "scalar_rows": run.scalar_rows, "refused": dict(run.refused),
                 "not_read": run.not_read}
        run.vector_rows = run.scalar_rows = 0
        return found

    # -- the row path ----------------------------------------------------------------------------

    def _by_rows(self, data: bytes, first_line: int, level: int, last: bool) -> ChunkOutcome:
        outcome = self.rows.process(data, first_line, level, last)
        if level == 0:
            self.run.scalar_rows += outcome.rows
        return outcome

    def process(self, data: bytes, first_line: int, level: int, last: bool) -> ChunkOutcome:
        if self.reason is not None or level != 0:
            return self._by_rows(data, first_line, level, last)
        if self.native is not None:
            return self._process_native(data, first_line, level, last)
        size = len(data)
        padded = np.frombuffer(data + bytes(16), dtype=np.uint8)
        buffer = padded[:size]
        width = len(self.columns)
        returns = b"\r" in data
        if returns:
            at = np.flatnonzero(buffer == 13)
            if np.any(at + 1 >= size) or np.any(buffer[np.minimum(at + 1, size - 1)] != 10):
                return self._by_rows(data, first_line, level, last)  # a line ending at a lone '\r'
        # The line breaks, then the commas: a plain line is one row of as many cells as the header.
        breaks = np.flatnonzero(buffer == 10)
        if size and buffer[-1] != 10:
            breaks = np.append(breaks, size)  # the last line, without its line break
        lines = breaks.shape[0]
        starts = np.empty(lines, dtype=np.int64)
        starts[:1] = 0
        starts[1:] = breaks[:-1] + 1
        commas = np.flatnonzero(buffer == 44)
        before = np.searchsorted(commas, breaks)  # commas before each line's end
        per_line = np.diff(before, prepend=0)
        plain = per_line == width - 1
        if b'"' in data:
            count = np.bincount(np.searchsorted(breaks, np.flatnonzero(buffer == 34)), minlength=lines)
            if np.any(count % 2):
                return self._by_rows(data, first_line, level, last)  # a quoted cell may hold a line break
            plain &= count == 0
        if plain.all():
            cells = commas[:before[-1] if lines else 0].reshape(-1, width - 1)  # the usual file
        else:
            cells = commas[np.repeat(plain, per_line)[:commas.shape[0]]].reshape(-1, width - 1)
        rows_at = np.flatnonzero(plain)
        # Each column's cells, one row of these matrices (a column's cells side by side).
        cell_starts = np.empty((width, rows_at.shape[0]), dtype=np.int64)
        cell_ends = np.empty_like(cell_starts)
        cell_starts[0] = starts[rows_at]
        cell_starts[1:] = cells.T
        cell_ends[:-1] = cell_starts[1:]
        cell_starts[1:] += 1
        cell_ends[-1] = breaks[rows_at]
        if returns:  # a line ending with '\r\n': the '\r' is not in its last cell
            last_end = cell_ends[-1]
            last_end -= (last_end > cell_starts[-1]) & (buffer[np.maximum(last_end - 1, 0)] == 13)
        ok, rows, name_cells = self._read(buffer, _words(padded, size), cell_starts, cell_ends - cell_starts)
        vouched = rows_at[ok]
        rows = rows.take(np.flatnonzero(ok))
        name_cells = (name_cells[0][ok], name_cells[1][ok])
        outcome, rendered = self._evaluate(buffer, vouched, rows, name_cells, first_line)
        return self._merge(data, starts, breaks, vouched, outcome, rendered, first_line, last, lines)

    def _process_native(self, data: bytes, first_line: int, level: int, last: bool) -> ChunkOutcome:
        """:meth:`process` with the chunk read in one compiled pass (engine/_columnar.c)."""
        buffer = np.frombuffer(data, dtype=np.uint8)
        read = read_chunk(self.native, self._plan, buffer)
        if read is None:  # a lone carriage return, or a quoted cell that may hold a line break
            return self._by_rows(data, first_line, level, last)
        starts, breaks, vouched, values, scales, goods, name_starts, name_lengths, crises, present = read
        rows, rate_columns = _Rows(vouched.shape[0]), {}
        for index, column in enumerate(self.columns):
            where, kind = column.where, column.kind
            if kind in ("name", "contracts"):
                continue
            if kind == "crises":
                rows.crises = (crises, present)
            elif kind == "date":
                found = (values[index], ~goods[index])
                if where[0] == "missions":
                    rows.mission_days[(where[1], where[2])] = found
                else:
                    rows.days[where[0]] = found
            elif where[0] in ("population", "members"):
                setattr(rows, where[0], values[index])
            else:  # a rate of achievement of a contract year: taken from the matrices (_columns)
                rate_columns[(where[1], parse_year_key(where[3]))] = index
        rows.rates = (values.T, scales.T, goods.T, None, rate_columns)
        outcome, rendered = self._evaluate(buffer, vouched, rows, (name_starts, name_lengths), first_line)
        return self._merge(data, starts, breaks, vouched, outcome, rendered, first_line, last, starts.shape[0])

    # -- reading and checking --------------------------------------------------------------------

    def _read(self, buffer, words, starts, lengths):
        size = starts.shape[1]
        ok = np.ones(size, dtype=bool)
        rows = _Rows(size)
        names = (starts[0], lengths[0])
        # The dates, then the rates, each group of columns read at once.
        if self._dates:
            at = [index for index, _ in self._dates]
            good, ordinal = _block(_parse_dates, buffer, words, starts, lengths, at, ok)
            for position, (_, where) in enumerate(self._dates):
                found = (ordinal[position], ~good[position])
                if where[0] == "missions":
                    rows.mission_days[(where[1], where[2])] = found
                else:
                    rows.days[where[0]] = found
        if self._rates:
            at = [index for index, _ in self._rates]
            lows = [self.columns[i].low for i in at]
            highs = [self.columns[i].high for i in at]
            good, mantissa, scale = _parse_rates(buffer, words, starts[at], lengths[at], lows, highs)
            bad = np.flatnonzero(~good.ravel() & (lengths[at].ravel() != 0))
            if bad.size:
                ok[bad % size] = False
            for position, (_, where) in enumerate(self._rates):
                rows.achievement[(where[1], parse_year_key(where[3]))] = \
                    (mantissa[position], scale[position], good[position])
        for index in self._others:
            column = self.columns[index]
            begin, length = starts[index], lengths[index]
            empty = length == 0
            where, kind = column.where, column.kind
            if kind == "contracts":
                ok &= empty  # later contracts: the row path reads them
                continue
            if kind == "name":
                ok &= _name_ok(buffer, begin, length, column.low or 0)
                names = (begin, length)
                continue
            if kind == "crises":
                parts = (length + 1) // 11
                shaped = empty | (((length + 1) % 11 == 0) & (parts <= _MOST_CRISES))
                if column.most is not None:
                    shaped &= parts <= column.most
                longest = int(parts[shaped].max()) if shaped.any() else 0
                matrix = np.zeros((size, longest), dtype=np.int64)
                present = np.zeros((size, longest), dtype=bool)
                for position in range(longest):
                    has = shaped & (parts > position)
                    at = begin + 11 * position
                    good, ordinal = _parse_dates(buffer, words, at, np.where(has, 10, 0))
                    if position + 1 < longest:
                        following = has & (parts > position + 1)
                        good |= ~has
                        good &= ~following | (buffer[np.minimum(at + 10, buffer.shape[0] - 1)] == 59)
                    else:
                        good |= ~has
                    shaped &= good
                    matrix[:, position] = np.where(has, ordinal, 0)
                    present[:, position] = has
                ok &= shaped
                rows.crises = (matrix, present)
                continue
            if kind == "date":
                good, ordinal = _parse_dates(buffer, words, begin, length)
                ok &= empty | good
                if where[0] == "missions":
                    rows.mission_days[(where[1], where[2])] = (ordinal, ~good)
                else:
                    rows.days[where[0]] = (ordinal, ~good)
                continue
            good, mantissa, scale = _parse_number(buffer, words, begin, length, kind == "number")
            if column.low is not None:
                good &= mantissa >= column.low * 10 ** scale
            if column.high is not None:
                good &= mantissa <= column.high * 10 ** scale
            if where[0] in ("population", "members"):
                ok &= good if where[0] == "population" else empty | good
                setattr(rows, where[0], np.where(good, mantissa, 0))
            else:  # a rate of achievement of a contract year
                ok &= empty | good
                rows.achievement[(where[1], parse_year_key(where[3]))] = (mantissa, scale, good)
        return ok, rows, names

    # -- evaluating ------------------------------------------------------------------------------

    def _time(self, signed: int):
        """What the time of a row signed on ``signed`` (an ordinal, -1: not signed) gives, as
        :meth:`~.fastpath.FastTimeline.run` and :func:`~.vector.build_columns` compute it:
        None for a cut year (the row path combines its parts), else (ruleset, day evaluated,
        time names, year number, why out of contract, and the numbers the columns take of them:
        see :data:`_TIME_NAMES`)."""
        found = self._times.get(signed)
        if found is not None or signed in self._times:
            return found
        timeline, day = self.fast.timeline, self.day
        profile = Profile("", 0, None, None, datetime.date.fromordinal(signed) if signed >= 0 else None, {}, ())
        ruleset = timeline.resolve(day)
        year = contract_year_on(profile.signatures, day, ruleset.contract_years, timeline.renewal)
        out = None
        if year is None:
            when = day
            out = "not_signed" if profile.contract_signed is None or day < profile.contract_signed else "ended"
        else:
            segments = timeline.segments(year)
            # A cut year, or a year under another text than the day's (a text forced outside its
            # dates): the row path (FastTimeline.run), which combines the parts, and runs the day
            # itself where it may fail.
            if len(segments) != 1 or segments[0].ruleset is not ruleset:
                self._times[signed] = None
                return None
            ruleset, when = segments[0].ruleset, segments[0].start
        held, names = time_names(profile, when, ruleset.contract_years, timeline.renewal, ruleset.in_force)
        year_index = _key_index(held.key) if held else 0
        if held and held.contract is not None and held.contract.number > 1:
            _LATER.add(year_index)  # a renewed contract's year (rows stating later contracts go by rows)
        numbers = [when.toordinal(), year_index, {"not_signed": 1, "ended": 2}.get(out, 0)]
        for name in _TIME_NAMES:
            value = names[name]
            numbers += [0, 1] if value is None else [value if isinstance(value, int) else value.toordinal(), 0]
        found = self._times[signed] = (ruleset, when, names, year_index, out, tuple(numbers))
        return found

    def _evaluate(self, buffer, vouched, rows: _Rows, names, first_line):
        """Evaluate the rows read; returns (the positions in ``vouched`` evaluated, their text)."""
        size = rows.size
        signed, null = rows.days.get("contract_signed", (np.zeros(size, dtype=np.int64), np.ones(size, dtype=bool)))
        key = np.where(null, -1, signed)
        distinct, inverse = np.unique(key, return_inverse=True)
        times = [self._time(int(k)) for k in distinct]
        groups: dict = {}
        for index, time in enumerate(times):
            if time is not None:
                groups.setdefault(id(time[0]), (time[0], []))[1].append(index)
        done_at, pieces, table = [], [], None
        for ruleset, members in groups.values():
            vector = self.run.vector(ruleset)
            if vector is None:
                continue
            at = np.flatnonzero(np.isin(inverse, members))
            if not at.size:
                continue
            group = rows.take(at)
            which = inverse[at]
            if table is None:  # the numbers of each distinct signature's time, a row each
                table = np.array([t[5] if t is not None else _NO_TIME for t in times], dtype=np.int64)
            found = table[which]
            group.when, group.year, out = found[:, 0], found[:, 1], found[:, 2]
            for position, name in enumerate(_TIME_NAMES):
                group.time[name] = (found[:, 3 + 2 * position], found[:, 4 + 2 * position] != 0)
            for first in range(0, at.size, CHUNK_ROWS):
                part = slice(first, first + CHUNK_ROWS)
                taken = group.take(np.arange(at.size)[part])
                outcome = vector.run(_columns(ruleset, taken.size, taken))
                sure = ~outcome.uncertain
                if _LATER and self.fast.timeline.renewal:
                    self._count_gaps(ruleset, taken, outcome, sure)
                index = at[part][sure]
                done_at.append(index)
                pieces.append((index, ruleset, outcome, sure, out[part][sure], taken.time["contract_year"]))
        if not done_at:
            return np.zeros(0, dtype=np.int64), None
        order = np.concatenate(done_at)
        text = self.writer.render(buffer, vouched, names, order, pieces, first_line)
        return order, text

    def _count_gaps(self, ruleset, rows: _Rows, outcome, sure) -> None:
        """Add to the chunk's W050 count the rows vouched for in a renewed contract's year whose
        variable parts read a rate nobody gave (assumptions.RateCheck.gaps, in columns: a line
        reading ``achievement`` applies and the row has no rate of its mission for the year)."""
        later = sure & np.isin(rows.year, list(_LATER))
        if not later.any():
            return
        reads = self.rows.check.lines_reading(ruleset)  # line id -> mission, the lines reading a rate
        parts = np.zeros(rows.size, dtype=np.int64)
        for mission in sorted(set(reads.values())):
            applies = np.zeros(rows.size, dtype=bool)
            for line_id, of in reads.items():
                if of == mission and line_id in outcome.applies:
                    applies |= np.asarray(outcome.applies[line_id], dtype=bool)
            parts += applies & ~rows.rated.get(mission, np.zeros(rows.size, dtype=bool)) & later
        found = int((parts > 0).sum())
        gaps = self._gaps
        gaps.cpts += found
        gaps.renewed += found
        gaps.years += found
        gaps.parts += int(parts.sum())

    # -- merging the rows of both paths, in the input's order -------------------------------------

    def _merge(self, data, starts, breaks, vouched, order, rendered, first_line, last, lines):
        done = np.sort(vouched[order]) if order.size else np.zeros(0, dtype=np.int64)
        self.run.vector_rows += int(done.size)
        out = ChunkOutcome()
        out.rows = 0
        texts, cursor = [], 0
        buffer_text, offsets = rendered if rendered is not None else (b"", np.zeros(1, dtype=np.int64))
        line_done = np.zeros(lines, dtype=bool)
        line_done[done] = True
        # The lines left, in runs: each run goes to the row path as one piece of the chunk.
        left = np.flatnonzero(~line_done)
        runs = np.split(left, np.flatnonzero(np.diff(left) != 1) + 1) if left.size else []
        emitted = 0
        for run_lines in runs:
            begin = int(run_lines[0])
            before = int(np.searchsorted(done, begin))
            if before > emitted:
                texts.append(buffer_text[offsets[emitted]:offsets[before]])
                emitted = before
            end_line = int(run_lines[-1])
            piece = data[int(starts[begin]):int(breaks[end_line]) + 1]
            is_last = last and end_line == lines - 1
            if not is_last and not piece.endswith(b"\n"):
                piece += b"\n"
            outcome = self._by_rows(piece, first_line + begin, self._level(out), True)
            out.rows += outcome.rows
            out.read += outcome.read
            out.checked += outcome.checked
            out.failed += outcome.failed
            out.ended += outcome.ended
            out.gaps += outcome.gaps
            if outcome.fatal is not None and out.fatal is None:
                out.fatal = outcome.fatal
            if outcome.output:
                texts.append(outcome.output.encode("utf-8"))
        if done.size > emitted:
            texts.append(buffer_text[offsets[emitted]:offsets[done.size]])
        out.rows += int(done.size)
        out.ended += self.writer.ended if self.writer else 0
        if self.writer:
            self.writer.ended = 0
        out.gaps += self._gaps
        self._gaps = RateGaps()
        if not (out.read or out.checked or out.failed or out.fatal):
            out.output = b"".join(texts)  # UTF-8: written as it is (cli.impact._write_all)
        return out

    @staticmethod
    def _level(out) -> int:
        return 2 if out.read else 1 if out.checked else 0


def _native_plan(columns) -> Plan:
    """What the compiled reader needs of a header's columns (the numpy reader's rules: each
    column's kind, whether its cell is required, its bounds, the names' least length, the most
    crises, the most digits of a number, the calendar's table)."""
    kinds = {"date": DATE, "number": NUMBER, "integer": INTEGER, "name": NAME, "crises": CRISES,
             "contracts": CONTRACTS}
    bounded = ("number", "integer")
    most = next((column.most for column in columns if column.kind == "crises"), None)
    return Plan([kinds[column.kind] for column in columns], [column.where == ("population",) for column in columns],
                [column.low if column.kind in bounded else None for column in columns],
                [column.high if column.kind in bounded else None for column in columns],
                next((column.low or 0 for column in columns if column.kind == "name"), 0),
                _MOST_CRISES if most is None else min(most, _MOST_CRISES), _DIGITS, _date_table(),
                MIN_YEAR * 10 ** 4, _FORMULA_STARTS)


# The time names the columns read, each a number (a day's ordinal, a year) and whether it is null.
_TIME_NAMES = ("contract_year", "contract_signed", "contract_year_start", "contract_year_end", "contract_end")
_NO_TIME = (0,) * (3 + 2 * len(_TIME_NAMES))


# -- writing ---------------------------------------------------------------------------------------

class _Writer:
    """Renders evaluated rows exactly as ``cli.impact._render_rows`` does, in columns of bytes."""

    def __init__(self, spec, run: ColumnarRun, library=None):
        self.run = run
        self.native = library  # the compiled writer of CSV rows (engine/_columnar.c), or None
        self.format = run.output_format
        self.missions = run.missions
        self.ended = 0
        path = spec.path
        prefix = f"{path}:"
        self.source_prefix = prefix.encode("utf-8")
        # The source is written as it is only if neither output quotes, escapes or prefixes it.
        if self.format == "jsonl":
            self.plain_source = json.dumps(prefix, ensure_ascii=False) == f'"{prefix}"'
        else:
            self.plain_source = not any(c in prefix for c in ',"\r\n') and not prefix.startswith(
                tuple(chr(b) for b in _FORMULA_STARTS))

    @functools.cached_property
    def csv_middle(self) -> bytes:
        """What a CSV row holds between its name and its taille: the text in force, the same in every row."""
        return ("," + _csv_text(ruleset_id(self.run, None)) + ",").encode("utf-8")

    @functools.cached_property
    def csv_endings(self) -> list:
        """A CSV row's ending: in contract, not signed, ended (out_of_contract 0, 1, 2)."""
        return [b",\n"] + [("," + _csv_text(OUT_OF_CONTRACT[k]) + "\n").encode("utf-8")
                            for k in ("not_signed", "ended")]

    def render(self, buffer, vouched, names, order, pieces, first_line):
        """The text of the rows evaluated, in the input's order: (bytes, offsets of each row)."""
        total = sum(int(p[0].size) for p in pieces)
        index = np.concatenate([p[0] for p in pieces])
        in_order = bool(np.all(index[1:] > index[:-1]))  # one text: its passes follow each other
        rank = None if in_order else np.argsort(index, kind="stable")
        texts = []
        for index, ruleset, outcome, sure, out, years in pieces:
            texts.append(self._rows(buffer, vouched, names, index, ruleset, outcome, sure, out, years, first_line))
        # Rows of each piece, then put in the input's order.
        lengths = np.concatenate([t[1] for t in texts]) if texts else np.zeros(0, dtype=np.int64)
        blobs = [t[0] for t in texts]
        flat = np.concatenate(blobs) if blobs else np.zeros(0, dtype=np.uint8)
        if rank is not None:  # several texts: each row's bytes moved to its place
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
            lengths = lengths[rank]
            sources = starts[rank]
            before = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
            within = np.arange(flat.shape[0], dtype=np.int64) - np.repeat(before, lengths)
            flat = flat[np.repeat(sources, lengths) + within]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        assert offsets[-1] == flat.shape[0] and lengths.shape[0] == total
        return flat.tobytes(), offsets

    def _rows(self, buffer, vouched, names, index, ruleset, outcome, sure, out, years, first_line):
        if self.native is not None and self.format == "csv":
            text = self._csv_rows_native(buffer, vouched, names, index, ruleset, outcome, sure, out, years,
                                         first_line)
            if text is not None:
                return text
        size = int(index.size)
        exponent = ruleset.quantum.as_tuple().exponent
        scale = -exponent
        line_ids = list(outcome.amounts)
        amounts = np.stack([outcome.amounts[k][sure] for k in line_ids], axis=1) if line_ids else \
            np.zeros((size, 0))
        applies = np.stack([outcome.applies[k][sure] for k in line_ids], axis=1) if line_ids else \
            np.zeros((size, 0), dtype=bool)
        negative_zero = np.signbit(amounts) & (amounts == 0)
        quanta = amounts.astype(np.int64)
        applies = applies.astype(bool)
        quanta = np.where(applies, quanta, 0)
        mission_of = {line.id: line.mission or "" for line in ruleset.lines}
        keys = list(self.missions) + [""]
        sums = np.zeros((size, len(keys)), dtype=np.int64)
        present = np.zeros((size, len(keys)), dtype=bool)
        for position, line_id in enumerate(line_ids):
            slot = keys.index(mission_of[line_id])
            sums[:, slot] += quanta[:, position]
            present[:, slot] |= applies[:, position]
        total = quanta.sum(axis=1)
        taille = outcome.size[sure]
        year_values, year_null = years
        year_values, year_null = year_values[sure], year_null[sure]
        self.ended += int((out == 2).sum())
        line_numbers = first_line + vouched[index]
        name_start = names[0][index]
        name_length = names[1][index]
        layout = _Layout(size)
        if self.format == "jsonl":
            layout.text(b'{"source": "')
        layout.text(self.source_prefix)
        layout.number(line_numbers, 0)
        if self.format == "jsonl":
            layout.text(b'", "name": "')
            layout.copy(buffer, name_start, name_length)
            layout.text(('", "ruleset": ' + json.dumps(ruleset_id(self.run, ruleset), ensure_ascii=False)
                         + ', "size": ').encode("utf-8"))
            layout.number(taille, 0, null=taille < 0, null_text=b"null")
            layout.text(b', "contract_year": ')
            layout.number(year_values, 0, null=year_null, null_text=b"null")
            layout.choice(out, [b', "out_of_contract": null', b', "out_of_contract": "not_signed"',
                                b', "out_of_contract": "ended"'])
            layout.text(b', "total": "')
            layout.number(total, scale)
            layout.text(b'", "missions": {')
            # Each mission in the order of its first line that applies, as the row path sums them.
            first = np.where(applies, np.arange(len(line_ids))[None, :], len(line_ids))
            slot_of_line = np.array([keys.index(mission_of[k]) for k in line_ids], dtype=np.int64)
            first_of = np.full((size, len(keys)), len(line_ids), dtype=np.int64)
            for position in range(len(line_ids)):
                slot = slot_of_line[position]
                first_of[:, slot] = np.minimum(first_of[:, slot], first[:, position])
            ranked = np.argsort(first_of, axis=1, kind="stable")
            shown = np.take_along_axis(present, ranked, axis=1)
            values = np.take_along_axis(sums, ranked, axis=1)
            key_texts = [(json.dumps(k, ensure_ascii=False) + ': "').encode("utf-8") for k in keys]
            for slot in range(len(keys)):
                on = shown[:, slot]
                layout.text(b", ", on & (slot > 0))
                layout.choice(ranked[:, slot], key_texts, on)
                layout.number(values[:, slot], scale, null=~on, null_text=b"")
                layout.text(b'"', on)
            layout.text(b'}, "lines": {')
            seen = np.cumsum(applies, axis=1)
            for position, line_id in enumerate(line_ids):
                on = applies[:, position]
                layout.text(b", ", on & (seen[:, position] > 1))
                layout.text((json.dumps(line_id, ensure_ascii=False) + ': "').encode("utf-8"), on)
                layout.number(quanta[:, position], scale, null=~on, null_text=b"",
                              negative_zero=negative_zero[:, position])
                layout.text(b'"', on)
            layout.text(b"}}\n")
        else:
            layout.text(b",")
            layout.copy(buffer, name_start, name_length)
            layout.text(self.csv_middle)
            layout.number(taille, 0, null=taille < 0, null_text=b"")
            layout.text(b",")
            layout.number(year_values, 0, null=year_null, null_text=b"")
            layout.text(b",")
            layout.number(total, scale)
            zero = b"0.00"  # the row path's Decimal("0.00") for a mission with no line
            for slot in range(len(keys)):
                layout.text(b",")
                layout.number(sums[:, slot], scale, null=~present[:, slot], null_text=zero)
            layout.choice(out, self.csv_endings)
        return layout.bytes()

    def _csv_rows_native(self, buffer, vouched, names, index, ruleset, outcome, sure, out, years, first_line):
        """:meth:`_rows` of CSV, the sums and the text made by the compiled writer
        (engine/_columnar.c), or None where it cannot vouch for an amount or a text's quantum is
        finer than 10**-18 (then numpy does)."""
        scale = -ruleset.quantum.as_tuple().exponent
        if not 0 <= scale <= 18:
            return None
        line_ids = list(outcome.amounts)
        keys = list(self.missions) + [""]
        mission_of = {line.id: line.mission or "" for line in ruleset.lines}
        take = None if sure.all() else np.flatnonzero(sure)
        found = sum_lines(self.native, int(index.size), [outcome.amounts[k] for k in line_ids],
                          [outcome.applies[k] for k in line_ids], [keys.index(mission_of[k]) for k in line_ids],
                          len(keys), take)
        if found is None:
            return None
        sums, present, total = found
        taille = outcome.size if take is None else outcome.size[take]
        year_values, year_null = years if take is None else (years[0][take], years[1][take])
        text = write_csv(self.native, buffer, self.source_prefix, first_line + vouched[index], names[0][index],
                         names[1][index], self.csv_middle, taille, year_values, year_null, total, sums, present,
                         b"0.00", out, self.csv_endings, scale)
        if text is not None:
            self.ended += int((out == 2).sum())
        return text


def ruleset_id(run: ColumnarRun, ruleset) -> str:
    """The text the row names (the text in force on the day, as FastTimeline.run gives it)."""
    return run.timeline.resolve(run.day).id


def _csv_text(text: str) -> str:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([text])
    return buffer.getvalue()


# The mask of a word's last k bytes (its k least significant digits in _decimal_digits' order).
_KEEP_LAST = np.array([0] + [((1 << 64) - 1) ^ ((1 << 8 * (8 - k)) - 1) for k in range(1, 9)], dtype=np.uint64)


def _decimal_digits(magnitude, count: int, words: bool = False):
    """The ``count`` (8 or 16) decimal digits of each whole number below 10**count, in ASCII, the
    most significant first: a (rows, count) uint8 matrix (with ``words``, count 8: the words, whose
    bytes in memory are that matrix's rows). Eight digits are split in halves, then
    quarters, then single digits, in lanes of one word, each division by 10**k a multiplication
    and a shift exact in its range (no division by rows)."""
    if count == 16:
        high = magnitude // _U64(10 ** 8)
        return np.concatenate([_decimal_digits(high, 8), _decimal_digits(magnitude - high * _U64(10 ** 8), 8)],
                              axis=1)
    thousands = magnitude // _U64(10 ** 4)
    word = thousands | ((magnitude - thousands * _U64(10 ** 4)) << _U64(32))  # two lanes below 10**4
    hundreds = ((word * _U64(5243)) >> _U64(19)) & _U64(0x0000007F0000007F)  # x // 100 for x < 10**4
    word = hundreds | ((word - hundreds * _U64(100)) << _U64(16))  # four lanes below 100
    tens = ((word * _U64(103)) >> _U64(10)) & _U64(0x000F000F000F000F)  # x // 10 for x < 100
    word = (tens | ((word - tens * _U64(10)) << _U64(8))) | _U64(0x3030303030303030)  # eight digits, one a byte
    word = word.astype("<u8")
    return word if words else word.view(np.uint8).reshape(-1, 8)


class _Layout:
    """Rows of bytes laid out in fixed slots padded with NUL, the padding dropped at the end.

    Each slot also keeps how many of its bytes each row uses, so the rows' lengths are sums,
    not a count of the padding (a pass over every byte of the output).
    """

    def __init__(self, size: int):
        self.size = size
        self.slots = []  # uint8 matrices (size, width)
        self.used = 0  # the bytes each row uses of the slots so far: a number, or one per row

    def text(self, constant: bytes, on=None):
        slot = np.broadcast_to(np.frombuffer(constant, dtype=np.uint8), (self.size, len(constant)))
        if on is not None:
            slot = np.where(on[:, None], slot, 0).astype(np.uint8)
        self.slots.append(slot)
        self.used = self.used + (len(constant) if on is None else len(constant) * on)

    def choice(self, which, texts, on=None):
        width = max(len(t) for t in texts)
        table = np.zeros((len(texts), width), dtype=np.uint8)
        for index, text in enumerate(texts):
            table[index, :len(text)] = np.frombuffer(text, dtype=np.uint8)
        slot = table[which]
        used = np.array([len(t) for t in texts], dtype=np.int64)[which]
        if on is not None:
            slot = np.where(on[:, None], slot, 0).astype(np.uint8)
            used = used * on
        self.slots.append(slot)
        self.used = self.used + used

    def copy(self, buffer, starts, lengths):
        width = int(lengths.max()) if lengths.size else 0
        index = starts[:, None] + np.arange(width)
        inside = np.arange(width)[None, :] < lengths[:, None]
        self.slots.append(np.where(inside, buffer[np.where(inside, index, 0)], 0).astype(np.uint8))
        self.used = self.used + lengths

    def number(self, values, scale: int, null=None, null_text: bytes = b"", negative_zero=None):
        """Whole numbers of 10**-scale written as Decimal writes them (``-12.30``, ``0.00``, ``5``)."""
        values = values.astype(np.int64)
        negative = values < 0
        if negative_zero is not None:
            negative = negative | negative_zero
        magnitude = np.abs(values)
        biggest = int(magnitude.max()) if magnitude.size else 0
        used = None  # the digits each row shows, when known on the way
        digits = max(len(str(biggest)), scale + 1)
        width = 1 + digits + (1 if scale else 0)
        slot = np.zeros((self.size, width), dtype=np.uint8)
        slot[:, 0] = np.where(negative, 45, 0)
        if digits <= 16:
            # Every digit at once (_decimal_digits), then those left of the first significant one
            # (and of the units, or of the cents) blanked.
            whole = digits - scale
            if digits <= 8:  # one word a row: the blanking is a mask of its first bytes
                word = _decimal_digits(magnitude.astype(np.uint64), 8, words=True)
                shown = np.full(self.size, scale + 1, dtype=np.int64)
                for place in range(scale + 1, digits):
                    shown += magnitude >= _POW10[place]
                ascii_digits = (word & _KEEP_LAST[shown]).view(np.uint8).reshape(-1, 8)
                used = shown
                slot[:, 1:1 + whole] = ascii_digits[:, 8 - digits:8 - scale]
            else:
                ascii_digits = _decimal_digits(magnitude.astype(np.uint64), 16)
                places = np.arange(digits - 1, scale - 1, -1)  # of the whole part's digits, left to right
                needed = (magnitude[:, None] >= _POW10[places][None, :]) | (places <= scale)[None, :]
                slot[:, 1:1 + whole] = np.where(needed, ascii_digits[:, 16 - digits:16 - scale], 0)
            columns = ascii_digits.shape[1]
            if scale:
                slot[:, 1 + whole] = 46
                slot[:, 2 + whole:] = ascii_digits[:, columns - scale:]
        else:
            rest = magnitude.copy()
            column = width - 1
            for place in range(digits):
                if scale and place == scale:
                    slot[:, column] = 46
                    column -= 1
                digit = (rest % 10).astype(np.uint8) + 48
                needed = (rest > 0) | (place <= scale)
                slot[:, column] = np.where(needed, digit, 0)
                rest //= 10
                column -= 1
        # Its bytes in each row: the sign, the digits (at least one left of the point), the point.
        if used is None:
            used = np.maximum(np.searchsorted(_POW10, magnitude, side="right"), scale + 1)
        used = used + negative + (1 if scale else 0)
        if null is not None and null.any():
            used = np.where(null, len(null_text), used)
            filler = np.zeros(width if len(null_text) <= width else len(null_text), dtype=np.uint8)
            if filler.shape[0] > width:
                slot = np.concatenate([slot, np.zeros((self.size, filler.shape[0] - width), dtype=np.uint8)], axis=1)
            filler[:len(null_text)] = np.frombuffer(null_text, dtype=np.uint8)
            np.copyto(slot, filler[None, :], where=null[:, None])  # in place: no second matrix
        self.slots.append(slot)
        self.used = self.used + used

    def bytes(self):
        """(the rows' bytes, the length of each row)."""
        if not self.size:
            return np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int64)
        matrix = np.empty((self.size, sum(slot.shape[1] for slot in self.slots)), dtype=np.uint8)
        at = 0
        for slot in self.slots:  # a constant's slot is a broadcast view: copied here only
            matrix[:, at:at + slot.shape[1]] = slot
            at += slot.shape[1]
        kept = matrix[matrix != 0]
        lengths = np.broadcast_to(np.asarray(self.used, dtype=np.int64), (self.size,))
        if kept.shape[0] != int(lengths.sum()):  # a byte counted wrong: a defect of ours, never a wrong row
            raise AssertionError("columnar output: the rows' lengths do not add up")
        return kept, lengths

"""The compiled reading and writing of the columnar batch's chunks (engine/_columnar.c), when built.

:func:`native` gives the library (through ctypes) when the optional extension
``aci_rules.engine._columnar`` was compiled at install (setup.py: a C compiler was at hand),
else None: then :mod:`.columnar_reader` reads and writes with numpy alone, the same bytes more
slowly. Which one ran is said by :attr:`~.columnar_reader.ColumnarRun.reader` (the benchmark
prints it). Both follow the same rules cell by cell: tests/test_columnar_native.py runs both on
generated cells and files and compares their bytes.

The functions here wrap the C ones over numpy arrays: :func:`read_chunk`, :func:`write_csv`.
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

__all__ = ["native", "rates", "read_chunk", "sum_lines", "write_csv", "Plan", "DATE", "NUMBER", "INTEGER", "NAME",
           "CRISES", "CONTRACTS", "READ"]

# Kinds of columns, as the C source numbers them.
DATE, NUMBER, INTEGER, NAME, CRISES, CONTRACTS = range(6)
READ = 0  # read here; else why the whole chunk goes to the row path (a lone CR, an odd quote count)

_LIBRARY = False  # not looked for yet; then the ctypes library, or None

_P = ctypes.c_void_p
_I = ctypes.c_int64


def native():
    """The compiled library, or None when the extension was not built (or ACI_RULES_NO_NATIVE
    is set, which the benchmark uses to time numpy alone)."""
    global _LIBRARY
    if _LIBRARY is False:
        _LIBRARY = None
        if not os.environ.get("ACI_RULES_NO_NATIVE"):
            try:
                from . import _columnar
            except ImportError:
                return None
            library = ctypes.CDLL(_columnar.__file__)
            library.aci_count_lines.argtypes = [_P, _I]
            library.aci_count_lines.restype = _I
            library.aci_read_chunk.argtypes = [_P, _I, _I, _P, _P, _P, _P, _P, _P, _I, _I, _I, _P, _I, _I, _P, _I,
                                               _I, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P]
            library.aci_read_chunk.restype = _I
            library.aci_write_csv_bound.argtypes = [_I, _P, _I, _I, _I, _I, _I]
            library.aci_write_csv_bound.restype = _I
            library.aci_write_csv.argtypes = [_P, _P, _I, _I, _P, _P, _P, _P, _I, _P, _P, _P, _P, _P, _P, _I, _P, _I,
                                              _P, _P, _P, _I, _P, _P]
            library.aci_write_csv.restype = _I
            library.aci_sum_lines.argtypes = [_I, _I, _P, _P, _P, _I, _P, _P, _P, _P]
            library.aci_sum_lines.restype = _I
            library.aci_rates.argtypes = [_I, _P, _P, _P, _I, _P, _P, _P, _I, _P, _P, _P]
            library.aci_rates.restype = None
            _LIBRARY = library
    return _LIBRARY


def _at(array) -> int:
    """The address of a C-contiguous array's data (the caller keeps the array alive)."""
    assert array.flags.c_contiguous
    return array.ctypes.data


class Plan:
    """What :func:`read_chunk` needs of a header's columns besides the chunk, made once."""

    def __init__(self, kinds, required, lows, highs, shortest: int, most_crises: int, most_digits: int, table,
                 min_key: int, formula_starts: bytes):
        self.width = len(kinds)
        self.kinds = np.ascontiguousarray(kinds, dtype=np.int64)
        self.required = np.ascontiguousarray(required, dtype=np.uint8)
        self.has_low = np.array([low is not None for low in lows], dtype=np.uint8)
        self.lows = np.array([low or 0 for low in lows], dtype=np.int64)
        self.has_high = np.array([high is not None for high in highs], dtype=np.uint8)
        self.highs = np.array([high or 0 for high in highs], dtype=np.int64)
        self.shortest, self.most_crises, self.most_digits = shortest, most_crises, most_digits
        self.table = np.ascontiguousarray(table, dtype=np.int32)
        self.min_key = min_key
        self.formula_starts = np.frombuffer(formula_starts, dtype=np.uint8).copy()
        self._out = None  # the arrays read_chunk fills, kept from chunk to chunk (grown when short)

    def buffers(self, lines: int):
        """Arrays for ``lines`` rows at least (the same ones from chunk to chunk)."""
        out = self._out
        if out is None or out[0].shape[0] < lines:
            more = max(lines, 1024) * 5 // 4
            width, wide = self.width, max(self.most_crises, 1)
            out = self._out = (
                np.empty(more, dtype=np.int64), np.empty(more, dtype=np.int64), np.empty(more, dtype=np.int64),
                np.empty((more, width), dtype=np.int64), np.empty((more, width), dtype=np.int64),
                np.empty((more, width), dtype=np.uint8), np.empty(more, dtype=np.int64),
                np.empty(more, dtype=np.int64), np.empty((more, wide), dtype=np.int64),
                np.empty((more, wide), dtype=np.uint8))
        return out


def read_chunk(library, plan: Plan, buffer):
    """Read a chunk: None when the whole chunk goes to the row path, else (line starts, line
    ends, lines vouched for, values, scales, goods (columns x rows: views of row-major arrays),
    name starts, name lengths, crises, crises present (rows x widest)), each cut to the chunk's
    lines or rows read. The arrays are the plan's, overwritten by the next chunk. ``buffer``: the
    chunk's bytes, a uint8 array (np.frombuffer of them: nothing copied)."""
    size = int(buffer.shape[0])
    address = _at(buffer)
    lines = library.aci_count_lines(address, size)
    out = plan.buffers(lines)
    starts, ends, vouched, values, scales, goods, name_starts, name_lengths, crises, present = out
    capacity = starts.shape[0]
    result = np.zeros(3, dtype=np.int64)
    why = library.aci_read_chunk(
        address, size, plan.width, _at(plan.kinds), _at(plan.required), _at(plan.lows), _at(plan.has_low),
        _at(plan.highs), _at(plan.has_high), plan.shortest, plan.most_crises, plan.most_digits, _at(plan.table),
        plan.table.shape[0], plan.min_key, _at(plan.formula_starts), plan.formula_starts.shape[0], capacity,
        _at(starts), _at(ends), _at(vouched), _at(values), _at(scales), _at(goods), _at(name_starts),
        _at(name_lengths), _at(crises), _at(present), _at(result))
    if why != READ:
        if why < 0:  # more lines than counted: cannot happen (both count line breaks)
            raise RuntimeError("the compiled reader found more lines than it counted")
        return None
    lines, count, widest = (int(x) for x in result)
    return (starts[:lines], ends[:lines], vouched[:count], values[:count].T, scales[:count].T,
            goods[:count].view(bool).T, name_starts[:count], name_lengths[:count], crises[:count, :widest],
            present[:count, :widest].view(bool))


def rates(library, year, take, table, values, scales, goods):
    """(mantissa, scale, present) of each row's rate for its contract year (see aci_rates): ``year`` each
    row's contract year's key, ``take`` the matrices' rows (None: the first ``len(year)``),
    ``table`` key -> column (-1: none), the matrices as read_chunk filled them (rows x columns)."""
    rows = int(year.shape[0])
    year = np.ascontiguousarray(year, dtype=np.int64)
    table = np.ascontiguousarray(table, dtype=np.int64)
    if take is not None:
        take = np.ascontiguousarray(take, dtype=np.int64)
    mantissa = np.empty(rows, dtype=np.int64)
    scale = np.empty(rows, dtype=np.int64)
    present = np.empty(rows, dtype=np.uint8)
    library.aci_rates(rows, None if take is None else _at(take), _at(year), _at(table), table.shape[0], _at(values),
                      _at(scales), _at(goods.view(np.uint8)), values.shape[1], _at(mantissa), _at(scale), _at(present))
    return mantissa, scale, present.view(bool)


def sum_lines(library, rows: int, amounts: list, applies: list, slot_of_line, keys: int, take):
    """Each row's sums by key, whether a key has a line that applies, and its total, in quanta
    (see aci_sum_lines): (sums, present, total), or None when an amount is not a whole number
    within 2**53 (the caller computes with numpy). ``amounts``, ``applies``: each line's column;
    ``take``: the ``rows`` wanted (an int64 array), or None for all (the columns' first ``rows``)."""
    lines = len(amounts)
    amounts = [np.ascontiguousarray(a, dtype=np.float64) for a in amounts]
    applies = [np.ascontiguousarray(a, dtype=bool).view(np.uint8) for a in applies]
    if take is not None:
        take = np.ascontiguousarray(take, dtype=np.int64)
    addresses = np.array([_at(a) for a in amounts] + [_at(a) for a in applies], dtype=np.uint64)
    slot_of_line = np.ascontiguousarray(slot_of_line, dtype=np.int64)
    sums = np.empty((rows, keys), dtype=np.int64)
    present = np.empty((rows, keys), dtype=np.uint8)
    total = np.empty(rows, dtype=np.int64)
    if library.aci_sum_lines(rows, lines, _at(addresses), _at(addresses) + 8 * lines, _at(slot_of_line), keys,
                             None if take is None else _at(take), _at(sums), _at(present), _at(total)):
        return None
    return sums, present.view(bool), total


def write_csv(library, buffer, prefix: bytes, line_numbers, name_starts, name_lengths, middle: bytes, taille,
              year_values, year_null, total, sums, present, zero: bytes, out_codes, endings: list, scale: int):
    """The CSV rows of a piece of output (see aci_write_csv; ``buffer``: the chunk's bytes, a uint8
    array): (the bytes as a uint8 array, each row's length), or None for a quantum finer than
    10**-18 (the caller writes with numpy)."""
    rows = int(line_numbers.shape[0])
    as64 = [np.ascontiguousarray(a, dtype=np.int64) for a in (line_numbers, name_starts, name_lengths, taille,
                                                             year_values, total, sums, out_codes)]
    line_numbers, name_starts, name_lengths, taille, year_values, total, sums, out_codes = as64
    year_null = np.ascontiguousarray(year_null, dtype=np.uint8)
    present = np.ascontiguousarray(present, dtype=np.uint8)
    keys = int(sums.shape[1]) if sums.ndim == 2 else 0
    joined = b"".join(endings)
    ending_starts = np.cumsum([0] + [len(e) for e in endings]).astype(np.int64)
    bound = library.aci_write_csv_bound(rows, _at(name_lengths), len(prefix), len(middle), keys, len(zero),
                                        max(len(e) for e in endings))
    out = np.empty(max(bound, 1), dtype=np.uint8)
    lengths = np.empty(rows, dtype=np.int64)
    texts = [np.frombuffer(t, dtype=np.uint8) for t in (prefix, middle, zero, joined)]
    address = [_at(t) for t in texts]
    written = library.aci_write_csv(
        _at(buffer), address[0], len(prefix), rows, _at(line_numbers), _at(name_starts), _at(name_lengths), address[1],
        len(middle), _at(taille), _at(year_values), _at(year_null), _at(total), _at(sums), _at(present), keys,
        address[2], len(zero), _at(out_codes), address[3], _at(ending_starts), scale, _at(out), _at(lengths))
    if written < 0:
        return None
    return out[:written], lengths

"""When `batch` reads a CSV in columns (the vectorised backend): the one dispatch, cheap to import.

The work is in :mod:`.columnar_reader`, imported only when it serves: it needs numpy (the
``vector`` extra), and below :data:`COLUMNAR_FROM_BYTES` the row path is the faster one.
"""

from __future__ import annotations

import importlib.util
import os
import sys

__all__ = ["columnar_run", "columns_missing", "COLUMNAR_FROM_BYTES"]

# From this size of input the columnar path pays. Importing numpy and building the columns of a
# text cost about 0.12 s of CPU, what the row path spends on some 800 rows (0.15 ms a row), about
# 160 KB of the national sample's shape. Measured, whole process, one core: the 700-row sample
# (140 KB) 0.56 s in columns against 0.54 s by rows; 7 000 rows (1.4 MB) 0.65 s against 1.47 s.
COLUMNAR_FROM_BYTES = 256 * 1024


def columnar_run(fast, path: str, known_missions, day, *, missions, output_format: str, render,
                 csv_dialect: str = "auto", progress=None, jobs: int = 1, timeline_spec: tuple = (None, None, False),
                 assume=None):
    """A :class:`~.columnar_reader.ColumnarRun` of ``path`` when the columnar path pays and can
    serve, else None (the caller runs the row path, :class:`~.batch.BatchRun`).

    It serves a CSV file (``csv_dialect`` comma or auto) of at least :data:`COLUMNAR_FROM_BYTES`,
    written out as ``csv`` or ``jsonl``, when numpy is installed. ``render`` is the row path's
    renderer of rows (for the rows handed to it), ``missions`` the mission columns of the output;
    ``jobs`` > 1 reads the chunks in that many processes, each building its timeline from
    ``timeline_spec`` (as :class:`~.batch.BatchRun` does). Never with ``assume`` (rates of achievement
    the analyst states, :class:`~.assumptions.Assumed`): the columns read the rates of the file's
    cells, so such a run is the row path's, which applies them to each profile.
    """
    if not _would_pay(path, output_format, csv_dialect, assume) or not _numpy():
        return None
    if jobs > 1 and "numpy" not in sys.modules:
        # numpy's BLAS starts a pool of threads when imported; the columns never multiply
        # matrices, and with this process's one thread the workers of --jobs are forked from it
        # (batch._may_fork), not spawned. A value the user set is kept (then they are spawned).
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")
    from .columnar_reader import ColumnarRun

    return ColumnarRun(fast, path, known_missions, day, missions=tuple(missions), output_format=output_format,
                       render=render, csv_dialect=csv_dialect, progress=progress, jobs=jobs,
                       timeline_spec=timeline_spec)


def columns_missing(path: str, output_format: str, csv_dialect: str = "auto", assume=None) -> bool:
    """True when ``path`` would be read in columns but numpy (the ``vector`` extra) is not
    installed: the row path runs, about ten times slower, and the command says how to get them."""
    return _would_pay(path, output_format, csv_dialect, assume) and not _numpy()


def _would_pay(path: str, output_format: str, csv_dialect: str, assume=None) -> bool:
    if assume is not None:  # rates stated on the command line: the row path applies them (columnar_run)
        return False
    if output_format not in ("csv", "jsonl") or csv_dialect == "excel-fr" or not path.endswith(".csv"):
        return False
    try:
        return os.path.isfile(path) and os.path.getsize(path) >= COLUMNAR_FROM_BYTES
    except OSError:
        return False  # the row path says why it cannot read the file


def _numpy() -> bool:
    return importlib.util.find_spec("numpy") is not None

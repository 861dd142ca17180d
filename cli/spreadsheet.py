"""Tables for spreadsheets: an xlsx workbook (one sheet per table) and a CSV for French Excel.

A command describes what it shows as :class:`Table` values (a title, typed columns, rows);
this module writes them. In both forms a text cell that a spreadsheet would take for a
formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage return first) stays text: a CPTS
named ``=HYPERLINK(...)`` in a profiles file must not become a live formula in the analyst's
workbook (CSV injection, OWASP).

openpyxl (the ``xlsx`` extra) is imported only when a workbook is written.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import re
from collections.abc import Sequence
from decimal import Decimal

import click

from .i18n import _
from .output import emit, spreadsheet_safe, write_bytes_atomically

__all__ = ["Column", "Table", "write_xlsx", "render_csv_fr", "write_tables",
           "check_spreadsheet_output", "XLSX_EXTRA"]

XLSX_EXTRA = "pip install 'aci-rules[xlsx]'"

# Excel shows these with the reader's own separators: 87 500,00 € in a French Excel.
_FORMATS = {
    "euros": '#,##0.00 "€"',
    "signed_euros": '+#,##0.00 "€";-#,##0.00 "€";0.00 "€"',
    "integer": "0",
    "date": "DD/MM/YYYY",
    "percent": "0.0 %",
}
_KINDS = {"text", *_FORMATS}
# Characters a sheet may not hold in its name, and its length limit (Excel's own rules).
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_NAME_MAX = 31


@dataclasses.dataclass(frozen=True)
class Column:
    """A column: its title and the kind of its values (text, integer, euros, signed_euros,
    date, percent: a fraction, 0.25 for 25 %)."""

    title: str
    kind: str = "text"
    width: int | None = None

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclasses.dataclass(frozen=True)
class Table:
    """One table: a sheet of a workbook, or the whole of a CSV. Rows hold str, int,
    Decimal, datetime.date or None, one per column."""

    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence]


def _sheet_names(tables) -> list[str]:
    names: list[str] = []
    for table in tables:
        base = _SHEET_NAME_FORBIDDEN.sub("-", table.title)[:_SHEET_NAME_MAX] or "Feuille"
        name, n = base, 2
        while name.lower() in (existing.lower() for existing in names):
            suffix = f" ({n})"
            name, n = base[:_SHEET_NAME_MAX - len(suffix)] + suffix, n + 1
        names.append(name)
    return names


def _width(column: Column, rows, index: int) -> float:
    if column.width:
        return column.width
    longest = max([len(column.title)] + [len(_shown(row[index])) for row in rows[:200]])
    return min(max(longest + 2, 8), 60)


def _shown(value) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f} €"
    if isinstance(value, datetime.date):
        return "00/00/0000"
    return "" if value is None else str(value)


def workbook_bytes(tables: Sequence[Table]) -> bytes:
    """The xlsx file of ``tables``: one sheet each, a bold header row frozen and filtered,
    numbers as numbers (euros in a euro format), dates as dates, text as text."""
    try:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter
    except ImportError:
        raise click.ClickException(_("--format xlsx needs openpyxl: {install}").format(install=XLSX_EXTRA)) from None
    book = Workbook(write_only=True)
    for table, name in zip(tables, _sheet_names(tables)):
        sheet = book.create_sheet(name)
        rows = list(table.rows)
        for index, column in enumerate(table.columns):
            sheet.column_dimensions[get_column_letter(index + 1)].width = _width(column, rows, index)
        sheet.freeze_panes = "A2"
        last = get_column_letter(len(table.columns))
        sheet.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=column.title)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for row in rows:
            sheet.append([_cell(WriteOnlyCell(sheet), value, column) for value, column in zip(row, table.columns)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(cell, value, column: Column):
    if value is None:
        return cell
    if isinstance(value, str):
        cell.value = value
        # openpyxl would store "=..." as a formula: store it as a string, shown as typed.
        cell.data_type = "s"
        if spreadsheet_safe(value) != value:  # it starts like a formula: shown as typed, never run
            cell.quotePrefix = True
        return cell
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, datetime.date)):
        raise TypeError(f"a cell holds str, int, Decimal or date, not {type(value).__name__}")
    cell.value = value  # a Decimal is written as its own digits, never through a float
    if column.kind in _FORMATS:
        cell.number_format = _FORMATS[column.kind]
    return cell


def write_xlsx(path: str, tables: Sequence[Table]) -> None:
    """Write ``tables`` as an xlsx workbook to ``path``, all at once (see :mod:`.output`)."""
    write_bytes_atomically(path, workbook_bytes(tables))


def _csv_fr_value(value, column: Column) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return spreadsheet_safe(value)
    if isinstance(value, datetime.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, Decimal):
        text = format(value.scaleb(2) if column.kind == "percent" else value, "f").replace(".", ",")
        return text + "%" if column.kind == "percent" else text
    return str(value)


def render_csv_fr(table: Table) -> str:
    """``table`` as French Excel opens a CSV with a double click: ';' between cells, decimal
    commas, dates DD/MM/YYYY, CRLF rows, and a BOM so that it reads the file as UTF-8."""
    import csv

    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(column.title) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_fr_value(value, column) for value, column in zip(row, table.columns)])
    return buffer.getvalue()


def check_spreadsheet_output(output_format: str, output: str | None) -> None:
    """A usage error, before any work, for a workbook with nowhere to go (not the terminal)."""
    if output_format == "xlsx" and not output:
        raise click.UsageError(_("--format xlsx writes a workbook: give it a file with --output"))


def write_tables(tables: Sequence[Table], output_format: str, output: str | None) -> None:
    """``tables`` as an xlsx workbook (one sheet each) at ``output``, or the first as a CSV
    for French Excel (``csv-fr``) at ``output`` or on stdout."""
    if output_format == "xlsx":
        write_xlsx(output, tables)
        return
    text = render_csv_fr(tables[0])
    emit(text, output)

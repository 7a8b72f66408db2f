"""A report as cells: one function for the CSV of the page and of the `report` command, and
the table both show (docs/reports.md, "CSV")."""

import csv
import io

from billing.money import format_pkr
from reports.figures import MEASURES, MONEY_MEASURES, Report, Row

PERIODS_AND_KIND = ("day", "week", "month", "kind")


def cell(row: Row, name: str) -> str:
    """One figure as text: money with two places, percentages with two places or empty."""
    value = getattr(row, name)
    if value is None:
        return ""
    if name in MONEY_MEASURES:
        return format_pkr(value)
    return str(value)


def header(report: Report) -> list[str]:
    """`day, label, revenue, ...` (periods and kinds) or `service id, service, revenue, ...`."""
    by = report.by
    keys = [by, "label"] if by in PERIODS_AND_KIND else [f"{by} id", by]
    return keys + [heading for _, heading in MEASURES]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """A name as a spreadsheet will not run it: a leading = + - @ gets a quote (a service name
    comes from an upstream's catalogue; a CSV opened in a spreadsheet would evaluate it)."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def row_cells(row: Row) -> list[str]:
    return [row.key, text_cell(row.label)] + [cell(row, name) for name, _ in MEASURES]


def csv_rows(report: Report) -> list[list[str]]:
    """The header, one line per row, and the totals line (key `total`)."""
    totals = ["total", ""] + row_cells(report.totals)[2:]
    return [header(report), *(row_cells(row) for row in report.rows), totals]


def csv_text(report: Report) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(csv_rows(report))
    return out.getvalue()


def table_text(report: Report) -> str:
    """The same cells as the CSV, aligned for a terminal."""
    lines = csv_rows(report)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for n, line in enumerate(lines):
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
        if n == 0 or n == len(lines) - 2:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out) + "\n"

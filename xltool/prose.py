"""Figures quoted in a report's sentences, compared with its tables.

One mapping (phrase → cells) serves both the import of published reports (xltool.reading: “收到政府信息公开申请
12件” in a report whose table says 15) and the clerk's narrative of a generated report (xltool.annual). The mapping is
declared per form version in the form file (`report.figures`, see xltool.forms), since cell keys differ by version;
a form without it uses the defaults of xltool.forms (applications received, 行政复议, 行政诉讼).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from xltool.evaluation import format_number
from xltool.forms import Figure
from xltool.model import Invalid, Return

_SENTENCE_MARK = re.compile(r"[。，；,;]")
_LAST_YEAR = re.compile(r"上年|去年|上一年|上年度|同期")


@dataclass(frozen=True)
class Hit:
    """A figure the text quotes that its table contradicts."""

    figure: Figure
    quoted: str  # the words of the text, e.g. 收到政府信息公开申请12件
    prose: Decimal
    table: Decimal
    line: int  # 0-based line of the text

    @property
    def what(self) -> str:
        return self.figure.what

    @property
    def unit(self) -> str:
        return self.figure.unit

    @property
    def prose_text(self) -> str:
        return format_number(self.prose)

    @property
    def table_text(self) -> str:
        return format_number(self.table)


def table_figure(ret: Return, keys: tuple[str, ...] | list[str]) -> Decimal | None:
    """The sum of cells as the tables show them; None when any is blank or unusable (nothing to compare or quote).

    A printed total (imported reports keep them) is taken as printed; a total of a workbook is computed when every
    input it adds up is filled."""
    total = Decimal(0)
    for key in keys:
        if key not in ret.form.cell:
            return None
        v = ret.values.get(key)
        if isinstance(v, Invalid):
            return None
        if v is None:
            cell = ret.form.cell[key]
            if cell.is_input or any(k not in ret.values for k in ret.form.input_closure([key])):
                return None
            v = ret.safe_value(key)
            if v is None:
                return None
        total += v
    return total


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "").replace("，", ""))
    except InvalidOperation:
        return None


def quoted_figures(ret: Return, lines: list[str], sentences_only: bool = True) -> list[Hit]:
    """Every figure of `ret.form.report.figures` quoted in `lines` that differs from the table.

    With `sentences_only`, lines that are not sentences (table rows, headings: short or without 。，；) are skipped."""
    out: list[Hit] = []
    figures = [f for f in ret.form.report.figures if all(k in ret.form.cell for k in f.keys)]
    for i, line in enumerate(lines[:2000]):
        text = re.sub(r"\s+", "", line)
        if sentences_only and (len(text) < 12 or not _SENTENCE_MARK.search(text)):
            continue
        for figure in figures:
            table = None
            for m in figure.regex.finditer(text):
                if _LAST_YEAR.search(text[max(0, m.start() - 6) : m.start()]):
                    continue  # 上年收到申请5件: last year's figure, not this table's
                prose = _number(m.group(1))
                if prose is None:
                    continue
                if table is None:
                    table = table_figure(ret, figure.keys)
                    if table is None:
                        break  # an unknown cell: nothing to compare
                if prose != table:
                    out.append(Hit(figure, m.group(0), prose, table, i))
    return out

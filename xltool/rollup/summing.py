"""The roll-up's arithmetic: exact sums of every input cell over the merged returns."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xltool.forms import Form
    from xltool.rollup.verdicts import Member

_WHOLE = frozenset((int, type(None)))  # a column of only these is summed in C
_SUM_BATCH = 256  # rows added column by column at a time


def sum_members(form: Form, members: list[Member]) -> tuple[dict[str, Decimal], set[str]]:
    """Exact sums of every input cell over the members (blank counts as 0; unusable values are left out): whole
    numbers added as Python ints, amounts as Decimal, one spooled record at a time; and the tables every member
    marked 本年度无此类事项. Rows are added a batch at a time, column by column: a column of whole numbers and blanks
    is summed in C, any other value by value in member order (Decimal sums are the same as adding row by row)."""
    n = len(form.inputs)
    whole = [0] * n
    exact = [Decimal(0)] * n
    no_items = {t.id for t in form.tables} if members else set()
    batch: list[tuple] = []

    def add(rows: list[tuple]) -> None:
        for i, column in enumerate(zip(*rows, strict=True)):
            if _WHOLE.issuperset(map(type, column)):
                whole[i] += sum(filter(None, column))
                continue
            for v in column:
                if type(v) is int:
                    whole[i] += v
                elif isinstance(v, Decimal):
                    exact[i] += v

    for m in members:
        record = m.info.heavy() if m.info._heavy is None else {"row": m.info.row, "no_items": m.info.no_items}
        no_items &= set(record.get("no_items", ()))
        row = record.get("row", ())
        if len(row) == n:
            batch.append(row)
            if len(batch) == _SUM_BATCH:
                add(batch)
                batch.clear()
            continue
        if batch:  # the rows before it first: amounts are added in member order
            add(batch)
            batch.clear()
        for i, v in enumerate(row):  # a row of another length: value by value
            if type(v) is int:
                whole[i] += v
            elif isinstance(v, Decimal):
                exact[i] += v
    if batch:
        add(batch)
    totals = [exact[i] + whole[i] for i in range(n)]
    return {cell.key: total for cell, total in zip(form.inputs, totals, strict=True)}, no_items

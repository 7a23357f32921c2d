"""The small conversions every sheet of the template writer uses: XlsxWriter's error codes as exceptions, quoted
sheet names, display widths of Chinese text, and numbers as a cell holds them."""

from __future__ import annotations

from decimal import Decimal


class TemplateError(RuntimeError):
    """XlsxWriter refused part of the template (it returns error codes instead of raising)."""


def ok(code: int | None, what: str) -> None:
    if code not in (0, None):
        raise TemplateError(f"写入{what}失败（XlsxWriter 返回 {code}）")


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def text_width(text: str) -> int:
    """Display width in Excel character units: a CJK character is about two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def plain(v: Decimal) -> int | float:
    return int(v) if v == v.to_integral_value() else float(v)


def cached_value(v: Decimal | None) -> int | float | str:
    return "" if v is None else plain(v)

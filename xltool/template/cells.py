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


_WIDE_FROM = 0x2E80  # code points above this (CJK, full-width forms) take two character units


def text_width(text: str) -> int:
    """Display width in Excel character units: a CJK (or full-width) character is about two."""
    if text.isascii():
        return len(text)
    return len(text) + sum(map(_WIDE_FROM.__lt__, map(ord, text)))


def plain(v: Decimal) -> int | float:
    return int(v) if v == v.to_integral_value() else float(v)


def cached_value(v: Decimal | None) -> int | float | str:
    return "" if v is None else plain(v)

"""Turn what a clerk typed into a number, leniently where the intent is clear and strictly where it is not.

Returns the value (Decimal, Invalid, or None for blank) and, when the text had to be tidied, a note saying so.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from xltool.codes import Code
from xltool.forms import CellType


@dataclass(frozen=True)
class Invalid:
    """A cell whose content is not a usable number (text such as “无”, a negative count, a formula, …)."""

    raw: str
    reason: str
    code: Code = Code.INVALID_VALUE  # FORMULA-IN-INPUT for a formula typed where a number belongs


Value = Decimal | Invalid  # a key absent from Return.values is blank, which is not the same as 0


class Undetermined(Exception):
    """Raised while evaluating when an input is unusable, so the rule's outcome is 无法判断."""

    def __init__(self, key: str, value: Invalid):
        super().__init__(key)
        self.key, self.value = key, value


MAX_MAGNITUDE = Decimal(10) ** 9  # more than a billion of anything in one cell is a typing accident
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
_SPACES = " \t\r\n\u3000\u00a0\u2002\u2003\u2009\u200b\ufeff"
NOT_A_NUMBER_WORDS = {"无", "没有", "-", "—", "－", "--", "/", "／", "空", "null", "none", "n/a", "na", "×", "x"}


_SMALL = [Decimal(i) for i in range(1000)]  # the counts most cells hold, made once


def normalize(raw: object, cell_type: CellType) -> tuple[Value | None, str | None]:
    kind = type(raw)
    if (kind is float or kind is int) and cell_type.name != "amount":
        # The common case, a whole count the spreadsheet already holds as a number: the same Decimal the general
        # path below gives (5.0 -> 5), without its text round trip. Zero signs, fractions, NaN, infinities, negatives
        # and huge numbers take the general path.
        if kind is float:
            whole = raw.is_integer() and (0.0 < raw < 1e9 or (raw == 0.0 and str(raw) == "0.0"))  # type: ignore[union-attr]
        else:
            whole = 0 <= raw < 1_000_000_000  # type: ignore[operator]
        if whole:
            n = int(raw)  # type: ignore[call-overload]
            return (_SMALL[n] if n < 1000 else Decimal(n)), None
    return _normalize(raw, cell_type)


def _normalize(raw: object, cell_type: CellType) -> tuple[Value | None, str | None]:
    """The general path (every type, text read leniently)."""
    if raw is None or raw == "":
        return None, None
    if isinstance(raw, bool):
        return Invalid(str(raw), "是逻辑值，不是数字"), None
    if isinstance(raw, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        return Invalid(str(raw), "是日期或时间，不是数字（单元格格式可能被改成了日期）"), None
    note = None
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and (raw != raw or raw in (float("inf"), float("-inf"))):  # NaN, infinity
            return Invalid(str(raw), "不是数字（NaN 或无穷大）"), None
        number = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    else:
        text = str(raw)
        cleaned = unicodedata.normalize("NFKC", text).strip(_SPACES)  # full-width digits and signs to ASCII
        cleaned = cleaned.replace("，", ",")
        if cleaned == "":
            return None, f"“{text}”只含空白，按空白处理"
        if cleaned.lower() in NOT_A_NUMBER_WORDS:
            return Invalid(text, "是文字，不是数字；没有发生的请填 0"), None
        if _THOUSANDS.match(cleaned):
            cleaned = cleaned.replace(",", "")
        if not _NUMBER.match(cleaned):
            return Invalid(text, "不是数字"), None
        number = Decimal(cleaned)
        if cleaned != text or not re.fullmatch(r"-?\d+(\.\d+)?", text):
            note = f"“{text}”按 {_plain(number)} 读取"
    if abs(number) >= MAX_MAGNITUDE:
        return Invalid(_plain(number), "数值大得不合常理（十亿以上）"), None
    if number < 0 and not cell_type.signed:
        return Invalid(_plain(number), "是负数；此格只能填大于等于 0 的数"), None
    if cell_type.whole and number != number.to_integral_value():
        return Invalid(_plain(number), "有小数；此格只能填整数（件数）"), None
    if not cell_type.whole:
        exponent = number.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > cell_type.places:
            return Invalid(_plain(number), f"小数超过 {cell_type.places} 位（单位：{cell_type.unit}）"), None
    try:
        number = number.quantize(Decimal(1)) if cell_type.whole else number
    except InvalidOperation:
        return Invalid(str(raw), "不是数字"), None
    return number, note


def _plain(v: Decimal) -> str:
    v = v.normalize()
    return format(v, "f") if v != 0 else "0"


# --- text that stands for a number in a published report ---------------------------------------------------------

BLANKS = " \t\r\n\u00a0\u2002\u2003\u2009\u3000\u200b\ufeff"
_NUMBER_CELL = re.compile(r"^[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)\s*(?:万元|元|件|个|项|条)?$")


def is_blank(text: object) -> bool:
    return not isinstance(text, str) or not text.strip(BLANKS)


def is_filled(v: object) -> bool:
    return not is_blank(v) if isinstance(v, str) else v is not None


def value_like(text: str) -> bool:
    """A number as printed (padding, units, a stray '.0'), or a word clerks write instead of one (无, —)."""
    s = unicodedata.normalize("NFKC", text).strip(BLANKS)
    return bool(s) and (bool(_NUMBER_CELL.match(s)) or s.lower() in NOT_A_NUMBER_WORDS)

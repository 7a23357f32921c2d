"""Reading, stage one: which form and year a file is — from our workbook's metadata, else from the labels of its
tables and the year in its titles or name; for a published report, the year and unit from its title and the form
whose own labels its tables carry."""

from __future__ import annotations

import itertools
import re

from xltool import layout
from xltool.codes import Code
from xltool.formats.page import Grid, Page
from xltool.forms import Form, FormError, all_forms, form_for_year
from xltool.labels import norm
from xltool.locate import locate
from xltool.problems import Problem
from xltool.sources import ReadError


def form_year_mismatch(form: Form, year: int, what: str) -> Problem:
    """FORM-YEAR-MISMATCH: the form version does not apply to the year; `what` says what the file is and what to do."""
    right = next((f for f in all_forms() if f.form == form.form and f.covers(year)), None)
    expected = f"《{right.name}》（{right.notice}）" if right else "其他格式"
    return Problem.of(Code.FORM_YEAR_MISMATCH, f"{year} 年度应使用{expected}，{what}")


def workbook_meta(page: Page) -> dict[str, str] | None:
    if layout.META_SHEET not in page.sheet_names:
        return None
    items = {}
    for row in page.sheet(layout.META_SHEET):
        if len(row) >= 2 and isinstance(row[0], str):
            value = row[1]
            # LibreOffice may turn "2025" into 2025.0 on save (engineering notes 6.10).
            items[row[0]] = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return items if items.get("generator") == "xltool" else None


def year_of(value: object) -> int | None:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return year if 2000 <= year <= 2100 else None


_YEAR_TEXT = re.compile(r"(20\d\d)\s*年")


def by_labels(page: Page) -> tuple[Form, int | None]:
    """Which form a file without metadata is: the one whose labels are found best; the year from titles or name."""
    best: tuple[int, Form] | None = None
    texts: list[str] = []
    for name in page.sheet_names:
        grid = page.sheet(name)
        texts.extend(str(v) for row in grid[:3] for v in row if isinstance(v, str))
    for form in all_forms():
        # Score: cells located, counting each table in the sheet where most of it is found.
        score = sum(max(len(locate(page.sheet(n), t).positions) for n in page.sheet_names) for t in form.tables)
        if best is None or score > best[0]:
            best = (score, form)
    if best is None or best[0] < 20:
        raise ReadError(Code.NOT_A_RETURN, "找不到年报统计表（任何一种已知表单的表格标签都没有找到）")
    years = [int(m) for t in [*texts, page.path.stem] for m in _YEAR_TEXT.findall(t)]
    years += [int(m) for m in re.findall(r"(20\d\d)", page.path.stem)]
    return best[1], (years[0] if years else None)


_TITLE = re.compile(r"(20\d\d)年度?(?:政府信息公开|政务公开)")
_TITLE_LATE_YEAR = re.compile(r"(?:政府信息公开|政务公开).*?(20\d\d)年")  # 政府信息公开工作年度报告（2022年度）

_SENTENCE = re.compile(r"根据|按照|依据|依照|《|》|。|，|,|；|;|：|:|本年度|本报告|现将|特此|编制")
_TITLE_LABEL = re.compile(r"^(?:标题|题目|名称)[:：]")


def title(lines: list[str], name: str = "") -> tuple[int | None, str]:
    """Year and unit from the title, e.g. 贺兰县立岗镇2022年政府信息公开工作年度报告 (the unit may be on the line before):
    a 标题： line, the page title or first heading, a title line; else the file name. A sentence that names the
    report (本年度报告根据《中华人民共和国政府信息公开条例》…编制) is never a title: its words are not the unit."""
    texts = [t for t in (re.sub(r"\s+", "", line).lstrip("#>*") for line in lines[:300]) if t][:40]
    texts = [_TITLE_LABEL.sub("", t) for t in texts]
    year, unit = _title_in(texts)
    if (year is None or not unit) and name:
        by_name = _title_in([re.sub(r"\s+", "", name)], need_report=False)
        year, unit = year if year is not None else by_name[0], unit or by_name[1]
    return year, unit


def _title_in(texts: list[str], need_report: bool = True) -> tuple[int | None, str]:
    for pattern in (_TITLE, _TITLE_LATE_YEAR):
        for i, t in enumerate(texts):
            m = pattern.search(t)
            if not m or (need_report and not re.search("报告|年报", "".join(texts[i : i + 2]))):
                continue
            unit = t[: min(m.start(), m.start(1))].strip("《》“”\"'")
            if _SENTENCE.search(unit) or len(unit) > 40:
                continue  # a sentence naming the report, not its title
            if not unit and i and len(texts[i - 1]) <= 30 and not re.search(r"\d", texts[i - 1]):
                unit = "" if _SENTENCE.search(texts[i - 1]) else texts[i - 1]
            return int(m.group(1)), unit
    return None, ""


# a portal's 发布机构 may be the office that posts for the unit: not counted as the unit's own print
_UNIT_LINE = re.compile(r"^(?:填报单位|报告单位|编制单位|单位名称)[:：]\s*(\S.{0,39})$")
_DATE_LINE = re.compile(r"^20\d\d\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?$")
_NOT_A_NAME = re.compile(r"\d|[。，,；;：:、|#*（）()]")


def printed_unit(lines: list[str]) -> tuple[str, int] | None:
    """The unit name a report prints outside its title, with its line number: a 填报单位：/编制单位： line, else the
    signature — a short line right before the closing date (平潭综合实验区公安局 / 2023年1月9日)."""
    plain = [re.sub(r"\s+", "", line).strip("#>*") for line in lines]  # Markdown heading and bold marks
    for i, line in enumerate(plain[:400]):
        m = _UNIT_LINE.match(line)
        if m and not _SENTENCE.search(m.group(1)):
            return m.group(1), i
    tail = [(i, line) for i, line in enumerate(plain) if line][-6:]
    for (i, name), (_, date) in itertools.pairwise(tail):
        if _DATE_LINE.match(date) and 2 <= len(name) <= 30 and not _NOT_A_NAME.search(name):
            return name, i
    return None


def choose_form(grid: Grid, year: int | None) -> Form:
    """The version whose own labels (those the other version lacks) appear most; ties go to the year's version."""
    texts = {norm(v) for row in grid for v in row if isinstance(v, str) and v.strip()}
    forms = all_forms()
    scores = {f.id: len((_labels(f) - set().union(*(_labels(g) for g in forms if g is not f))) & texts) for f in forms}
    best = max(scores.values())
    tied = [f for f in forms if scores[f.id] == best]
    if len(tied) > 1 and year is not None:
        try:
            by_year = form_for_year(year)
        except FormError:
            by_year = None
        if by_year in tied:
            return by_year
    return tied[-1]


def _labels(form: Form) -> set[str]:
    return {norm(lb.text) for t in form.tables for lb in t.labels}

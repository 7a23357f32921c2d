"""Import a published 政府信息公开工作年度报告 (plain text, HTML or Word .docx) into a Return.

Every input becomes a Page: one grid of cell values, like a spreadsheet with merged cells (the text sits in the top-left
cell of a merge, covered cells are ""), plus the report's text lines, which give the year and the unit from the title.
The three tables are then found in the grid by their labels with `xltool.locate`, as for a spreadsheet that is not our
template, and read cell by cell. Printed totals are kept too, so the checker verifies the report's own arithmetic.

Flattened text (shared/seeds) has lost the table geometry, so its rows are rebuilt first:
- tab layout: a cell is a line starting with a tab, a blank line ends a row, and a short untabbed line continues the
  cell before it (a label broken over lines, even across a blank line);
- paragraph layout: every cell is a paragraph of its own; a row starts at a caption, a row label or text after a
  number;
(Markdown pipe tables keep their geometry, one line per row with covered cells empty, and are read like HTML.)
In a rebuilt row the labels stay on the left and the values are right-aligned, so they line up under their column
headers. The merged headers of Tables 三 and 四, whose shape text cannot show, are checked label by label and replaced
by the official header (the same in both versions, spec §4.1 and §5).

What cannot be placed is reported with the text that was seen (IMPORT-UNPLACED); a table that is cut short is reported
(IMPORT-INCOMPLETE) and its missing cells become Invalid, so the rules say 无法判断 instead of reading zeros.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from xltool.codes import Code
from xltool.forms import TABLE_ROW, Cell, Form, FormError, Table, all_forms, form_for_year
from xltool.labels import norm
from xltool.locate import Grid, locate
from xltool.model import Invalid, Return, Unit, Value
from xltool.problems import Problem
from xltool.sources import ReadError, check_size
from xltool.values import NOT_A_NUMBER_WORDS, normalize

TEXT_SUFFIXES = {".txt", ".text", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
REPORT_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".docx"}
MAX_REPORT_BYTES = 20 * 1024 * 1024  # a report with pictures is a few MB; a text or HTML report is well under 1 MB
MAX_SPAN = 200  # rowspan/colspan beyond this is not a statistics table
MAX_GRID_CELLS = 500_000


@dataclass
class Page:
    """One report as a grid of cell values plus its text lines."""

    kind: str  # text | html | docx
    grid: Grid
    lines: list[str]
    where: dict[tuple[int, int], str] = field(default_factory=dict)  # grid cell -> place in the report, e.g. 第 131 行
    tails: dict[int, int] | None = None  # text only: number of value cells each rebuilt row had
    covered: set[tuple[int, int]] = field(default_factory=set)  # cells hidden by a merge from their left (HTML, Word)


# --- public API ------------------------------------------------------------------------------------------------------


def is_report(path: str | Path) -> bool:
    """True for a report the importer reads: .txt/.md/.html/.docx, or HTML or Word content under another name."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in REPORT_SUFFIXES:
        return True
    if suffix in {".xlsx", ".xlsm", ".ods", ".xls"} or not path.is_file():
        return False
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return _looks_html(head) or (head.startswith(b"PK\x03\x04") and _is_word_zip(path))


def import_report(path: str | Path) -> Return:
    """Read a published report into a Return; raises ReadError when it is unusable or holds none of the tables."""
    path = Path(path)
    page = _load(path)
    year, unit = _title(page.lines)
    form = _choose_form(page.grid, year)
    problems = [
        Problem.of(
            Code.LOCATED_BY_LABELS,
            f"此文件是报告原文（{_KIND_TEXT[page.kind]}），已按表格标签找到统计表并读取；请核对读取结果",
        )
    ]
    if year is None:
        problems.append(Problem.of(Code.YEAR_UNKNOWN, "无法从报告标题中识别报告年度；请核对标题是否写明“XXXX年”"))
    elif not form.covers(year):
        right = next((f for f in all_forms() if f.covers(year)), None)
        expected = f"《{right.name}》（{right.notice}）" if right else "其他格式"
        problems.append(
            Problem.of(
                Code.FORM_YEAR_MISMATCH,
                f"{year} 年度报告应使用{expected}，此报告的统计表是 {form.notice} 格式；请核对报告年度和表格格式",
            )
        )
    if not unit:
        problems.append(Problem.of(Code.UNIT_MISSING, "无法从报告标题中识别报告单位；请核对标题"))
    ret = Return(form, year or 0, Unit(name=unit), source=str(path), meta={"source_format": page.kind})
    found = [_read_table(page, table, ret, problems) for table in form.tables]
    if not any(found):
        raise ReadError(
            Code.NOT_A_REPORT,
            "没有找到政府信息公开年报的统计表（表二、表三、表四的标签都没有找到）；请确认这是年度报告原文",
        )
    ret.read_problems = problems
    return ret


_KIND_TEXT = {"text": "纯文本", "html": "网页", "docx": "Word 文档"}


# --- loading: any input -> Page -----------------------------------------------------------------------------------


def _load(path: Path) -> Page:
    check_size(path, MAX_REPORT_BYTES, "请检查是否选错了文件")
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        return _docx_page(path)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError(
            Code.NOT_A_REPORT,
            "这是旧版 Word（.doc）或 Excel（.xls）文件；报告请另存为 .docx 后导入，统计表请用 xltool check",
        )
    if data.lstrip()[:5].lower() == b"%pdf-":
        raise ReadError(Code.NOT_A_REPORT, "这是 PDF 文件；请把报告另存为文本、网页或 Word（.docx）后导入")
    text = _decode(data)
    if _looks_html(data[:512]) or path.suffix.lower() in HTML_SUFFIXES:
        return _html_page(text)
    return _text_page(text)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (Chinese Windows text)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    if b"\x00" in data[:4096]:
        raise ReadError(Code.NOT_A_REPORT, "不是文本文件（含二进制内容）；请导入报告的文本、网页或 Word（.docx）文件")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace")


def _looks_html(head: bytes) -> bool:
    start = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html")) or (start.startswith(b"<?xml") and b"<html" in start)


def _is_word_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return "word/document.xml" in z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


# --- text ------------------------------------------------------------------------------------------------------------

_BLANKS = " \t\r\n\u00a0\u2002\u2003\u2009\u3000\u200b\ufeff"
_HEADING = re.compile(r"^\s*(?:[一二三四五六七八九十]+|\d+)\s*、")
_NUMBER_CELL = re.compile(r"^[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)\s*(?:万元|元|件|个|项|条)?$")


@dataclass
class _TextCell:
    text: str
    line: int  # 1-based line number in the report
    new_row: bool = False  # starts a row
    alone: bool = False  # prose or a heading: a row of its own


@dataclass
class _TextRow:
    cells: list[_TextCell]
    header: Table | None = None  # a recognised merged header of Table 三/四, painted in its official shape
    line: int = 0


def _blank(text: object) -> bool:
    return not isinstance(text, str) or not text.strip(_BLANKS)


def _filled(v: object) -> bool:
    return not _blank(v) if isinstance(v, str) else v is not None


def _value_like(text: str) -> bool:
    """A number as printed (padding, units, a stray '.0'), or a word clerks write instead of one (无, —)."""
    s = unicodedata.normalize("NFKC", text).strip(_BLANKS)
    return bool(s) and (bool(_NUMBER_CELL.match(s)) or s.lower() in NOT_A_NUMBER_WORDS)


def _text_page(text: str) -> Page:
    lines = text.splitlines()
    if sum(1 for line in lines if line.lstrip().startswith("|")) >= 10:
        return _stacked("text", [(grid, set()) for grid in _pipe_tables(lines)], lines)
    tabbed = sum(1 for line in lines if line.startswith("\t")) >= 10
    cells = _tab_cells(lines) if tabbed else _paragraph_cells(lines)
    return _text_grid(_text_rows(cells), lines)


def _tab_cells(lines: list[str]) -> list[_TextCell]:
    cells: list[_TextCell] = []
    row_break = True
    for i, line in enumerate(lines):
        if line.startswith("\t"):
            for j, part in enumerate(line.split("\t")[1:]):
                cells.append(_TextCell(part, i + 1, new_row=row_break and j == 0))
            row_break = False
        elif _blank(line):
            row_break = True
        elif cells and not cells[-1].alone and _continues(lines, i, cells[-1]):
            prev = cells[-1]
            prev.text = line if _blank(prev.text) else f"{prev.text}\n{line}"
            row_break = False
        else:
            cells.append(_TextCell(line, i + 1, new_row=True, alone=True))
            row_break = True
    return cells


def _pipe_tables(lines: list[str]) -> list[Grid]:
    """Markdown tables: consecutive |…| lines, the |---| rule under the header skipped."""
    tables: list[Grid] = []
    in_table = False
    for line in lines:
        if not line.lstrip().startswith("|"):
            in_table = False
            continue
        cells: list[object] = [c.strip(" \t").replace("<br>", "\n") for c in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r"\s*:?-{3,}:?\s*", str(c)) for c in cells):
            continue
        if not in_table:
            tables.append([])
            in_table = True
        tables[-1].append(cells)
    return tables


def _continues(lines: list[str], i: int, prev: _TextCell) -> bool:
    """Whether untabbed line i is the rest of the cell before it (e.g. 结/果/维/持, or （三）不予 / 公开)."""

    def short(line: str) -> bool:
        return not line[0].isspace() and len(line.strip()) <= 20 and not _HEADING.match(line)

    if not short(lines[i]) or _value_like(prev.text):
        return False
    following = next((line for line in lines[i + 1 :] if not _blank(line)), "")
    return following.startswith("\t") or (bool(following) and short(following))


def _paragraph_cells(lines: list[str]) -> list[_TextCell]:
    known = _known()
    cells: list[_TextCell] = []
    for i, line in enumerate(lines):
        if _blank(line):
            continue
        n = norm(line)
        cell = _TextCell(line, i + 1)
        cell.alone = n not in known.labels and (len(n) > 40 or bool(_HEADING.match(line)) or n in known.titles)
        prev = cells[-1] if cells else None
        cell.new_row = prev is None or prev.alone or cell.alone or _starts_row(cell.text, prev.text)
        cells.append(cell)
    return cells


def _starts_row(text: str, prev: str) -> bool:
    """Paragraph layout: whether a cell begins a new table row."""
    known, n, p = _known(), norm(text), norm(prev)
    if _value_like(text):
        return False
    if _value_like(prev) or p in known.captions:
        return True
    if n in known.captions or n in known.row_starts or n in known.anchors:
        return True
    return n in known.row_labels and p not in known.row_labels


def _text_rows(cells: list[_TextCell]) -> list[_TextRow]:
    rows: list[_TextRow] = []
    i = 0
    while i < len(cells):
        cell = cells[i]
        table = _known().anchors.get(norm(cell.text))
        end = _header_run(cells, i, table) if table is not None else 0
        if end:
            rows.append(_TextRow([], table, cell.line))
            i = end
            if i < len(cells):
                cells[i].new_row = True
            continue
        if cell.new_row or cell.alone or not rows or rows[-1].header is not None:
            rows.append(_TextRow([], None, cell.line))
        rows[-1].cells.append(cell)
        i += 1
    return rows


def _header_run(cells: list[_TextCell], i: int, table: Table) -> int:
    """End of the merged header of `table` starting at cell i, if every column label is there; else 0."""
    allowed = {norm(lb.text) for lb in table.labels if lb.kind in ("header", "corner")}
    j = i
    while j < len(cells) and (_blank(cells[j].text) or norm(cells[j].text) in allowed):
        j += 1
    while j > i and _blank(cells[j - 1].text):
        j -= 1
    seen = Counter(norm(c.text) for c in cells[i:j])
    needed = Counter(norm(t) for t in table.col_labels.values())
    return j if not needed - seen else 0


def _text_grid(rows: list[_TextRow], lines: list[str]) -> Page:
    known = _known()
    width = max([t.width for f in all_forms() for t in f.tables] + [len(r.cells) for r in rows])
    page = Page("text", [], lines, tails={})
    for row in rows:
        if row.header is not None:
            for painted in _painted_header(row.header, width):
                page.where.update(
                    {(len(page.grid), c): f"第 {row.line} 行起的表头" for c, v in enumerate(painted) if v}
                )
                page.grid.append(painted)
            continue
        # Labels on the left, then the run of values (and Table 二 column headers) right-aligned.
        k = len(row.cells)
        while k and (_blank(t := row.cells[k - 1].text) or _value_like(t) or norm(t) in known.value_headers):
            k -= 1
        tail = row.cells[k:]
        placed = list(enumerate(row.cells[:k])) + [(width - len(tail) + j, c) for j, c in enumerate(tail)]
        r = len(page.grid)
        out: list[object] = [""] * width
        for col, cell in placed:
            out[col] = cell.text
            page.where[(r, col)] = f"第 {cell.line} 行"
        page.grid.append(out)
        page.tails[r] = len(tail)
    return page


def _painted_header(table: Table, width: int) -> list[list[object]]:
    shift = width - table.width
    rows: list[list[object]] = [[""] * width for _ in range(table.header_rows)]
    for lb in table.labels:
        if lb.kind in ("header", "corner"):
            rows[lb.first_row - TABLE_ROW][lb.first_col + shift] = lb.text
    return rows


# --- HTML ------------------------------------------------------------------------------------------------------------

_SKIP_TAGS = ("script", "style", "noscript", "template")
_BLOCK_TAGS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "title", "li", "tr", "section", "article", "center")


def _html_page(text: str) -> Page:
    import lxml.html
    from lxml import etree

    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml refuses str input that declares an encoding
    parser = lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, huge_tree=False)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ReadError(Code.CORRUPT, f"网页文件无法解析（{str(exc)[:80]}）") from None
    for el in list(root.iter(*_SKIP_TAGS)):
        el.drop_tree()
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    # Innermost tables only: an outer layout table's text is its inner tables' text again.
    grids = [_html_table(t) for t in root.iter("table") if t.find(".//table") is None]  # (grid, covered) pairs
    for table in list(root.iter("table")):
        if table.getparent() is not None:
            table.drop_tree()
    for el in root.iter(*_BLOCK_TAGS):
        el.tail = "\n" + (el.tail or "")
    lines = root.text_content().splitlines()
    return _stacked("html", grids, lines)


def _html_table(table) -> tuple[Grid, set[tuple[int, int]]]:
    trs = list(table.iter("tr"))
    texts: dict[tuple[int, int], str] = {}
    taken: set[tuple[int, int]] = set()
    covered: set[tuple[int, int]] = set()
    for r, tr in enumerate(trs):
        c = 0
        for td in tr:
            if td.tag not in ("td", "th"):
                continue
            while (r, c) in taken:
                c += 1
            rows, cols = min(_span(td.get("rowspan")), len(trs) - r), _span(td.get("colspan"))
            taken.update((r + dr, c + dc) for dr in range(rows) for dc in range(cols))
            covered.update((r + dr, c + dc) for dr in range(rows) for dc in range(1, cols))
            if len(taken) > MAX_GRID_CELLS:
                raise ReadError(Code.TOO_LARGE, "网页中的表格大得不合常理（合并单元格跨度异常），已拒绝读取")
            texts[(r, c)] = td.text_content()
            c += cols
    width = max((c for _, c in taken), default=-1) + 1
    return [[texts.get((r, c), "") for c in range(width)] for r in range(len(trs))], covered


def _span(value: str | None) -> int:
    m = re.match(r"\s*(\d+)", value or "")
    return min(max(int(m.group(1)), 1), MAX_SPAN) if m else 1


# --- Word (.docx) ----------------------------------------------------------------------------------------------------


def _docx_page(path: Path) -> Page:
    _check_docx(path)
    import docx
    from docx.table import _Cell

    try:
        document = docx.Document(str(path))
        grids, cells = [], 0
        for table in document.tables:
            grid: Grid = []
            covered: set[tuple[int, int]] = set()
            for tr in table._tbl.tr_lst:
                row: list[object] = [""] * min(tr.grid_before, MAX_SPAN)
                for tc in tr.tc_lst:
                    # A vertically merged continuation cell is covered: "" like a spreadsheet's merged area.
                    text = "" if tc.vMerge == "continue" else _Cell(tc, table).text
                    span = min(tc.grid_span, MAX_SPAN)
                    covered.update((len(grid), len(row) + i) for i in range(1, span))
                    row += [text] + [""] * (span - 1)
                grid.append(row)
                cells += len(row)
                if cells > MAX_GRID_CELLS:
                    raise ReadError(Code.TOO_LARGE, "Word 文档中的表格大得不合常理，已拒绝读取")
            grids.append((grid, covered))
        lines = [p.text for p in document.paragraphs]
    except ReadError:
        raise
    except Exception as exc:  # python-docx raises many kinds (KeyError, ValueError, lxml errors) on broken files
        raise ReadError(Code.CORRUPT, f"Word 文档已损坏，无法读取（{str(exc)[:80]}）") from None
    return _stacked("docx", grids, lines)


def _check_docx(path: Path) -> None:
    """The spreadsheet reader's zip checks (zip bomb, DTD/entities, encryption) run on the .docx too."""
    from xltool.sources import check_zip, zip_kind

    kind = zip_kind(check_zip(path))
    if kind in ("xlsx", "ods"):
        raise ReadError(Code.NOT_A_REPORT, f"这是电子表格（{kind}），不是报告原文；统计表请用 xltool check 检查")
    if not _is_word_zip(path):
        raise ReadError(Code.NOT_A_REPORT, "是压缩包，但不是 Word（.docx）文档")


def _stacked(kind: str, grids: list[tuple[Grid, set[tuple[int, int]]]], lines: list[str]) -> Page:
    """All tables of a document one below the other, an empty row between them."""
    page = Page(kind, [], lines)
    for t, (grid, covered) in enumerate(grids, 1):
        width = max((len(row) for row in grid), default=0)
        page.covered.update((len(page.grid) + r, c) for r, c in covered)
        for r, row in enumerate(grid):
            page.where.update(
                {
                    (len(page.grid), c): f"第 {t} 个表格第 {r + 1} 行第 {c + 1} 列"
                    for c, v in enumerate(row)
                    if _filled(v)
                }
            )
            page.grid.append(list(row) + [""] * (width - len(row)))
        page.grid.append([])
    return page


# --- what the report is: year, unit, form version ------------------------------------------------------------------

_TITLE = re.compile(r"(20\d\d)年度?(?:政府信息公开|政务公开)")
_TITLE_LATE_YEAR = re.compile(r"(?:政府信息公开|政务公开).*?(20\d\d)年")  # 政府信息公开工作年度报告（2022年度）


def _title(lines: list[str]) -> tuple[int | None, str]:
    """Year and unit from the title, e.g. 贺兰县立岗镇2022年政府信息公开工作年度报告 (the unit may be on the line before)."""
    texts = [t for t in (re.sub(r"\s+", "", line).lstrip("#>*") for line in lines[:300]) if t][:40]
    for pattern in (_TITLE, _TITLE_LATE_YEAR):
        for i, t in enumerate(texts):
            m = pattern.search(t)
            if m and re.search("报告|年报", "".join(texts[i : i + 2])):
                unit = t[: min(m.start(), m.start(1))].strip("《》“”\"'")
                if not unit and i and len(texts[i - 1]) <= 30 and not re.search(r"\d", texts[i - 1]):
                    unit = texts[i - 1]
                return int(m.group(1)), unit
    return None, ""


def _choose_form(grid: Grid, year: int | None) -> Form:
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


@dataclass(frozen=True)
class _Known:
    labels: set[str]  # every printed label of either version
    captions: set[str]
    row_labels: set[str]
    row_starts: set[str]  # labels that always open a row
    value_headers: set[str]  # Table 二 column headers (right-aligned with the values below them)
    titles: set[str]
    anchors: dict[str, Table]  # first header labels of Tables 三 and 四


@cache
def _known() -> _Known:
    forms = all_forms()
    tables = [t for f in forms for t in f.tables]
    labels = {norm(lb.text) for t in tables for lb in t.labels}
    captions = {norm(lb.text) for t in tables for lb in t.labels if lb.kind == "caption"}
    row_labels = {norm(lb.text) for t in tables for lb in t.labels if lb.kind == "row"}
    value_headers = {
        norm(lb.text)
        for t in tables
        if t.layout == "blocks"
        for lb in t.labels
        if lb.kind == "header" and lb.first_col > 0
    }
    anchors = {
        norm(lb.text): t
        for t in forms[0].tables
        if t.layout == "matrix"
        for lb in t.labels
        if lb.kind in ("header", "corner") and lb.first_row == TABLE_ROW
    }
    return _Known(
        labels, captions, row_labels, {norm("信息内容")}, value_headers, {norm(t.title) for t in tables}, anchors
    )


# --- reading one table --------------------------------------------------------------------------------------------


def _read_table(page: Page, table: Table, ret: Return, problems: list[Problem]) -> bool:
    """Locate `table` in the page and put its values into `ret`; False when none of it is there."""
    name = f"表{table.number}（{table.title}）"
    located = locate(page.grid, table)
    if not located.positions:
        problems.append(
            Problem.of(
                Code.IMPORT_INCOMPLETE,
                f"{name}：报告中没有找到此表（缺少{_quoted(located.missing)}），此表按未填报处理；请核对原报告",
                values={"table": table.number, "missing": located.missing},
            )
        )
        return False
    positions = _realigned(page, located.positions)
    used = set(positions.values())
    values: dict[str, Value | None] = {}
    for cell in table.cells:
        if cell.key in positions:
            values[cell.key] = _value(page, cell, positions[cell.key], name, problems)
    if table.layout == "blocks":
        used |= _sub_rows(page, table, positions, values, problems)
    if page.tails is not None:
        used |= _miscounted_rows(page, table, positions, values, name, problems)
    missing = [c for c in table.cells if c.key not in positions]
    if missing:
        labels = located.missing or sorted({" / ".join(c.label_path[:-1]) for c in missing})
        problems.append(
            Problem.of(
                Code.IMPORT_INCOMPLETE,
                f"{name}不完整：没有找到{_quoted(labels)}（共 {len(missing)} 格），这些格按无法判断处理，"
                "不按 0 计算；请核对原报告是否被截断",
                values={"table": table.number, "missing": labels},
            )
        )
        for c in missing:
            values[c.key] = Invalid("", "报告中没有这一项（表格不完整）")
    ret.values.update({k: v for k, v in values.items() if v is not None})
    _unplaced(page, table, used, name, problems)
    return True


def _realigned(page: Page, positions: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """Word tables sometimes merge a data row differently from its header (spec §3.1: header 2 | 3–4 | 5, data
    2–3 | 4 | 5), hiding a column's position under the merge from its left: the value is then the one filled cell
    between that position and the table's next column."""
    out = dict(positions)
    columns: dict[int, list[int]] = {}
    for r, c in positions.values():
        columns.setdefault(r, []).append(c)
    for key, (r, c) in positions.items():
        if (r, c) not in page.covered:
            continue
        after = min((x for x in columns[r] if x > c), default=len(page.grid[r]))
        filled = [x for x in range(c + 1, after) if _filled(page.grid[r][x])]
        if len(filled) == 1:
            out[key] = (r, filled[0])
    return out


def _value(page: Page, cell: Cell, pos: tuple[int, int], name: str, problems: list[Problem]) -> Value | None:
    raw = _at(page.grid, *pos)
    text = raw.strip(_BLANKS) if isinstance(raw, str) else raw  # padding around a number is layout
    value, note = normalize(text, cell.type)
    if note and not isinstance(value, Invalid):
        problems.append(
            Problem.of(
                Code.VALUE_NORMALISED,
                f"{_where(page, pos)}：{name} {cell.label}：{note}",
                values={"raw": raw, "key": cell.key},
            )
        )
    return value


def _sub_rows(page: Page, table: Table, positions: dict, values: dict, problems: list[Problem]) -> set:
    """Table 二 rows split into local sub-rows (北京: 行政检查, 行政确认 under 其他对外管理服务事项): sum them, keep them."""
    grid, known, used = page.grid, _known(), set()
    rows: dict[str, list[Cell]] = {}
    for cell in table.cells:
        if cell.key in positions:
            rows.setdefault(cell.key.rsplit(".", 1)[0], []).append(cell)
    for cells in rows.values():
        label = cells[0].label_path[1]
        r = positions[cells[0].key][0]
        cols = [positions[c.key][1] for c in cells]
        first = min(cols)
        subs = [v for v in grid[r][:first] if _filled(v) and norm(v) != norm(label) and not _value_like(str(v))]
        if len(subs) != 1:
            continue
        parts = [(r, subs[0])]
        for rr in range(r + 1, len(grid)):
            left = [v for v in grid[rr][:first] if _filled(v)]
            if len(left) != 1 or norm(left[0]) in known.labels or not any(_filled(_at(grid, rr, c)) for c in cols):
                break
            parts.append((rr, left[0]))
        extra: dict[str, list] = {}
        for rr, sub in parts:
            read = [normalize(_strip(_at(grid, rr, c)), c_.type)[0] for c, c_ in zip(cols, cells, strict=True)]
            extra[label + "/" + re.sub(r"\s+", "", sub)] = [_plain(v) for v in read]
            used.update((rr, c) for c in range(len(grid[rr])) if _filled(grid[rr][c]))
            for c_, v in zip(cells, read, strict=True):
                values[c_.key] = _add(values.get(c_.key) if rr != r else None, v)
        names = "、".join(k.split("/", 1)[1] for k in extra)
        problems.append(
            Problem.of(
                Code.IMPORT_EXTRA_ROWS,
                f"{_where(page, (r, first))}：表{table.number}「{label}」分为 {len(extra)} 个细分行（{names}），"
                "已相加计入该行；细分行的数字见本条提示",
                values={"row": label, "columns": [c.label_path[-1] for c in cells], "rows": extra},
            )
        )
    return used


def _add(total: Value | None, v: Value | None) -> Value | None:
    if v is None:
        return total
    if total is None:
        return v
    if isinstance(total, Invalid) or isinstance(v, Invalid):
        raws = [x.raw if isinstance(x, Invalid) else _plain(x) for x in (total, v)]
        return Invalid(" + ".join(map(str, raws)), "细分行中有不是数字的内容，无法相加")
    return total + v


def _miscounted_rows(
    page: Page, table: Table, positions: dict, values: dict, name: str, problems: list[Problem]
) -> set:
    """Text rows with more or fewer numbers than columns: which number belongs where is unknown, so none is read."""
    assert page.tails is not None
    used: set = set()
    by_row: dict[int, list[str]] = {}
    for key, (r, _) in positions.items():
        by_row.setdefault(r, []).append(key)
    for r, keys in sorted(by_row.items()):
        got = page.tails.get(r, 0)
        if got == len(keys):
            continue
        texts = [str(v).strip(_BLANKS) for v in page.grid[r] if _filled(v)]
        problems.append(
            Problem.of(
                Code.IMPORT_INCOMPLETE,
                f"{_where(page, (r, 0))}：{name}「{_row_name(table, keys[0])}」有 {got} 个数，"
                f"应有 {len(keys)} 个，无法确定各数所在的列，此行按无法判断处理；请核对原报告",
                values={"table": table.number, "texts": texts},
            )
        )
        for key in keys:
            values[key] = Invalid(" ".join(texts), "此行数字个数不对，无法确定所在的列")
        used.update((r, c) for c, v in enumerate(page.grid[r]) if _filled(v))
    return used


def _row_name(table: Table, key: str) -> str:
    """The printed row label of a cell key, e.g. （四）无法提供 1.本机关不掌握相关政府信息."""
    if table.layout == "blocks":
        return next(c.label_path[1] for c in table.cells if c.key == key)
    paths = [p for rk, p in table.row_paths.items() if rk and key.startswith(f"{table.id}.{rk}.")]
    path = max(paths, key=len, default=())
    return " ".join(path[1:] or path) or "数据行"


def _unplaced(page: Page, table: Table, used: set, name: str, problems: list[Problem]) -> None:
    """Report every other non-empty cell between the table's first and last located rows, with its text."""
    rows = [r for r, _ in used]
    labels = {norm(lb.text) for lb in table.labels} | {norm(table.title)}
    for r in range(min(rows), min(max(rows) + 1, len(page.grid))):
        stray = [
            (c, v) for c, v in enumerate(page.grid[r]) if _filled(v) and (r, c) not in used and norm(v) not in labels
        ]
        if stray:
            texts = [str(v).strip(_BLANKS) for _, v in stray]
            problems.append(
                Problem.of(
                    Code.IMPORT_UNPLACED,
                    f"{_where(page, (r, stray[0][0]))}：{name}中的{_quoted(texts)}无法对应到表格的行和列，"
                    "未读入；请核对原报告",
                    values={"table": table.number, "texts": texts},
                )
            )


# --- small helpers --------------------------------------------------------------------------------------------------


def _at(grid: Grid, r: int, c: int) -> object:
    return grid[r][c] if r < len(grid) and c < len(grid[r]) else None


def _strip(v: object) -> object:
    return v.strip(_BLANKS) if isinstance(v, str) else v


def _where(page: Page, pos: tuple[int, int]) -> str:
    """Where a grid cell came from; for an empty cell, where the first filled cell of its row came from."""
    r = pos[0]
    width = len(page.grid[r]) if r < len(page.grid) else 0
    return page.where.get(pos) or next((page.where[(r, c)] for c in range(width) if (r, c) in page.where), "报告中")


def _plain(v: Value | None) -> object:
    """A value as plain JSON data: whole numbers as int, other decimals as text, unusable text as printed."""
    if v is None:
        return None
    if isinstance(v, Invalid):
        return v.raw
    return int(v) if v == v.to_integral_value() else format(v, "f")


def _quoted(texts: list[str], limit: int = 6) -> str:
    shown = "".join("“" + re.sub(r"\s+", "", t) + "”" for t in texts[:limit])
    return shown + (f"等 {len(texts)} 项" if len(texts) > limit else "")


__all__ = ["MAX_REPORT_BYTES", "REPORT_SUFFIXES", "Page", "import_report", "is_report"]

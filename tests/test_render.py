"""`xltool.render`: the official tables as HTML, Word and Markdown, read back and compared with the form and the return.

Every check rebuilds what a reader sees (HTML grid honouring rowspan/colspan, Word merged cells, Markdown rows) and
compares it with the form definition (labels, merge ranges, cell positions) and with `Return.value`, not with the
renderer's own grid, so a layout bug in `table_grid` cannot hide itself.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import struct
import subprocess
from decimal import Decimal
from pathlib import Path

import lxml.html
import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from tests.fillings import random_return
from xltool.formats import render
from xltool.formats.docx import render_docx
from xltool.formats.html import render_html, render_html_fragment
from xltool.formats.md import render_markdown
from xltool.forms import TABLE_ROW, Cell, Table, form_for_year
from xltool.model import Invalid, Return, Unit
from xltool.outcomes import NO_ITEMS_TEXT as TABLE_NONE
from xltool.reading import read
from xltool.render import format_value, table_grid
from xltool.rollup import merge

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HEADINGS = ["二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况"]
HOSTILE = '<script>alert("x")</script>&amp;<b>镇</b> | *_`'


# --- the returns every layout test runs on ---------------------------------------------------------------------------


def _random(year: int, seed: int) -> Return:
    return random_return(form_for_year(year), year, random.Random(seed), blanks=12)


@pytest.fixture(scope="module")
def rollup(tmp_path_factory) -> Return:
    """A roll-up written by `xltool merge` from the example county, read back like any return."""
    files = sorted((EXAMPLES / "county-2025").glob("*.xlsx"))
    path = merge(files, unit=Unit(name="示例县人民政府办公室")).write(tmp_path_factory.mktemp("rollup") / "roll.xlsx")
    return read(path)


CASES = ["sample-2025", "sample-2020", "random-2025", "random-2020", "rollup-2025"]


@pytest.fixture(params=CASES)
def ret(request) -> Return:
    name = request.param
    if name.startswith("sample"):
        return read(EXAMPLES / f"sample-return-{name[-4:]}.xlsx")
    if name.startswith("random"):
        return _random(int(name[-4:]), 7 if name.endswith("2025") else 8)
    return request.getfixturevalue("rollup")


# --- expectations computed from the form and Return.value only -----------------------------------------------------


def expected(ret: Return, cell: Cell) -> Decimal | str | None:
    """None: shown blank; Decimal: the number shown; str: an unusable entry, shown as typed."""
    if cell.is_input:
        v = ret.values.get(cell.key)
        return v.raw if isinstance(v, Invalid) else v
    if not any(k in ret.values for k in ret.form.input_closure([cell.key])):
        return None
    return ret.safe_value(cell.key)


def assert_number(text: str, ret: Return, cell: Cell, where: str) -> None:
    want = expected(ret, cell)
    if want is None:
        assert text == "", f"{where} {cell.key}: blank expected, got {text!r}"
    elif isinstance(want, str):
        assert text == want, f"{where} {cell.key}"
    else:
        if cell.type.whole:
            assert re.fullmatch(r"-?\d+", text), f"{where} {cell.key}: {text!r} is not a whole number"
        else:
            assert re.fullmatch(rf"\d+(\.\d{{1,{cell.type.places}}})?", text), f"{where} {cell.key}: {text!r}"
            assert not (("." in text) and text.endswith("0")), f"{where} {cell.key}: trailing zero in {text!r}"
        assert Decimal(text) == want, f"{where} {cell.key}: {text!r} != {want}"
        if cell.key in ret.values or not cell.is_input:
            assert Decimal(text) == ret.value(cell.key)


def check_grid(ret: Return, table: Table, grid: dict[tuple[int, int], object], text, span, where: str) -> None:
    """Every label at its place with its merge range, every number cell holding its value, nothing else printed."""
    labels = set()
    for lab in table.labels:
        pos = (lab.first_row - TABLE_ROW, lab.first_col)
        owner = grid[pos]
        assert text(owner) == lab.text, f"{where} {table.id} label at {pos}"
        assert span(owner) == (lab.last_row - lab.first_row + 1, lab.last_col - lab.first_col + 1), (
            f"{where} {table.id} merge of {lab.text}"
        )
        labels.add(id(owner))
    values = set()
    for cell in table.cells:
        owner = grid[(cell.row - TABLE_ROW, cell.col)]
        assert_number(text(owner), ret, cell, f"{where} {table.id}")
        values.add(id(owner))
    # Table 二 value cells reach the right edge of their block (the template's merge).
    for cell in table.cells:
        later = [c.col for c in table.cells if c.row == cell.row and c.col > cell.col]
        width = (min(later) if later else table.width) - cell.col if table.layout == "blocks" else 1
        assert span(grid[(cell.row - TABLE_ROW, cell.col)]) == (1, width), f"{where} {cell.key} span"
    rows = table.last_row - TABLE_ROW + 1
    assert {r for r, _ in grid} == set(range(rows)), f"{where} {table.id}: rows"
    assert {c for _, c in grid} == set(range(table.width)), f"{where} {table.id}: columns"
    others = {id(o): o for o in grid.values() if id(o) not in labels | values}
    assert all(text(o) == "" for o in others.values()), f"{where} {table.id}: stray text"


# --- HTML ------------------------------------------------------------------------------------------------------------


def html_grid(table_el) -> dict[tuple[int, int], object]:
    """Positions of an HTML table, each mapped to the th/td element covering it (rowspan/colspan honoured)."""
    grid: dict[tuple[int, int], object] = {}
    for r, tr in enumerate(table_el.iter("tr")):
        c = 0
        for el in tr:
            if el.tag not in ("td", "th"):
                continue
            while (r, c) in grid:
                c += 1
            rs, cs = int(el.get("rowspan", 1)), int(el.get("colspan", 1))
            for dr in range(rs):
                for dc in range(cs):
                    assert (r + dr, c + dc) not in grid, "overlapping cells"
                    grid[(r + dr, c + dc)] = el
            c += cs
    return grid


def html_text(el) -> str:
    return el.text_content()


def html_span(el) -> tuple[int, int]:
    return int(el.get("rowspan", 1)), int(el.get("colspan", 1))


def test_html_tables_match_form_and_values(ret):
    """HTML: the three headings exactly, each table's labels, merges and numbers where the form puts them."""
    page = render_html(ret)
    assert page.startswith("<!DOCTYPE html>")
    doc = lxml.html.document_fromstring(page)
    assert doc.find(".//meta").get("charset") == "utf-8"
    assert [h.text_content() for h in doc.iter("h2")] == HEADINGS
    tables = doc.findall(".//table")
    assert len(tables) == len(ret.form.tables) == 3
    for table, el in zip(ret.form.tables, tables, strict=True):
        check_grid(ret, table, html_grid(el), html_text, html_span, "html")
    css = doc.find(".//style").text
    assert "border" in css and "@page" in css and "@media print" in css and "SimSun" in css


def test_html_fragment_is_only_tables_with_inline_borders(ret):
    """The CMS fragment has the headings and tables, no page chrome, and keeps its borders without a stylesheet."""
    frag = render_html_fragment(ret)
    assert "<html" not in frag and "<style" not in frag and "<h1" not in frag
    root = lxml.html.fragment_fromstring(frag)
    assert [h.text_content() for h in root.iter("h2")] == HEADINGS
    for table, el in zip(ret.form.tables, root.iter("table"), strict=True):
        check_grid(ret, table, html_grid(el), html_text, html_span, "fragment")
        assert all("border:1px solid" in c.get("style") for c in el.iter("td", "th"))


def test_html_matrix_headers_in_thead():
    """Tables 三 and 四 put their header rows in <thead> so they repeat on each printed page."""
    doc = lxml.html.document_fromstring(render_html(read(EXAMPLES / "sample-return-2025.xlsx")))
    heads = {t.get("id"): t.find("thead") for t in doc.iter("table")}
    assert heads["table-active"] is None
    assert len(heads["table-apply"].findall("tr")) == 3
    assert len(heads["table-appeal"].findall("tr")) == 3


def test_html_escapes_hostile_unit_name():
    """A unit name with markup is shown as text everywhere, never as HTML."""
    ret = _random(2025, 3)
    ret.unit = Unit(name=HOSTILE, scope='本机关"><img src=x onerror=alert(1)>')
    page = render_html(ret)
    assert "<script" not in page and "<b>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and "&amp;amp;" in page
    doc = lxml.html.document_fromstring(page)
    assert doc.find(".//title").text.startswith(HOSTILE)
    assert doc.find(".//h1").text_content().startswith(HOSTILE)
    assert not doc.findall(".//script") and not doc.findall(".//img")


# --- Word ------------------------------------------------------------------------------------------------------------


def docx_grid(table) -> dict[tuple[int, int], object]:
    """Positions of a Word table mapped to the underlying <w:tc> (python-docx repeats a merged cell's element)."""
    return {(r, c): cell._tc for r, row in enumerate(table.rows) for c, cell in enumerate(row.cells)}


def docx_span(tc) -> tuple[int, int]:
    return tc.bottom - tc.top, tc.grid_span


def docx_text(tc) -> str:
    return "".join(t.text or "" for t in tc.iter(qn("w:t")))


def test_docx_tables_match_form_and_values(ret, tmp_path):
    """Word: the three headings, merged cells via cell.merge, labels and numbers in place, borders and 宋体."""
    path = render_docx(ret, tmp_path / "report.docx")
    doc = Document(str(path))
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 2"] == HEADINGS
    assert len(doc.tables) == 3
    for table, t in zip(ret.form.tables, doc.tables, strict=True):
        assert t.style.name == "Table Grid"
        check_grid(ret, table, docx_grid(t), docx_text, docx_span, "docx")
    fonts = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "宋体"
    borders = doc.styles["Table Grid"].element.find(f"{qn('w:tblPr')}/{qn('w:tblBorders')}")
    assert borders is not None and borders.find(qn("w:insideH")).get(qn("w:val")) == "single"


def test_docx_wide_tables_on_landscape_a4(tmp_path):
    """Table 二 sits on portrait A4; Tables 三 (10 columns) and 四 (15 columns) on a landscape A4 section."""
    doc = Document(str(render_docx(read(EXAMPLES / "sample-return-2025.xlsx"), tmp_path / "r.docx")))
    sections = doc.sections
    assert len(sections) == 2
    assert sections[0].orientation == WD_ORIENT.PORTRAIT and sections[0].page_width < sections[0].page_height
    assert sections[1].orientation == WD_ORIENT.LANDSCAPE and sections[1].page_width > sections[1].page_height
    assert round(sections[1].page_width.mm) == 297 and round(sections[1].page_height.mm) == 210
    body = doc.element.body
    # The landscape section's break comes after Table 二 and before the 三 heading.
    order = [el.tag.split("}")[1] for el in body]
    first_table = order.index("tbl")
    sect_break = next(i for i, el in enumerate(body) if el.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None)
    assert first_table < sect_break < order.index("tbl", first_table + 1)
    for t in doc.tables[1:]:  # header rows repeat across pages
        assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None


def test_docx_keeps_hostile_unit_name_as_text(tmp_path):
    """A unit name with markup is stored as plain text in the title and properties."""
    ret = _random(2020, 4)
    ret.unit = Unit(name=HOSTILE)
    doc = Document(str(render_docx(ret, tmp_path / "r.docx")))
    assert doc.paragraphs[0].text.startswith(HOSTILE)
    assert doc.core_properties.title.startswith(HOSTILE)


# --- Markdown --------------------------------------------------------------------------------------------------------


def md_cells(line: str) -> list[str]:
    """Cells of a GFM table row, honouring backslash escapes."""
    assert line.startswith("|") and line.endswith("|")
    cells, cur, i = [], "", 1
    while i < len(line) - 1:
        ch = line[i]
        if ch == "\\":
            cur += line[i + 1]
            i += 2
            continue
        if ch == "|":
            cells.append(cur.strip())
            cur = ""
        else:
            cur += ch
        i += 1
    cells.append(cur.strip())
    return cells


def md_sections(text: str) -> dict[str, list[tuple[str | None, list[list[str]]]]]:
    """Heading -> [(bold caption or None, table rows)]; the delimiter row is checked and dropped."""
    out: dict[str, list] = {}
    heading = caption = None
    rows: list[list[str]] | None = None
    for line in [*text.splitlines(), ""]:
        if line.startswith("## "):
            heading, caption = line[3:], None
            out[heading] = []
        elif line.startswith("**") and line.endswith("**"):
            caption = line[2:-2]
        elif line.startswith("|"):
            if rows is None:
                rows = []
            rows.append(md_cells(line))
        elif rows is not None:
            assert all(re.fullmatch(r"---:?", c) for c in rows[1]), rows[1]
            out[heading].append((caption, [rows[0], *rows[2:]]))
            rows, caption = None, None
    return out


def test_markdown_rows_flatten_paths(ret):
    """Markdown: header paths joined by " / ", row label paths repeated, numbers in the right column."""
    sections = md_sections(render_markdown(ret))
    assert list(sections) == HEADINGS
    for table in ret.form.tables:
        parts = sections[table.title]
        if table.layout == "blocks":
            captions = [lab.text for lab in table.labels if lab.kind == "caption"]
            assert [c for c, _ in parts] == captions
            for caption, rows in parts:
                cells = [c for c in table.cells if c.label_path[0] == caption]
                columns = list(dict.fromkeys(c.label_path[2] for c in cells))
                assert rows[0] == ["信息内容", *columns]
                labels = list(dict.fromkeys(c.label_path[1] for c in cells))
                assert [r[0] for r in rows[1:]] == labels
                for cell in cells:
                    row = rows[1 + labels.index(cell.label_path[1])]
                    assert_number(row[1 + columns.index(cell.label_path[2])], ret, cell, "md")
            continue
        ((caption, rows),) = parts
        assert caption is None
        label_cols = 1 if any(lab.kind == "corner" for lab in table.labels) else 0
        col_paths = [
            c.label_path[len(table.row_paths[table.row_keys[0]]) :] for c in table.cells[: len(table.col_keys)]
        ]
        corner = [lab.text for lab in table.labels if lab.kind == "corner"]
        assert rows[0] == corner + [" / ".join(p) for p in col_paths]
        assert len(rows) == 1 + len(table.row_keys)
        for r, row_key in enumerate(table.row_keys):
            row = rows[1 + r]
            if label_cols:
                assert row[0] == " / ".join(table.row_paths[row_key])
            for c, col_key in enumerate(table.col_keys):
                key = ".".join(p for p in (table.id, row_key, col_key) if p)
                assert_number(row[label_cols + c], ret, ret.form.cell[key], "md")


def test_markdown_example_paths():
    """The documented flattening: 商业企业's full header path and a three-level row path."""
    text = render_markdown(read(EXAMPLES / "sample-return-2025.xlsx"))
    assert "| 申请人情况 / 法人或其他组织 / 商业企业 |" in text
    assert "| 三、本年度办理结果 / （三）不予公开 / 1.属于国家秘密 |" in text
    assert "| 行政复议 / 结果维持 |" in text and "| 行政诉讼 / 复议后起诉 / 总计 |" in text


def test_markdown_escapes_hostile_unit_name():
    """Markup, pipes and emphasis characters in a unit name are backslash-escaped in Markdown."""
    ret = _random(2025, 5)
    ret.unit = Unit(name=HOSTILE)
    first = render_markdown(ret).splitlines()[0]
    assert "<" not in first.replace("\\<", "") and ">" not in first.replace("\\>", "")
    assert "\\|" in first and "\\*" in first and "\\_" in first and "\\`" in first


# --- cell contents ---------------------------------------------------------------------------------------------------


def test_number_formats():
    """Counts whole, 本年增/减 signed, 万元 amounts rounded to 4 places and trimmed."""
    assert format_value(Decimal(12), "count") == "12"
    assert format_value(Decimal(-3), "signed_count") == "-3"
    assert format_value(Decimal(0), "amount", 4) == "0"
    assert format_value(Decimal("12.5000"), "amount", 4) == "12.5"
    assert format_value(Decimal("4.6037"), "amount", 4) == "4.6037"
    assert format_value(Decimal("1.23455"), "amount", 4) == "1.2346"
    assert format_value(Decimal("1E+3"), "amount", 4) == "1000"


def test_unit_note_only_where_label_has_no_unit(tmp_path):
    """2019 采购总金额 (no unit in the official label) gets its form's 万元 note; 2021 本年收费金额（单位：万元） none."""
    note = form_for_year(2020).cell["active.procurement.central.amount"].type.note
    assert note and "万元" in note
    old, new = read(EXAMPLES / "sample-return-2020.xlsx"), read(EXAMPLES / "sample-return-2025.xlsx")
    assert note in render_markdown(old) and note in render_html(old) and note in render_html_fragment(old)
    assert [p.text for p in Document(str(render_docx(old, tmp_path / "o.docx"))).paragraphs].count(note) == 1
    assert "注：" not in render_markdown(new) and "注：" not in render_html(new)


def test_blank_is_not_zero_and_unusable_text_shown():
    """Blank inputs stay empty; totals over only blank inputs stay empty; text entries show as typed."""
    form = form_for_year(2025)
    ret = random_return(form, 2025, random.Random(11))
    for cell in form.table("appeal").cells:
        ret.values.pop(cell.key, None)
    ret.values["apply.new.business"] = Invalid("无", "不是数字")
    ret.no_items.add("appeal")
    appeal = table_grid(form.table("appeal"), ret)
    assert all(c.text == "" for c in appeal.cells() if c.kind == "value")
    apply = {c.key: c.text for c in table_grid(form.table("apply"), ret).cells() if c.key}
    assert apply["apply.new.business"] == "无"
    assert apply["apply.new.total"] == ""  # cannot be computed
    assert apply["apply.carried_in.total"] != ""
    assert TABLE_NONE in render_markdown(ret)
    doc = lxml.html.document_fromstring(render_html(ret))
    assert any(p.text_content() == TABLE_NONE for p in doc.iter("p"))


def test_render_dispatch(tmp_path):
    """render(ret, fmt, path) for the CLI: text formats return or write text; docx needs a path; others refused."""
    ret = read(EXAMPLES / "sample-return-2020.xlsx")
    assert render(ret, "md").startswith("# ")
    out = render(ret, "html", tmp_path / "r.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert render(ret, "docx", tmp_path / "r.docx").stat().st_size > 5000
    with pytest.raises(ValueError):
        render(ret, "docx")
    with pytest.raises(ValueError):
        render(ret, "pdf")


# --- headless Chromium -----------------------------------------------------------------------------------------------


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.chromium
@pytest.mark.parametrize("name", ["sample-return-2025", "sample-return-2020"])
def test_chromium_screenshot(name, tmp_path):
    """The HTML page renders in headless Chromium; the screenshot is kept in tests/artifacts/ for a look."""
    binary = _chromium()
    if binary is None:
        msg = "chromium not installed (apt-get install -y --no-install-recommends chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " (CI=true: Chromium tests must run)")
        pytest.skip(msg)
    ret = read(EXAMPLES / f"{name}.xlsx")
    page = tmp_path / f"{name}.html"
    page.write_text(render_html(ret), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / f"render-{name}.png"
    png.unlink(missing_ok=True)
    subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={png}",
            "--window-size=1400,2000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert png.exists()
    assert _png_size(png) == (1400, 2000)
    assert png.stat().st_size > 50_000  # a blank 1400x2000 page compresses to a few kB
    shutil.copy(page, ARTIFACTS / page.name)

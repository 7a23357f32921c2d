"""What a return carries besides its values, judged as the rules say:
- an input cell in a hidden row or column is HIDDEN-CELLS (how many, the first one);
- a merge that is not the template's own and covers an input cell (a merge of more than one cell) is MERGED-INPUT,
  naming the first such merge in sheet order and the first input it covers;
- tables whose rows moved or whose sheet was renamed are not judged for hidden or merged cells;
- a sheet the template has not is SHEET-ADDED (roll-up sheets in a roll-up, import sheets in an imported workbook are
  the template's), a deleted 校验 is SHEET-MISSING, an unhidden _meta is META-VISIBLE;
- container members: xl/externalLinks/*.xml is EXTERNAL-LINK with their count (xl/connections.xml a data connection),
  vbaProject.bin or Basic/ or Scripts/ is MACROS, ActiveX controls and OLE objects are EMBEDDED-OBJECTS;
- unsafe formulas are listed up to ten, the rest counted; cells far from the tables are STRAY-CELLS.
Judged on pages made to order (many cases) and on templates edited with openpyxl (real files)."""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fillings import form_years
from tests.reading_workbooks import scratch, template
from xltool import layout
from xltool.codes import Code
from xltool.formats.page import Page, SheetFacts
from xltool.forms import Form, Table, a1, col_letter, form_for_year
from xltool.problems import Problem
from xltool.reading import integrity, read, read_page

# --- the rules, written out ------------------------------------------------------------------------------------------


def hidden_inputs(table: Table, rows: set[int], cols: set[int]) -> list:
    """The table's input cells in a hidden row or column, in the table's order."""
    return [c for c in table.cells if c.is_input and (c.row in rows or c.col in cols)]


def merged_input(table: Table, merges: list[tuple[int, int, int, int]], own: set) -> tuple | None:
    """The first merge (in sheet order) that is not the template's own, spans more than one cell and covers an input
    cell; with the first input cell (in the table's order) it covers."""
    for m in merges:
        r0, c0, r1, c1 = m
        if m in own or (r0, c0) == (r1, c1):
            continue
        covered = [c for c in table.cells if c.is_input and r0 <= c.row <= r1 and c0 <= c.col <= c1]
        if covered:
            return m, covered[0]
    return None


def expected_cells(form: Form, facts: dict[str, SheetFacts], own: dict[str, set], skipped: set[str]) -> list[tuple]:
    """(code, sheet, cell, words the message must hold) for the hidden and merged input cells of every table."""
    out = []
    for table in form.tables:
        f = facts.get(table.sheet)
        if f is None or table.sheet in skipped:
            continue
        hidden = hidden_inputs(table, f.hidden_rows, f.hidden_cols)
        if hidden:
            out.append((Code.HIDDEN_CELLS, table.sheet, hidden[0].a1, f"有 {len(hidden)} 个填报格"))
        found = merged_input(table, f.merges, own[table.sheet])
        if found:
            (r0, c0, r1, c1), cell = found
            out.append((Code.MERGED_INPUT, table.sheet, cell.a1, f"{a1(r0, c0)}:{a1(r1, c1)}，含 {cell.a1}"))
    return out


def as_found(found: list[Problem]) -> list[tuple]:
    return [(p.code, p.sheet, p.cell, p.message) for p in found]


def assert_matches(found: list[Problem], expected: list[tuple]) -> None:
    got = as_found(found)
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    for (_, _, _, message), (_, _, _, words) in zip(got, expected, strict=True):
        assert words in message, (message, words)


@functools.cache
def own_merges(year: int) -> dict[str, set]:
    """The merges our template makes on each sheet (never tampering)."""
    return {name: set(f.merges) for name, f in read_page(template(year)).structure.items()}


# --- hidden and merged input cells on pages made to order ------------------------------------------------------------

box = st.tuples(st.integers(0, 35), st.integers(0, 16), st.sampled_from([0, 0, 1, 2, 5]), st.sampled_from([0, 1, 3]))


@st.composite
def sheet_facts(draw, year: int, table: Table) -> SheetFacts:
    own = sorted(own_merges(year)[table.sheet])
    merges = draw(st.lists(st.sampled_from(own), max_size=len(own), unique=True))
    merges += [(r, c, r + dr, c + dc) for r, c, dr, dc in draw(st.lists(box, max_size=3))]
    merges += draw(st.lists(st.sampled_from([(c.row, c.col, c.row, c.col) for c in table.cells]), max_size=2))
    merges = draw(st.permutations(merges))
    rows = draw(st.sets(st.integers(0, 40), max_size=3))
    cols = draw(st.sets(st.integers(0, 20), max_size=4))
    return SheetFacts(hidden_rows=rows, hidden_cols=cols, merges=list(merges))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), year=st.sampled_from(form_years()))
def test_hidden_and_merged_input_cells_are_found_as_the_rules_say(data, year):
    """HIDDEN-CELLS and MERGED-INPUT for exactly the tables the rules name, with the count, merge and cell; the same
    the second time (merges found harmless are remembered), and tables whose rows moved are not judged."""
    form = form_for_year(year)
    facts = {t.sheet: data.draw(sheet_facts(year, t)) for t in form.tables}
    moved = data.draw(st.sets(st.sampled_from([t.sheet for t in form.tables]), max_size=1))
    found = [Problem.of(Code.ROWS_MOVED, "", sheet=s) for s in sorted(moved)]
    names = [layout.GUIDE_SHEET, *(t.sheet for t in form.tables), layout.CHECK_SHEET, layout.META_SHEET]
    page = Page(Path("x.xlsx"), "xlsx", "spreadsheet", names, structure=facts)
    expected = expected_cells(form, facts, own_merges(year), moved)
    for _ in range(2):
        assert_matches(integrity.tampering(page, form, {"kind": "template"}, found), expected)


def test_the_templates_own_merges_are_not_tampering():
    """The blank template of every form, and its merges all listed again, has no hidden or merged input cell."""
    for year in form_years():
        form = form_for_year(year)
        page = read_page(template(year))
        assert integrity.tampering(page, form, {"kind": "template"}, []) == []
        facts = {n: SheetFacts(merges=sorted(m) * 2) for n, m in own_merges(year).items()}
        assert (
            integrity.tampering(Page(Path("x"), "xlsx", "spreadsheet", page.sheet_names, structure=facts), form, {}, [])
            == []
        )


# --- hidden and merged input cells in real files ----------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), year=st.sampled_from(form_years()))
def test_hidden_rows_and_columns_and_merges_in_a_workbook(data, year):
    """A template with rows and columns hidden and cells merged in openpyxl reads with the hidden and merged input
    cells the rules name (judged from the sheet's merges in file order)."""
    form = form_for_year(year)
    wb = openpyxl.load_workbook(template(year))
    added: dict[str, tuple[set, set, set]] = {}
    for table in data.draw(st.lists(st.sampled_from(form.tables), min_size=1, max_size=2, unique_by=lambda t: t.id)):
        ws = wb[table.sheet]
        rows, cols, merges = set(), set(), set()
        for r in data.draw(st.sets(st.integers(0, 30), max_size=2)):
            ws.row_dimensions[r + 1].hidden = True
            rows.add(r)
        for c in data.draw(st.sets(st.integers(0, 16), max_size=2)):
            ws.column_dimensions[col_letter(c)].hidden = True
            cols.add(c)
        taken = {
            (r, c)
            for r0, c0, r1, c1 in own_merges(year)[table.sheet]
            for r in range(r0, r1 + 1)
            for c in range(c0, c1 + 1)
        }
        for r, c, dr, dc in data.draw(st.lists(box, max_size=2)):
            cells = {(i, j) for i in range(r, r + dr + 1) for j in range(c, c + dc + 1)}
            if (dr or dc) and not cells & taken:  # merges do not overlap
                ws.merge_cells(start_row=r + 1, start_column=c + 1, end_row=r + dr + 1, end_column=c + dc + 1)
                merges.add((r, c, r + dr, c + dc))
                taken |= cells
        added[table.sheet] = (rows, cols, merges)
    path = scratch("tampered.xlsx")
    wb.save(path)
    page = read_page(path)
    for sheet, (rows, cols, merges) in added.items():
        f = page.structure[sheet]
        assert rows <= f.hidden_rows and cols <= f.hidden_cols and set(f.merges) == own_merges(year)[sheet] | merges
    expected = expected_cells(form, page.structure, own_merges(year), set())
    codes = (Code.HIDDEN_CELLS, Code.MERGED_INPUT)
    for _ in range(2):
        assert_matches([p for p in read(path).read_problems if p.code in codes], expected)


# --- sheets added, deleted, unhidden ----------------------------------------------------------------------------------

EXTRA_SHEETS = ["另加的表", "Sheet1", *layout.ROLLUP_SHEETS[:3], layout.IMPORT_NOTES_SHEET, layout.PRINTED_SHEET]


@settings(max_examples=200, deadline=None)
@given(
    year=st.sampled_from(form_years()),
    extra=st.lists(st.sampled_from(EXTRA_SHEETS), unique=True),
    drop_check=st.booleans(),
    meta_state=st.sampled_from(["hidden", "veryHidden", "visible", None]),
    kind=st.sampled_from(["template", layout.ROLLUP_KIND]),
    imported=st.booleans(),
    renamed=st.booleans(),
)
def test_added_deleted_and_unhidden_sheets(year, extra, drop_check, meta_state, kind, imported, renamed):
    """SHEET-ADDED names the sheets (five at most) the template has not; a roll-up's sheets and an imported
    workbook's are its own, and a renamed table sheet is reported as renamed, not added; SHEET-MISSING when 校验 is
    gone; META-VISIBLE when _meta is visible."""
    form = form_for_year(year)
    names = [layout.GUIDE_SHEET, *(t.sheet for t in form.tables), layout.CHECK_SHEET, layout.META_SHEET, *extra]
    if drop_check:
        names.remove(layout.CHECK_SHEET)
    found = [Problem.of(Code.SHEET_RENAMED, "", sheet=extra[0])] if renamed and extra else []
    meta = {"kind": kind, **({"printed_sheet": layout.PRINTED_SHEET} if imported else {})}
    states = {layout.META_SHEET: meta_state} if meta_state else {}
    page = Page(Path("x.xlsx"), "xlsx", "spreadsheet", names, structure={}, sheet_states=states)
    own = set(layout.ROLLUP_SHEETS) if kind == layout.ROLLUP_KIND else set()
    own |= {layout.IMPORT_NOTES_SHEET, layout.PRINTED_SHEET} if imported else set()
    added = [n for n in extra if n not in own and not (found and n == extra[0])]
    expected = []
    if added:
        expected.append((Code.SHEET_ADDED, added[0], None, "、".join(added[:5])))
    if drop_check:
        expected.append((Code.SHEET_MISSING, None, None, layout.CHECK_SHEET))
    if meta_state == "visible":
        expected.append((Code.META_VISIBLE, layout.META_SHEET, None, layout.META_SHEET))
    assert_matches(integrity.tampering(page, form, meta, found), expected)


# --- container members ------------------------------------------------------------------------------------------------

MEMBERS = [
    "xl/workbook.xml",
    "xl/worksheets/sheet1.xml",
    "xl/externalLinks/externalLink1.xml",
    "xl/externalLinks/externalLink2.xml",
    "xl/externalLinks/externalLink10.xml",
    "XL/ExternalLinks/externalLink3.xml",
    "Xl/Connections.xml",
    "xl/ActiveX/activeX1.xml",
    "xl/externalLinks/_rels/externalLink1.xml.rels",
    "xl/externalLinksX.bin",
    "xl/connections.xml",
    "xl/connections.xml.rels",
    "xl/vbaProject.bin",
    "xl/VBAPROJECT.BIN",
    "xl/vbaProjectSignature.bin",
    "Basic/Standard/Module1.xml",
    "basic/x.xml",
    "Scripts/python/x.py",
    "xl/activeX/activeX1.xml",
    "xl/embeddings/oleObject1.bin",
    "xl/embedding/x.bin",
    "Object 1/content.xml",
    "Objects/x.xml",
    "xl/media/image1.png",
]


def members_rule(parts: set[str]) -> list[tuple]:
    low = {p.lower() for p in parts}  # xlsx part names ignore letter case (OPC)
    links = sum(1 for p in low if p.startswith("xl/externallinks/") and p.endswith(".xml"))
    connection = "xl/connections.xml" in low
    out = []
    if links or connection:
        words = f"{links} 个外部链接" if links else "数据连接"
        out.append((Code.EXTERNAL_LINK, None, None, words + ("、数据连接" if links and connection else "")))
    if any(p.lower().endswith("vbaproject.bin") or p.startswith(("Basic/", "Scripts/")) for p in parts):
        out.append((Code.MACROS, None, None, "宏"))
    if any(p.startswith(("xl/activex/", "xl/embeddings/")) for p in low) or any(p.startswith("Object ") for p in parts):
        out.append((Code.EMBEDDED_OBJECTS, None, None, "控件或嵌入对象"))
    return out


@settings(max_examples=300, deadline=None)
@given(parts=st.sets(st.sampled_from(MEMBERS)))
def test_container_members_are_judged_by_their_names(parts):
    """External links (counted), a data connection, macros, controls and embedded objects, by the members' names;
    judged alike the second time (the judgement is remembered by the set of names)."""
    page = Page(Path("x.xlsx"), "xlsx", "spreadsheet", [], structure={}, parts=parts)
    for _ in range(2):
        assert_matches(integrity.untrusted_content(page), members_rule(parts))


def test_many_container_members_are_judged_and_not_remembered():
    """A container of hundreds of members is judged the same, and its names are not kept (a hostile file could list
    millions). Looks at the private memo `integrity._PARTS`: there is no public view of what is remembered."""
    parts = {f"xl/media/image{i}.png" for i in range(300)} | {"xl/externalLinks/externalLink1.xml", "xl/vbaProject.bin"}
    page = Page(Path("x.xlsx"), "xlsx", "spreadsheet", [], structure={}, parts=parts)
    for _ in range(2):
        assert_matches(integrity.untrusted_content(page), members_rule(parts))
    assert frozenset(parts) not in integrity._PARTS


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(links=st.integers(0, 3), connection=st.booleans(), macros=st.booleans(), activex=st.booleans())
def test_links_macros_and_objects_in_a_workbook(links, connection, macros, activex):
    """Members added to a template's zip are found in the file read: the number of external links, the connection,
    the macros and the controls."""
    xml = b'<?xml version="1.0"?><x xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
    extra = {f"xl/externalLinks/externalLink{i + 1}.xml": xml for i in range(links)}
    extra |= {"xl/connections.xml": xml} if connection else {}
    extra |= {"xl/vbaProject.bin": b"\x00macro"} if macros else {}
    extra |= {"xl/activeX/activeX1.xml": xml} if activex else {}
    buf = io.BytesIO()
    with zipfile.ZipFile(template(2025)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        for name, data in extra.items():
            dst.writestr(name, data)
    path = scratch("members.xlsx")
    path.write_bytes(buf.getvalue())
    codes = (Code.EXTERNAL_LINK, Code.MACROS, Code.EMBEDDED_OBJECTS)
    found = [p for p in read(path).read_problems if p.code in codes]
    assert_matches(found, members_rule(set(extra)))


# --- formulas that reach outside, far cells ---------------------------------------------------------------------------


@given(counts=st.lists(st.integers(0, 8), min_size=1, max_size=3), stray=st.integers(0, 3))
def test_unsafe_formulas_are_listed_up_to_ten_and_far_cells_counted(counts, stray):
    """Unsafe formulas are listed one by one (sheet, cell, formula) up to ten, the rest counted in one more line;
    a sheet with cells far from the tables is STRAY-CELLS with their count."""
    facts = {
        f"表{i}": SheetFacts(
            unsafe=[(f"A{r + 1}", f'WEBSERVICE("http://x/{r}")') for r in range(n)],
            stray=stray if i == 0 else 0,
            stray_examples=[f"Z{9000 + k}" for k in range(stray)],
        )
        for i, n in enumerate(counts)
    }
    page = Page(Path("x.xlsx"), "xlsx", "spreadsheet", list(facts), structure=facts)
    unsafe = [(name, where, text) for name, f in facts.items() for where, text in f.unsafe]
    expected = [(Code.UNSAFE_FORMULA, name, where, text) for name, where, text in unsafe[:10]]
    if len(unsafe) > 10:
        expected.append((Code.UNSAFE_FORMULA, None, None, f"另有 {len(unsafe) - 10} 处"))
    if stray:
        expected.append((Code.STRAY_CELLS, "表0", "Z9000", f"有 {stray} 个单元格"))
    assert_matches(integrity.untrusted_content(page), expected)
    assert all(
        p.values["formula"].startswith("WEBSERVICE") for p in integrity.untrusted_content(page)[: len(unsafe[:10])]
    )


def test_blank_templates_carry_none_of_these():
    """The blank template of every form reads with none of these problems (so each case above fails for its edit)."""
    codes = {Code.HIDDEN_CELLS, Code.MERGED_INPUT, Code.EXTERNAL_LINK, Code.MACROS, Code.EMBEDDED_OBJECTS}
    for year in form_years():
        assert not codes & {p.code for p in read(template(year)).read_problems}

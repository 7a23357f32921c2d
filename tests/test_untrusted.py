"""Untrusted content in a return: far cells, formulas and error values in input cells, links, macros, tampering.

Each case takes the filled sample return, changes its XML the way a careless or hostile township (or its software)
would, and asserts the code, the place and that no cached formula result is used.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from xltool import layout
from xltool.forms import form_for_year
from xltool.model import Invalid
from xltool.reading import read, read_page
from xltool.sources import ReadError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sample-return-2025.xlsx"
FORM = form_for_year(2025)
NEW = FORM.cell["apply.new.natural_person"]  # 三、依申请公开!D6, an input cell


def sheet_part(name: str) -> str:
    """The zip part of a sheet of the sample (our template writes sheets in order)."""
    names = [layout.GUIDE_SHEET, *(t.sheet for t in FORM.tables), layout.CHECK_SHEET, layout.META_SHEET]
    return f"xl/worksheets/sheet{names.index(name) + 1}.xml"


def mutate(tmp_path: Path, name: str, change: dict | None = None, add: dict | None = None, drop=()) -> Path:
    """A copy of the sample with parts changed (part -> function of its bytes), added or dropped."""
    out = tmp_path / name
    with zipfile.ZipFile(SAMPLE) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = src.read(info.filename)
            if change and info.filename in change:
                data = change[info.filename](data)
            dst.writestr(info.filename, data)
        for part, data in (add or {}).items():
            dst.writestr(part, data)
    return out


def set_cell(a1: str, inner: bytes, attrs: bytes = b""):
    """Replace the content of cell a1 (which exists in the sample) with `inner`."""

    def change(xml: bytes) -> bytes:
        new, n = re.subn(
            rb'<c r="' + a1.encode() + rb'"([^>]*?)(?:/>|>.*?</c>)',
            lambda m: (
                b'<c r="'
                + a1.encode()
                + b'"'
                + re.sub(rb' t="[^"]*"', b"", m.group(1))
                + attrs
                + b">"
                + inner
                + b"</c>"
            ),
            xml,
            count=1,
            flags=re.DOTALL,
        )
        assert n == 1, a1
        return new

    return change


def add_cell(row: int, a1: str, inner: bytes, attrs: bytes = b""):
    """Add a cell in a new row at the end of the sheet data."""

    def change(xml: bytes) -> bytes:
        cell = b'<row r="' + str(row).encode() + b'"><c r="' + a1.encode() + b'"' + attrs + b">" + inner + b"</c></row>"
        return xml.replace(b"</sheetData>", cell + b"</sheetData>", 1)

    return change


def codes(ret, severity: str | None = None) -> list[str]:
    return [p.code for p in ret.check() if severity is None or p.severity == severity]


def problem(ret, code: str):
    found = [p for p in ret.check() if p.code == code]
    assert found, (code, [p.code for p in ret.check()])
    return found[0]


def test_sample_is_clean():
    """The untouched sample has none of the problems below (so each case fails for its one change)."""
    assert not {"STRAY-CELLS", "FORMULA-IN-INPUT", "UNSAFE-FORMULA", "HIDDEN-CELLS", "MERGED-INPUT"} & set(
        codes(read(SAMPLE))
    )


def test_cell_at_the_last_possible_position_is_counted_not_built(tmp_path):
    """A text cell at XFD1048576 (填报说明) is reported as STRAY-CELLS; the sheet read stays small."""
    path = mutate(
        tmp_path,
        "far.xlsx",
        {sheet_part(layout.GUIDE_SHEET): add_cell(1048576, "XFD1048576", b"<is><t>x</t></is>", b' t="inlineStr"')},
    )
    page = read_page(path)
    grid = page.sheet(layout.GUIDE_SHEET)
    assert len(grid) < 100 and max(len(r) for r in grid) < 100
    p = problem(read(path), "STRAY-CELLS")
    assert (p.sheet, p.values["count"], p.values["examples"]) == (layout.GUIDE_SHEET, 1, ["XFD1048576"])


def test_far_cell_is_bounded_in_a_child_process(tmp_path):
    """Reading a return with cells at XFD1048576 and P1048576 stays under 200 MB in a fresh process."""
    path = mutate(
        tmp_path,
        "far2.xlsx",
        {
            sheet_part(layout.GUIDE_SHEET): add_cell(1048576, "XFD1048576", b"<v>1</v>"),
            sheet_part("三、依申请公开"): add_cell(1048576, "P1048576", b"<v>2</v>"),
        },
    )
    script = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from xltool.reading import read
        ret = read({str(path)!r})
        print(sorted({{p.code for p in ret.check()}}))
        # VmHWM: this process's own peak (ru_maxrss would include the parent's memory at fork time)
        status = open("/proc/self/status").read()
        print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
        """
    )
    if not Path("/proc/self/status").exists():
        pytest.skip("measured with Linux /proc")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    found, peak_mb = out.stdout.splitlines()
    assert "STRAY-CELLS" in found and int(peak_mb) < 200


def test_formula_in_input_cell_is_never_its_cached_value(tmp_path):
    """<f>1+1</f><v>7</v> in an input cell: FORMULA-IN-INPUT at that cell, the 7 is not read."""
    path = mutate(tmp_path, "formula.xlsx", {sheet_part(NEW.sheet): set_cell(NEW.a1, b"<f>1+1</f><v>7</v>")})
    ret = read(path)
    value = ret.values[NEW.key]
    assert isinstance(value, Invalid) and value.raw == "=1+1"
    p = problem(ret, "FORMULA-IN-INPUT")
    assert (p.severity, p.sheet, p.cell) == ("error", NEW.sheet, NEW.a1) and "=1+1" in p.message


@pytest.mark.parametrize(
    "formula",
    [
        "cmd|' /C calc'!A0",
        'WEBSERVICE("http://example.com/x")',
        'HYPERLINK("http://x","y")',
        "[1]Sheet1!A1",
        'INDIRECT("A1")',
    ],
)
def test_unsafe_formulas_are_reported_wherever_they_are(tmp_path, formula):
    """DDE, web services, hyperlinks, other workbooks, INDIRECT: UNSAFE-FORMULA, and the input is not read."""
    inner = b"<f>" + formula.replace("&", "&amp;").replace('"', "&quot;").encode() + b"</f><v>5</v>"
    path = mutate(tmp_path, "unsafe.xlsx", {sheet_part(NEW.sheet): set_cell(NEW.a1, inner)})
    ret = read(path)
    p = problem(ret, "UNSAFE-FORMULA")
    assert (p.severity, p.sheet, p.cell) == ("error", NEW.sheet, NEW.a1)
    assert isinstance(ret.values[NEW.key], Invalid)


def test_unsafe_formula_in_an_added_sheet_is_reported(tmp_path):
    """A DDE formula in a sheet nobody reads is still reported (Excel would run it on open)."""
    rels = b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet99.xml"/>'
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1"><f>cmd|\' /C calc\'!A0</f><v>0</v></c></row></sheetData></worksheet>'
    )
    path = mutate(
        tmp_path,
        "added.xlsx",
        {
            "xl/_rels/workbook.xml.rels": lambda x: x.replace(b"</Relationships>", rels + b"</Relationships>"),
            "xl/workbook.xml": lambda x: x.replace(
                b"</sheets>", '<sheet name="附表" sheetId="99" r:id="rId99"/></sheets>'.encode()
            ),
            "[Content_Types].xml": lambda x: x.replace(
                b"</Types>",
                b'<Override PartName="/xl/worksheets/sheet99.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
            ),
        },
        add={"xl/worksheets/sheet99.xml": sheet},
    )
    ret = read(path)
    assert (problem(ret, "UNSAFE-FORMULA").sheet, problem(ret, "SHEET-ADDED").sheet) == ("附表", "附表")


def test_external_links_connections_macros_and_objects(tmp_path):
    """External-link and connection parts are errors; macros and ActiveX/OLE objects are warnings."""
    path = mutate(
        tmp_path,
        "parts.xlsm",
        add={
            "xl/externalLinks/externalLink1.xml": b'<?xml version="1.0"?><externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
            "xl/connections.xml": b'<?xml version="1.0"?><connections xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
            "xl/vbaProject.bin": b"\x00macro",
            "xl/activeX/activeX1.xml": b'<?xml version="1.0"?><ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX"/>',
        },
    )
    ret = read(path)
    severities = {p.code: p.severity for p in ret.check()}
    assert severities["EXTERNAL-LINK"] == "error"
    assert severities["MACROS"] == "warning" and severities["EMBEDDED-OBJECTS"] == "warning"


def test_error_value_in_input_cell_is_invalid_not_blank(tmp_path):
    """#DIV/0! cached in an input cell is an invalid value (parsers read it as blank)."""
    path = mutate(tmp_path, "error.xlsx", {sheet_part(NEW.sheet): set_cell(NEW.a1, b"<v>#DIV/0!</v>", b' t="e"')})
    ret = read(path)
    assert ret.values[NEW.key] == Invalid("#DIV/0!", "是错误值（公式或外部数据出错），不是数字")
    assert problem(ret, "INVALID-VALUE").cell == NEW.a1


def test_hidden_row_and_merged_input_cells(tmp_path):
    """A hidden row over input cells is HIDDEN-CELLS; a merge over input cells is MERGED-INPUT (an error)."""
    row = str(NEW.row + 1).encode()
    merge = f'<mergeCell ref="{NEW.a1}:{FORM.cell["apply.new.business"].a1}"/>'.encode()

    def change(xml: bytes) -> bytes:
        xml = re.sub(rb'<row r="' + row + rb'"', rb'<row r="' + row + rb'" hidden="1"', xml, count=1)
        return re.sub(
            rb'<mergeCells count="(\d+)">',
            lambda m: b'<mergeCells count="' + str(int(m.group(1)) + 1).encode() + b'">' + merge,
            xml,
            count=1,
        )

    ret = read(mutate(tmp_path, "hidden.xlsx", {sheet_part(NEW.sheet): change}))
    assert problem(ret, "HIDDEN-CELLS").cell == NEW.a1
    assert problem(ret, "MERGED-INPUT").severity == "error"


def test_deleted_check_sheet_and_visible_meta(tmp_path):
    """Deleting 校验 is SHEET-MISSING; un-hiding _meta is META-VISIBLE."""
    path = mutate(
        tmp_path,
        "sheets.xlsx",
        {
            "xl/workbook.xml": lambda x: re.sub(
                '<sheet name="校验"[^>]*/>'.encode(), b"", x.replace(b' state="hidden"', b"")
            )
        },
    )
    assert {"SHEET-MISSING", "META-VISIBLE"} <= set(codes(read(path)))


def test_duplicate_zip_members_are_refused(tmp_path):
    """Two parts with one name (which one counts depends on the reader) make the file unreadable: DUPLICATE-PARTS."""
    out = tmp_path / "dup.xlsx"
    with zipfile.ZipFile(SAMPLE) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        with pytest.warns(UserWarning):
            dst.writestr(sheet_part(NEW.sheet), src.read(sheet_part(NEW.sheet)))
    with pytest.raises(ReadError) as err:
        read(out)
    assert err.value.code == "DUPLICATE-PARTS"


def test_huge_unit_name_and_formula_in_unit_field(tmp_path):
    """A 100k-character unit name is cut with TEXT-TRUNCATED; a formula in 填报说明 is FORMULA-IN-INPUT, not read."""
    name_a1 = f"B{layout.UNIT_FIELDS[0][2] + 1}"
    code_a1 = f"B{layout.UNIT_FIELDS[1][2] + 1}"
    long_name = ("镇" * 100_000).encode()
    change = {
        sheet_part(layout.GUIDE_SHEET): lambda x: set_cell(code_a1, b'<f>WEBSERVICE("http://x")</f><v>1234</v>')(
            set_cell(name_a1, b"<is><t>" + long_name + b"</t></is>", b' t="inlineStr"')(x)
        )
    }
    ret = read(mutate(tmp_path, "guide.xlsx", change))
    assert len(ret.unit.name) == 200 and ret.unit.code == ""
    assert problem(ret, "TEXT-TRUNCATED").cell == name_a1
    assert problem(ret, "FORMULA-IN-INPUT").cell == code_a1


def test_formula_in_input_cell_of_an_ods(tmp_path):
    """ODS: a formula in an input cell and a cell a million rows down are reported (streamed, never built)."""
    content = _minimal_ods_content(NEW)
    out = tmp_path / "x.ods"
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content)
        z.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
        )
    page = read_page(out)
    facts = page.structure[NEW.sheet]
    assert facts.formulas == {NEW.a1: "=1+1"} and facts.stray == 1 and facts.stray_examples == ["B1000000"]
    assert len(page.sheet(NEW.sheet)) <= NEW.row + 1


def _minimal_ods_content(cell) -> str:
    """An ods content.xml with one sheet: a formula at `cell`, and one text cell 1,000,000 rows further down."""
    empty_rows = f'<table:table-row table:number-rows-repeated="{cell.row}"><table:table-cell/></table:table-row>'
    row = (
        f'<table:table-row><table:table-cell table:number-columns-repeated="{cell.col}"/>'
        '<table:table-cell table:formula="of:=1+1" office:value-type="float" office:value="7"><text:p>7</text:p>'
        "</table:table-cell></table:table-row>"
    )
    far = (
        '<table:table-row table:number-rows-repeated="999993"><table:table-cell/></table:table-row>'
        '<table:table-row><table:table-cell/><table:table-cell office:value-type="string"><text:p>x</text:p>'
        "</table:table-cell></table:table-row>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>'
        f'<table:table table:name="{cell.sheet}">{empty_rows}{row}{far}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )


def test_annotated_copy_carries_nothing_that_runs(tmp_path):
    """The annotated copy of a return with a DDE formula and macros is an .xlsx with neither."""
    from xltool.checking import check_file
    from xltool.formats.annotated import write_annotated

    inner = b"<f>cmd|' /C calc'!A0</f><v>5</v>"
    path = mutate(
        tmp_path, "bad.xlsm", {sheet_part(NEW.sheet): set_cell(NEW.a1, inner)}, add={"xl/vbaProject.bin": b"\x00"}
    )
    report = check_file(path)
    written = write_annotated(path, report.problems, tmp_path / "out" / "bad（已标注）.xlsm")
    assert written.suffix == ".xlsx"
    with zipfile.ZipFile(written) as z:
        names = z.namelist()
        xml = z.read(sheet_part(NEW.sheet)).decode()
    assert not any("vbaProject" in n or "externalLink" in n for n in names)
    (cell,) = re.findall(rf'<c r="{NEW.a1}"[^>]*>.*?</c>', xml, flags=re.DOTALL)
    assert "<f>" not in cell
    assert "<f>" in xml  # the template's own totals stay formulas


def test_a_sheet_hundreds_of_megabytes_unzipped_is_refused_unread(tmp_path):
    """A table sheet that unzips to 25 MB (a real one is under 100 KB) is TOO-LARGE, refused before it is parsed."""
    import random

    rng = random.Random(5)
    padding = b"".join(b'<c r="Z999"><v>%d</v></c>' % rng.getrandbits(40) for _ in range(700_000))
    path = mutate(
        tmp_path,
        "big.xlsx",
        {
            sheet_part(NEW.sheet): lambda x: x.replace(
                b"<sheetData>", b'<sheetData><row r="999">' + padding + b"</row>", 1
            )
        },
    )
    assert path.stat().st_size < 15 * 1024 * 1024
    with pytest.raises(ReadError) as err:
        read(path)
    assert err.value.code == "TOO-LARGE" and NEW.sheet in err.value.message


@pytest.mark.parametrize("sample", ["sample-return-2025.xlsx", "sample-return-2020.xlsx"])
def test_learnt_and_parsed_sheets_agree(sample, monkeypatch):
    """A sheet read through a learnt skeleton and the same sheet parsed find the same formulas and error values."""
    from xltool.formats import _bounded, _sheetxml
    from xltool.memo import Memo

    monkeypatch.setattr(_bounded, "_KNOWN", {})
    monkeypatch.setattr(_bounded, "_SEEN", Memo(_bounded.MAX_SKELETONS * 8))
    monkeypatch.setattr(_bounded, "_TRIED", Memo(_bounded.MAX_SKELETONS * 8))
    with zipfile.ZipFile(ROOT / "examples" / sample) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        for name in sheets:
            xml = z.read(name)
            if name == sheet_part(NEW.sheet):
                xml = set_cell(NEW.a1, b"<v>#REF!</v>", b' t="e"')(xml)
            parsed = _sheetxml.parse_sheet(xml, _bounded.WINDOW)
            for _ in range(3):
                got = _bounded.scan_sheet(xml, _bounded.WINDOW)
            assert (dict(got.formulas.items()), got.errors) == (dict(parsed.formulas.items()), parsed.errors), name
            assert parsed.formulas or name.endswith(("sheet1.xml", "sheet6.xml"))


def test_annotated_copy_marks_every_cell_of_a_failing_balance(tmp_path):
    """A column imbalance marks that column's 一、二、（七）、四 (not just one cell), in an error colour far from the
    input tint, and a 问题清单 sheet comes first listing every problem with its place."""
    import openpyxl

    from xltool.checking import annotate, check_file

    path = mutate(tmp_path, "broken.xlsx", {sheet_part(NEW.sheet): set_cell(NEW.a1, b"<v>99</v>")})
    report = check_file(path)
    ((_, written, _),) = list(annotate([report], tmp_path / "out"))
    wb = openpyxl.load_workbook(written)
    assert wb.sheetnames[0] == "问题清单"
    listed = [str(row[3].value).split("\n")[0] for row in wb["问题清单"].iter_rows(min_row=4)]  # reference, code
    assert f"{NEW.sheet}!{NEW.a1}" in listed
    balance = next(r for r in report.rules if r.rule.id == "T3-BAL-NATURAL_PERSON")
    assert balance.outcome == "fail" and len(balance.cells) == 4
    for where in balance.cells:
        sheet, _, a1 = where.rpartition("!")
        fill = wb[sheet][a1].fill.fgColor.rgb
        assert fill and fill.upper().endswith("FF7C80"), (where, fill)


def test_ods_input_gets_a_stated_reason_instead_of_a_copy(tmp_path):
    """An .ods return with problems gets no annotated copy but a reason saying so."""
    from xltool.checking import FileReport, annotate
    from xltool.codes import Code
    from xltool.problems import Problem

    report = FileReport(tmp_path / "x.ods", problems=[Problem.of(Code.BLANK_CELL, "空白")])
    ((_, written, reason),) = list(annotate([report], tmp_path / "out"))
    assert written is None and ".xlsx" in reason

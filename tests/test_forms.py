"""The form files (templates/gov-info-*.yaml, loaded by xltool.forms) match the official tables.

Every expected label, merge range and row count below is transcribed by hand from
shared/spec/official-format.md (§2 headings, §3 Table 二, §4 Table 三, §5 Table 四, §6 rules, §7 differences),
never read from the YAML, so a wrong character in a form file makes a test fail.

Merge ranges are written as the spec writes them, relative to the official table (A1 = the table's first row and
first column). The form puts that first row at sheet row index forms.TABLE_ROW (0-based); `sheet_range` converts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from xltool import forms
from xltool import rules as expr

VERSIONS = ["2019", "2021"]

# --- helpers ---------------------------------------------------------------------------------------------------------


def form(version: str) -> forms.Form:
    by_version = {f.version: f for f in forms.all_forms()}
    return by_version[version]


def table(version: str, number: str) -> forms.Table:
    return next(t for t in form(version).tables if t.number == number)


def _ref(a1: str) -> tuple[int, int]:
    match = re.fullmatch(r"([A-Z])(\d+)", a1)
    assert match, a1
    return forms.TABLE_ROW + int(match[2]) - 1, ord(match[1]) - ord("A")


def sheet_range(a1: str) -> tuple[int, int, int, int]:
    """'B8:B15' (1-based, relative to the table) -> 0-based sheet (first_row, first_col, last_row, last_col)."""
    first, _, last = a1.partition(":")
    (r0, c0), (r1, c1) = _ref(first), _ref(last or first)
    return r0, c0, r1, c1


def span(label: forms.Label) -> tuple[int, int, int, int]:
    return label.first_row, label.first_col, label.last_row, label.last_col


def labels(t: forms.Table, *kinds: str) -> list[forms.Label]:
    """Labels of the given kinds in reading order (top to bottom, then left to right)."""
    return sorted((lab for lab in t.labels if lab.kind in kinds), key=lambda lab: (lab.first_row, lab.first_col))


def placed(t: forms.Table, *kinds: str) -> list[tuple[tuple[int, int, int, int], str]]:
    return [(span(lab), lab.text) for lab in labels(t, *kinds)]


def expected(pairs: list[tuple[str, str]]) -> list[tuple[tuple[int, int, int, int], str]]:
    return sorted(((sheet_range(a1), text) for a1, text in pairs), key=lambda p: (p[0][0], p[0][1]))


def label_named(t: forms.Table, text: str) -> forms.Label:
    found = [lab for lab in t.labels if lab.text == text]
    assert len(found) == 1, f"{t.id}: {len(found)} labels read {text!r}"
    return found[0]


def cell_at(t: forms.Table, a1: str) -> forms.Cell:
    row, col = _ref(a1)
    found = [c for c in t.cells if (c.row, c.col) == (row, col)]
    assert len(found) == 1, f"{t.id}!{a1}: {len(found)} cells"
    return found[0]


def cells_in(t: forms.Table, cols: str, rows: range) -> set[str]:
    """Keys of the cells in the given column letters and table-relative rows."""
    return {cell_at(t, f"{col}{row}").key for col in cols for row in rows}


def all_labels() -> list[tuple[str, forms.Label]]:
    return [(f.version, lab) for f in forms.all_forms() for t in f.tables for lab in t.labels]


def yaml_data(version: str) -> dict:
    return yaml.safe_load(form(version).path.read_text(encoding="utf-8"))


def write_form(tmp_path: Path, data: dict, name: str = "broken.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- transcribed from official-format.md -------------------------------------------------------------------------

TABLE_TITLES = {  # §2
    "二": "二、主动公开政府信息情况",
    "三": "三、收到和处理政府信息公开申请情况",
    "四": "四、政府信息公开行政复议、行政诉讼情况",
}

CHANGE = "本年增/减"  # ASCII slash (§3)
FEE_AMOUNT = "本年收费金额（单位：万元）"  # full-width colon (§3.2)

# §3.1 / §3.2: (caption, value column headers, row labels) per block, in order.
TABLE_2 = {
    "2019": [
        ("第二十条第（一）项", ["本年新制作数量", "本年新公开数量", "对外公开总数量"], ["规章", "规范性文件"]),
        ("第二十条第（五）项", ["上一年项目数量", CHANGE, "处理决定数量"], ["行政许可", "其他对外管理服务事项"]),
        ("第二十条第（六）项", ["上一年项目数量", CHANGE, "处理决定数量"], ["行政处罚", "行政强制"]),
        ("第二十条第（八）项", ["上一年项目数量", CHANGE], ["行政事业性收费"]),
        ("第二十条第（九）项", ["采购项目数量", "采购总金额"], ["政府集中采购"]),
    ],
    "2021": [
        ("第二十条第（一）项", ["本年制发件数", "本年废止件数", "现行有效件数"], ["规章", "行政规范性文件"]),
        ("第二十条第（五）项", ["本年处理决定数量"], ["行政许可"]),
        ("第二十条第（六）项", ["本年处理决定数量"], ["行政处罚", "行政强制"]),
        ("第二十条第（八）项", [FEE_AMOUNT], ["行政事业性收费"]),
    ],
}

# The money column of Table 二 per version (§3.1 采购总金额, §3.2 本年收费金额（单位：万元）).
AMOUNT_HEADER = {"2019": "采购总金额", "2021": FEE_AMOUNT}

T3_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"

T3_HEADER = [  # §4.1
    ("A1:C3", T3_NOTE),
    ("D1:J1", "申请人情况"),
    ("D2:D3", "自然人"),
    ("E2:I2", "法人或其他组织"),
    ("J2:J3", "总计"),
    ("E3", "商业企业"),
    ("F3", "科研机构"),
    ("G3", "社会公益组织"),
    ("H3", "法律服务机构"),
    ("I3", "其他"),
]

T3_ROWS_COMMON = [  # §4.2, rows 4-23
    ("A4:C4", "一、本年新收政府信息公开申请数量"),
    ("A5:C5", "二、上年结转政府信息公开申请数量"),
    ("B6:C6", "（一）予以公开"),
    ("B7:C7", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    ("B8:B15", "（三）不予公开"),
    ("C8", "1.属于国家秘密"),
    ("C9", "2.其他法律行政法规禁止公开"),
    ("C10", "3.危及“三安全一稳定”"),
    ("C11", "4.保护第三方合法权益"),
    ("C12", "5.属于三类内部事务信息"),
    ("C13", "6.属于四类过程性信息"),
    ("C14", "7.属于行政执法案卷"),
    ("C15", "8.属于行政查询事项"),
    ("B16:B18", "（四）无法提供"),
    ("C16", "1.本机关不掌握相关政府信息"),
    ("C17", "2.没有现成信息需要另行制作"),
    ("C18", "3.补正后申请内容仍不明确"),
    ("B19:B23", "（五）不予处理"),
    ("C19", "1.信访举报投诉类申请"),
    ("C20", "2.重复申请"),
    ("C21", "3.要求提供公开出版物"),
    ("C22", "4.无正当理由大量反复申请"),
    ("C23", "5.要求行政机关确认或重新出具已获取信息"),
]

OTHER_1_2021 = "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"
OTHER_2_2021 = "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"

T3_ROWS = {
    "2019": [
        *T3_ROWS_COMMON,
        ("A6:A25", "三、本年度办理结果"),
        ("B24:C24", "（六）其他处理"),
        ("B25:C25", "（七）总计"),
        ("A26:C26", "四、结转下年度继续办理"),
    ],
    "2021": [
        *T3_ROWS_COMMON,
        ("A6:A27", "三、本年度办理结果"),
        ("B24:B26", "（六）其他处理"),
        ("C24", OTHER_1_2021),
        ("C25", OTHER_2_2021),
        ("C26", "3.其他"),
        ("B27:C27", "（七）总计"),
        ("A28:C28", "四、结转下年度继续办理"),
    ],
}

# Table-relative row numbers of Table 三 per version (§4.2): first result row, （七）总计, 四、结转.
T3_RESULT_TOTAL_ROW = {"2019": 25, "2021": 27}
T3_CARRIED_OVER_ROW = {"2019": 26, "2021": 28}
T3_DATA_ROWS = {"2019": 23, "2021": 25}
T3_RESULT_SPAN = {"2019": 20, "2021": 22}
T3_DATA_COLS = "DEFGHIJ"
T3_PART_COLS = "DEFGHI"  # everything but 总计

RESULTS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
T4_HEADER = [  # §5
    ("A1:E1", "行政复议"),
    ("F1:O1", "行政诉讼"),
    ("A2:A3", "结果维持"),
    ("B2:B3", "结果纠正"),
    ("C2:C3", "其他结果"),
    ("D2:D3", "尚未审结"),
    ("E2:E3", "总计"),
    ("F2:J2", "未经复议直接起诉"),
    ("K2:O2", "复议后起诉"),
    *zip(("F3", "G3", "H3", "I3", "J3"), RESULTS, strict=False),
    *zip(("K3", "L3", "M3", "N3", "O3"), RESULTS, strict=False),
]
T4_GROUPS = {"A": "BCDE", "F": "GHIJ", "K": "LMNO"}  # first column of each group -> the rest; the last is 总计

LEVEL_OF = {"error": "逻辑性", "warning": "合理性"}
ASCII_FORBIDDEN = "():,"


# --- forms and tables ------------------------------------------------------------------------------------------------


def test_exactly_the_two_official_versions_are_loaded():
    """Both official formats (2019 试行, 2021) load, ordered by their first report year."""
    assert [f.version for f in forms.all_forms()] == ["2019", "2021"]


@pytest.mark.parametrize(
    ("version", "name", "notice"),
    [
        ("2019", "中华人民共和国政府信息公开工作年度报告格式（试行）", "国办公开办函〔2019〕60号"),
        ("2021", "中华人民共和国政府信息公开工作年度报告格式", "国办公开办函〔2021〕30号"),
    ],
)
def test_form_name_and_notice(version, name, notice):
    """Each form carries the exact official format name and issuing notice number."""
    assert (form(version).name, form(version).notice) == (name, notice)


@pytest.mark.parametrize("version", VERSIONS)
def test_tables_are_二_三_四_with_official_titles(version):
    """Each form has Tables 二, 三, 四 in order, titled with the exact section headings."""
    assert [(t.number, t.title) for t in form(version).tables] == list(TABLE_TITLES.items())


@pytest.mark.parametrize(
    ("year", "version"), [(2019, "2019"), (2020, "2019"), (2021, "2021"), (2022, "2021"), (2026, "2021")]
)
def test_form_for_year(year, version):
    """Report years 2019-2020 use the 2019 format and 2021 onward the 2021 format."""
    assert forms.form_for_year(year).version == version


def test_no_form_before_2019():
    """A report year before the unified format (2018) is refused with a FormError."""
    with pytest.raises(forms.FormError, match="2018"):
        forms.form_for_year(2018)


# --- Table 二 --------------------------------------------------------------------------------------------------------


def table_2_blocks(t: forms.Table) -> list[tuple[str, list[str], list[str]]]:
    """Table 二 read back from its labels as (caption, value headers, row labels) per block."""
    blocks: list[tuple[str, list[str], list[str]]] = []
    for lab in labels(t, "caption", "header", "row"):
        if lab.kind == "caption":
            blocks.append((lab.text, [], []))
        elif lab.kind == "header" and lab.first_col > 0:
            blocks[-1][1].append(lab.text)
        elif lab.kind == "row":
            blocks[-1][2].append(lab.text)
    return blocks


@pytest.mark.parametrize("version", VERSIONS)
def test_table_2_captions_headers_and_rows(version):
    """Table 二 has exactly the official block captions, value headers and row labels, in order."""
    assert table_2_blocks(table(version, "二")) == TABLE_2[version]


@pytest.mark.parametrize("version", VERSIONS)
def test_table_2_block_layout(version):
    """Each Table 二 block is a full-width caption row, a 信息内容 header row, then its data rows, with no gaps."""
    t = table(version, "二")
    row = forms.TABLE_ROW
    for caption, headers, rows in TABLE_2[version]:
        cap = next(lab for lab in t.labels if lab.kind == "caption" and lab.text == caption)
        assert span(cap) == (row, 0, row, t.width - 1)
        head = labels(t, "header")
        assert [lab.text for lab in head if lab.first_row == row + 1 and lab.first_col == 0] == ["信息内容"]
        value_heads = [lab for lab in head if lab.first_row == row + 1 and lab.first_col > 0]
        assert [lab.text for lab in value_heads] == headers
        for i, text in enumerate(rows):
            data_row = row + 2 + i
            assert [lab.text for lab in labels(t, "row") if lab.first_row == data_row] == [text]
            cells = sorted((c for c in t.cells if c.row == data_row), key=lambda c: c.col)
            assert [c.col for c in cells] == [lab.first_col for lab in value_heads], f"{text}: cells under headers"
            assert [c.label_path for c in cells] == [(caption, text, h) for h in headers]
        row += 2 + len(rows)
    assert max(lab.last_col for lab in t.labels) == t.width - 1


def test_table_2_version_differences():
    """2019 has 第（九）项 政府集中采购 and 2021 does not; 2021 第（五）项 has only 行政许可."""
    captions = {v: [lab.text for lab in labels(table(v, "二"), "caption")] for v in VERSIONS}
    assert "第二十条第（九）项" in captions["2019"]
    assert "第二十条第（九）项" not in captions["2021"]
    assert "政府集中采购" not in [lab.text for lab in table("2021", "二").labels]
    blocks_2021 = {caption: rows for caption, _, rows in table_2_blocks(table("2021", "二"))}
    assert blocks_2021["第二十条第（五）项"] == ["行政许可"]


def test_table_2_special_characters():
    """本年增/减 uses an ASCII slash and the 2021 fee header uses a full-width colon and parentheses."""
    changes = [lab.text for lab in table("2019", "二").labels if lab.text == CHANGE]
    assert len(changes) == 3  # the （五）（六）（八） headers
    assert all("\u002f" in text and "\uff0f" not in text for text in changes)
    fee = label_named(table("2021", "二"), FEE_AMOUNT).text
    assert [ch for ch in fee if not ch.isalnum()] == ["\uff08", "\uff1a", "\uff09"]


# --- Table 三 --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_table_3_corner_note_text(version):
    """The 勾稽 note sits in the corner with full-width （）：， exactly as printed."""
    [corner] = labels(table(version, "三"), "corner")
    assert corner.text == T3_NOTE
    assert corner.text[0] == "\uff08" and corner.text[-1] == "\uff09"
    assert corner.text.count("\uff1a") == 1 and corner.text.count("\uff0c") == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_table_3_header_labels_and_merges(version):
    """Table 三 corner and header labels have the official texts and merge ranges (A1:C3, D1:J1, D2:D3, ...)."""
    assert placed(table(version, "三"), "corner", "header") == expected(T3_HEADER)


@pytest.mark.parametrize("version", VERSIONS)
def test_table_3_row_labels_in_order(version):
    """Table 三 row labels read top to bottom, left to right, are exactly the official ones."""
    got = [text for _, text in placed(table(version, "三"), "row")]
    assert got == [text for _, text in expected(T3_ROWS[version])]


@pytest.mark.parametrize("version", VERSIONS)
def test_table_3_row_label_merges(version):
    """Every Table 三 row label covers exactly the official merge range."""
    assert placed(table(version, "三"), "row") == expected(T3_ROWS[version])


@pytest.mark.parametrize("version", VERSIONS)
def test_table_3_result_block_span(version):
    """三、本年度办理结果 is merged down column A over 20 rows (2019) or 22 rows (2021)."""
    lab = label_named(table(version, "三"), "三、本年度办理结果")
    assert (lab.first_col, lab.last_col) == (0, 0)
    assert lab.last_row - lab.first_row + 1 == T3_RESULT_SPAN[version]


@pytest.mark.parametrize(
    ("version", "text", "a1"),
    [(v, "（三）不予公开", "B8:B15") for v in VERSIONS]
    + [(v, "（四）无法提供", "B16:B18") for v in VERSIONS]
    + [(v, "（五）不予处理", "B19:B23") for v in VERSIONS]
    + [("2019", "（六）其他处理", "B24:C24"), ("2021", "（六）其他处理", "B24:B26")],
)
def test_table_3_group_merges_in_column_b(version, text, a1):
    """The （三）（四）（五）（六） group labels are merged in column B over their sub-rows."""
    assert span(label_named(table(version, "三"), text)) == sheet_range(a1)


@pytest.mark.parametrize("version", VERSIONS)
def test_table_3_data_rows_and_columns(version):
    """Table 三 has 23 (2019) or 25 (2021) contiguous data rows from row 4, each with numbers in D..J."""
    t = table(version, "三")
    first_row, _ = _ref("A4")
    rows = sorted({c.row for c in t.cells})
    assert rows == list(range(first_row, first_row + T3_DATA_ROWS[version]))
    for row in rows:
        assert sorted(c.col for c in t.cells if c.row == row) == list(range(3, 10))
    assert t.header_rows == 3 and t.width == 10


def test_table_3_character_details():
    """Curly quotes in “三安全一稳定” and 、 (U+3001) in the 2021 （六） labels, never the ASCII or ， forms."""
    for version in VERSIONS:
        text = label_named(table(version, "三"), "3.危及“三安全一稳定”").text
        assert "\u201c三安全一稳定\u201d" in text and '"' not in text
    for text in (OTHER_1_2021, OTHER_2_2021):
        label = label_named(table("2021", "三"), text).text
        assert label.count("\u3001") == 1 and "\uff0c" not in label


@pytest.mark.parametrize("version", VERSIONS)
def test_table_3_cell_label_paths(version):
    """A Table 三 number is described by its row labels (left to right) then its column headers (top down)."""
    t = table(version, "三")
    rows, heads = labels(t, "row"), labels(t, "header")
    for c in t.cells:
        row_path = [lab.text for lab in rows if lab.first_row <= c.row <= lab.last_row]
        col_path = [lab.text for lab in heads if lab.first_col <= c.col <= lab.last_col]
        assert c.label_path == tuple(row_path + col_path), c.key


# --- Table 四 --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_table_4_header_labels_and_merges(version):
    """Table 四 has exactly the official header texts and merges (A1:E1, F1:O1, A2:A3..E2:E3, F2:J2, K2:O2)."""
    assert placed(table(version, "四"), "corner", "header", "row", "caption") == expected(T4_HEADER)


@pytest.mark.parametrize("version", VERSIONS)
def test_table_4_fifteen_columns(version):
    """Table 四 has one data row of 15 numbers whose headers are 结果维持..总计 in three groups."""
    t = table(version, "四")
    assert sorted((c.row, c.col) for c in t.cells) == [_ref(f"{col}4") for col in "ABCDEFGHIJKLMNO"]
    bottom = [lab for lab in labels(t, "header") if lab.last_row == _ref("A3")[0]]
    assert [lab.text for lab in sorted(bottom, key=lambda lab: lab.first_col)] == list(RESULTS) * 3
    groups = ["行政复议"] * 5 + ["行政诉讼 / 未经复议直接起诉"] * 5 + ["行政诉讼 / 复议后起诉"] * 5
    cells = sorted(t.cells, key=lambda c: c.col)
    assert [" / ".join(c.label_path[:-1]) for c in cells] == groups
    assert [c.label_path[-1] for c in cells] == list(RESULTS) * 3


# --- all labels ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "label"), all_labels(), ids=lambda x: x if isinstance(x, str) else x.text)
def test_label_text_is_clean(version, label):
    """No label uses ASCII ( ) : , (the official form is full-width) or contains whitespace."""
    assert not set(label.text) & set(ASCII_FORBIDDEN), label.text
    assert label.text == label.text.strip() and not re.search(r"\s", label.text), repr(label.text)
    assert label.kind in {"title", "caption", "header", "row", "corner"}


@pytest.mark.parametrize("version", VERSIONS)
def test_labels_and_cells_do_not_overlap(version):
    """Within a table no two labels and no label and number cell occupy the same sheet cell."""
    for t in form(version).tables:
        seen: dict[tuple[int, int], str] = {}
        for lab in t.labels:
            assert lab.first_row <= lab.last_row and lab.first_col <= lab.last_col, lab
            for r in range(lab.first_row, lab.last_row + 1):
                for c in range(lab.first_col, lab.last_col + 1):
                    assert (r, c) not in seen, f"{t.id}: {lab.text} overlaps {seen[(r, c)]}"
                    seen[(r, c)] = lab.text
        for cell in t.cells:
            assert (cell.row, cell.col) not in seen, f"{cell.key} under label {seen.get((cell.row, cell.col))}"
            seen[(cell.row, cell.col)] = cell.key


# --- cells -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_cell_keys_unique(version):
    """Every cell key (input or total) is unique within a form."""
    keys = [c.key for c in form(version).cells]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    ("version", "key", "number", "a1"),
    [
        *[(v, "apply.new.natural_person", "三", "D4") for v in VERSIONS],
        *[(v, "apply.carried_over.total", "三", f"J{T3_CARRIED_OVER_ROW[v]}") for v in VERSIONS],
        *[(v, "apply.result_total.total", "三", f"J{T3_RESULT_TOTAL_ROW[v]}") for v in VERSIONS],
        *[(v, "appeal.review.total", "四", "E4") for v in VERSIONS],
        *[(v, "appeal.after_review.pending", "四", "N4") for v in VERSIONS],
        ("2019", "apply.result.other.natural_person", "三", "D24"),
        ("2021", "apply.result.other.no_correction.natural_person", "三", "D24"),
        ("2021", "apply.result.other.other.other", "三", "I26"),
    ],
)
def test_stable_keys_at_official_positions(version, key, number, a1):
    """Keys that saved returns depend on exist and sit at the official table position."""
    assert form(version).cell[key].key == cell_at(table(version, number), a1).key


@pytest.mark.parametrize(
    ("version", "present", "absent"),
    [
        ("2019", "active.procurement.central.amount", "active.fees.admin_fee.amount"),
        ("2021", "active.fees.admin_fee.amount", "active.procurement.central.amount"),
    ],
)
def test_table_2_money_keys(version, present, absent):
    """2019 keeps its procurement amount key and 2021 its fee amount key, and not the other version's."""
    keys = form(version).cell
    assert present in keys and absent not in keys


def expected_type(version: str, cell: forms.Cell) -> tuple[str, int, str | None]:
    if cell.table == "active" and cell.label_path[-1] == AMOUNT_HEADER[version]:
        return "amount", 4, "万元"
    if cell.label_path[-1] == CHANGE:
        return "signed_count", 0, None
    return "count", 0, None


@pytest.mark.parametrize("version", VERSIONS)
def test_cell_types(version):
    """Money cells are amounts in 万元 with 4 places, 2019 本年增/减 is signed, everything else a whole count."""
    got = {c.key: (c.type.name, c.type.places, c.type.unit) for c in form(version).cells}
    assert got == {c.key: expected_type(version, c) for c in form(version).cells}
    amount_key = {"2019": "active.procurement.central.amount", "2021": "active.fees.admin_fee.amount"}[version]
    assert got[amount_key] == ("amount", 4, "万元")
    signed = [k for k, (name, _, _) in got.items() if name == "signed_count"]
    assert len(signed) == (5 if version == "2019" else 0)  # (五)×2, (六)×2, (八)×1


def total_inputs(version: str, t: forms.Table, cell: forms.Cell) -> set[str] | None:
    """The input keys a total adds up according to §6 R3/R4/R5, or None if the cell is an input."""
    if t.number == "三":
        last_result = T3_RESULT_TOTAL_ROW[version] - 1
        results = range(6, last_result + 1)
        total_row = _ref(f"A{T3_RESULT_TOTAL_ROW[version]}")[0]
        col_letter = forms.col_letter(cell.col)
        if cell.row == total_row:
            cols = T3_PART_COLS if col_letter == "J" else col_letter
            return cells_in(t, cols, results)
        if col_letter == "J":
            return cells_in(t, T3_PART_COLS, [cell.row - forms.TABLE_ROW + 1])
    if t.number == "四":
        for first, rest in T4_GROUPS.items():
            if forms.col_letter(cell.col) == rest[-1]:
                return cells_in(t, first + rest[:-1], [4])
    return None


@pytest.mark.parametrize("version", VERSIONS)
def test_totals_are_formulas_and_everything_else_is_input(version):
    """Table 三 J column and （七）总计 row and Table 四 总计 columns are totals; all other cells are inputs."""
    f = form(version)
    for t in f.tables:
        for c in t.cells:
            is_total = total_inputs(version, t, c) is not None
            assert c.is_input is not is_total, f"{c.key} ({c.a1})"
            assert (c.defined_by is not None) is is_total, c.key
    assert len(f.cells) - len(f.inputs) == {"2019": 23 + 6 + 3, "2021": 25 + 6 + 3}[version]


@pytest.mark.parametrize("version", VERSIONS)
def test_totals_add_up_the_right_inputs(version):
    """Each total's formula, followed down to inputs, adds exactly the cells the spec's arithmetic names."""
    f = form(version)
    rule_by_id = {r.id: r for r in f.rules}
    for t in f.tables:
        for c in t.cells:
            want = total_inputs(version, t, c)
            if want is None:
                continue
            assert rule_by_id[c.defined_by].defines == c.key
            assert set(f.input_closure([c.key])) == want, c.key


# --- rules -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_rule_ids_unique(version):
    """Every rule id occurs once in a form."""
    ids = [r.id for r in form(version).rules]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("version", VERSIONS)
def test_rule_metadata(version):
    """Rules have a Chinese title, severity error or warning, and level 逻辑性 (error) or 合理性 (warning)."""
    for r in form(version).rules:
        assert re.search(r"[\u4e00-\u9fff]", r.title), r.id
        assert r.severity in LEVEL_OF, r.id
        assert r.level == LEVEL_OF[r.severity], r.id


@pytest.mark.parametrize("version", VERSIONS)
def test_balance_rule_for_every_column(version):
    """The printed 勾稽 rule 一 + 二 = 三（七）总计 + 四 is an error rule T3-BAL-… for each of the 7 columns."""
    f, t = form(version), table(version, "三")
    balance = [r for r in f.rules if r.id.startswith("T3-BAL-")]
    assert len(balance) == 7
    by_refs = {frozenset(expr.refs(r.node)): r for r in balance}
    for col in T3_DATA_COLS:
        left = {cell_at(t, f"{col}4").key, cell_at(t, f"{col}5").key}
        right = {
            cell_at(t, f"{col}{T3_RESULT_TOTAL_ROW[version]}").key,
            cell_at(t, f"{col}{T3_CARRIED_OVER_ROW[version]}").key,
        }
        rule = by_refs[frozenset(left | right)]
        assert isinstance(rule.node, expr.Compare) and rule.node.op == "=="
        sides = {frozenset(expr.refs(rule.node.left)), frozenset(expr.refs(rule.node.right))}
        assert sides == {frozenset(left), frozenset(right)}, rule.id
        assert rule.severity == "error" and rule.defines is None


# --- broken form files -----------------------------------------------------------------------------------------------

RULE_POLICY = {"level": "逻辑性", "tolerance": 0, "blank": "zero"}  # every rule declares these explicitly


def test_unmodified_copy_loads(tmp_path):
    """A faithful copy of a form file loads (so the broken-file tests below fail for their one change only)."""
    copy = forms.load_form(write_form(tmp_path, yaml_data("2021"), "copy.yaml"))
    assert [c.key for c in copy.cells] == [c.key for c in form("2021").cells]
    assert [r.id for r in copy.rules] == [r.id for r in form("2021").rules]


def test_unknown_key_in_expression_is_named(tmp_path):
    """A rule naming a cell key that does not exist fails with a FormError naming the file, rule and key."""
    data = yaml_data("2021")
    data["rules"].append(
        {"id": "X-UNKNOWN", "title": "坏规则", "expr": "apply.new.nobody == 0", "severity": "error", **RULE_POLICY}
    )
    with pytest.raises(forms.FormError) as err:
        forms.load_form(write_form(tmp_path, data))
    assert all(part in str(err.value) for part in ("broken.yaml", "X-UNKNOWN", "apply.new.nobody")), err.value


def test_duplicate_defines_is_named(tmp_path):
    """Two rules defining the same total fail with a FormError naming the total and both rules."""
    data = yaml_data("2021")
    data["rules"].append(
        {
            "id": "X-DUP",
            "title": "重复定义",
            "expr": "apply.new.total == apply.new.natural_person",
            "defines": "apply.new.total",
            "severity": "error",
            **RULE_POLICY,
        }
    )
    with pytest.raises(forms.FormError) as err:
        forms.load_form(write_form(tmp_path, data))
    assert all(part in str(err.value) for part in ("X-DUP", "apply.new.total", "T3-ROWSUM-NEW")), err.value


def test_defining_rule_must_be_total_equals_formula(tmp_path):
    """A rule whose defines does not match its left side fails with a FormError naming the total."""
    data = yaml_data("2021")
    data["rules"].append(
        {
            "id": "X-SHAPE",
            "title": "写法错误",
            "expr": "appeal.review.upheld <= appeal.review.corrected",
            "defines": "appeal.review.upheld",
            "severity": "error",
            **RULE_POLICY,
        }
    )
    with pytest.raises(forms.FormError, match=r"appeal\.review\.upheld"):
        forms.load_form(write_form(tmp_path, data))


def test_unknown_cell_type_is_named(tmp_path):
    """A column with an unknown type fails with a FormError naming the type."""
    data = yaml_data("2019")
    data["tables"][0]["blocks"][0]["columns"][0]["type"] = "money"
    with pytest.raises(forms.FormError, match="money"):
        forms.load_form(write_form(tmp_path, data))


def test_unknown_layout_is_named(tmp_path):
    """A table with an unknown layout fails with a FormError naming the table and layout."""
    data = yaml_data("2019")
    data["tables"][2]["layout"] = "grid"
    with pytest.raises(forms.FormError) as err:
        forms.load_form(write_form(tmp_path, data))
    assert "appeal" in str(err.value) and "grid" in str(err.value), err.value


def test_duplicate_rule_id_is_refused(tmp_path):
    """Two rules with the same id fail with a FormError naming the file and the duplication."""
    data = yaml_data("2021")
    data["rules"].append(dict(next(r for r in data["rules"] if r["id"] == "T4-WITHOUT-APPLICATION")))
    with pytest.raises(forms.FormError) as err:
        forms.load_form(write_form(tmp_path, data))
    assert "broken.yaml" in str(err.value) and "重复" in str(err.value), err.value


def test_missing_severity_names_file_path_and_field(tmp_path):
    """A rule without `severity` is refused with `file: rules[N]（id）.severity 缺失`, not a KeyError."""
    data = yaml_data("2021")
    del data["rules"][3]["severity"]
    with pytest.raises(forms.FormError) as err:
        forms.load_form(write_form(tmp_path, data, "gov-info-2026.yaml"))
    assert str(err.value).startswith("gov-info-2026.yaml: rules[3]") and "severity 缺失" in str(err.value), err.value


def test_misspelt_enum_value_is_refused(tmp_path):
    """`blank: zeros` (a typo) is an error naming the allowed values, never a silent default."""
    data = yaml_data("2021")
    data["rules"][0]["blank"] = "zeros"
    with pytest.raises(forms.FormError) as err:
        forms.load_form(write_form(tmp_path, data))
    assert "rules[0]" in str(err.value) and "blank" in str(err.value) and "'zero'" in str(err.value), err.value


def test_unknown_field_is_refused(tmp_path):
    """An unknown key (e.g. `severty`) is an error naming it."""
    data = yaml_data("2019")
    data["rules"][1]["severty"] = "error"
    data["tables"][1]["colums"] = []
    with pytest.raises(forms.FormError) as err:
        forms.load_form(write_form(tmp_path, data))
    text = str(err.value)
    assert "rules[1]" in text and "severty 是不认识的字段" in text and "tables[1]（apply）.colums" in text, text


def test_unknown_guide_placeholder_is_refused(tmp_path):
    """A 填报须知 line with an unknown {placeholder} is refused at load, not when a template is written."""
    data = yaml_data("2021")
    data["guide"][0] += "{unit}"
    with pytest.raises(forms.FormError, match=r"guide"):
        forms.load_form(write_form(tmp_path, data))


def test_yaml_syntax_error_names_line(tmp_path):
    """A form file that is not valid YAML is refused with its name and line."""
    path = tmp_path / "bad.yaml"
    path.write_text("form: x\ntables: [\n", encoding="utf-8")
    with pytest.raises(forms.FormError, match=r"bad\.yaml: 第 \d+ 行"):
        forms.load_form(path)


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_forms_own_their_version_texts(version):
    """The 填报须知 text, label aliases and the pre-fill come from the form file, not from Python."""
    f = form(version)
    lines = f.guide_lines()
    assert f.notice in lines[0] and f.name in lines[0] and "{" not in "".join(lines)
    assert yaml_data(version)["guide"][2][:10] == lines[2][:10]
    assert all(alias in yaml_data(version)["aliases"] for alias in yaml_data(version)["aliases"])
    prefill = [c for c in f.carry_overs if c.kind == "prefill"]
    assert {c.target for c in prefill} == {f"apply.carried_in.{k}" for k in f.table("apply").col_keys}
    assert {c.source for c in prefill} == {f"apply.carried_over.{k}" for k in f.table("apply").col_keys}

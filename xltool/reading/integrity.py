"""Reading, the integrity stage: what a file carries besides its values — formulas that reach outside, links,
connections, macros, controls and objects, cells far from the tables — and, in our own workbook, what a township
should not have changed (hidden or merged input cells, added, removed or unhidden sheets)."""

from __future__ import annotations

from xltool import formdata, layout
from xltool.codes import Code
from xltool.formats._sheetxml import place
from xltool.formats.page import Page, stray_cells_text
from xltool.forms import Form, a1
from xltool.labels import norm
from xltool.memo import Memo
from xltool.problems import Problem

MAX_LISTED = 10  # findings of one kind listed one by one; the rest are counted
MAX_FINDINGS = 50  # cells named in a finding's values (the rest counted)
MALFORMED_REASON = "保存的内容不合文件格式"  # MALFORMED-CELL: the finding, and the reason of the cell's value


def untrusted_content(page: Page) -> list[Problem]:
    """Formulas that reach outside, links, connections, macros, controls, objects, and cells far outside the tables."""
    out: list[Problem] = []
    facts = page.structure or {}
    unsafe = [(name, where, text) for name, f in facts.items() for where, text in f.unsafe]
    for name, where, text in unsafe[:MAX_LISTED]:
        out.append(
            Problem.of(
                Code.UNSAFE_FORMULA,
                f"公式“={text[:200]}”引用其他文件或调用外部程序/网络（DDE、WEBSERVICE 等），不予信任；请删除该公式，直接填写数字",
                sheet=name,
                cell=where,
                values={"formula": text[:200]},
            )
        )
    rules = [(name, kind, sqref, text) for name, f in facts.items() for kind, sqref, text in f.unsafe_rules]
    for name, kind, sqref, text in rules[:MAX_LISTED]:
        what = _RULE_KINDS.get(kind, "规则")
        out.append(
            Problem.of(
                Code.UNSAFE_FORMULA,
                f"{name} 的{what}（{sqref or '区域未写明'}）使用公式“={text[:200]}”，引用其他文件或调用外部程序/网络，"
                f"不予信任；请删除该{what}后重新保存",
                sheet=name,
                cell=sqref.split()[0].split(":")[0] if sqref else None,
                values={"formula": text[:200], "kind": kind, "sqref": sqref},
            )
        )
    for defined, text in page.unsafe_names[:MAX_LISTED]:
        out.append(
            Problem.of(
                Code.UNSAFE_FORMULA,
                f"工作簿中的名称“{defined[:60]}”定义为“={text[:200]}”，引用其他文件或调用外部程序/网络，不予信任；"
                "请在“名称管理器”中删除该名称后重新保存",
                values={"formula": text[:200], "name": defined[:60]},
            )
        )
    unlisted = sum(max(len(found) - MAX_LISTED, 0) for found in (unsafe, rules, page.unsafe_names))
    if unlisted:
        out.append(Problem.of(Code.UNSAFE_FORMULA, f"另有 {unlisted} 处不安全的公式未逐一列出"))
    links, connections, macros, objects = _container_parts(page.parts)
    if links or connections:
        what = "、".join(filter(None, [f"{links} 个外部链接" if links else "", "数据连接" if connections else ""]))
        out.append(
            Problem.of(
                Code.EXTERNAL_LINK, f"工作簿含有{what}（指向其他文件或网络），其内容一律不采用；请断开链接后重新保存"
            )
        )
    if macros:
        out.append(
            Problem.of(Code.MACROS, "工作簿含有宏（VBA/脚本），xltool 不会运行它；请另存为不含宏的 .xlsx 后报送")
        )
    embedded = [name for name, f in facts.items() if f.embedded]
    if embedded or objects:
        where = f"（{'、'.join(embedded)}）" if embedded else ""
        out.append(Problem.of(Code.EMBEDDED_OBJECTS, f"工作簿含有控件或嵌入对象{where}，已忽略；请删除后重新保存"))
    for name, f in facts.items():
        if f.stray:
            out.append(
                Problem.of(
                    Code.STRAY_CELLS,
                    stray_cells_text(name, f.stray, f.stray_examples),
                    sheet=name,
                    cell=next((e for e in f.stray_examples if place(e) is not None), None),  # not "$Z$9"
                    values={"count": f.stray, "examples": f.stray_examples},
                )
            )
        if f.malformed:
            out.append(
                Problem.of(
                    Code.MALFORMED_CELL,
                    f"{name} 的单元格 {'、'.join(f.malformed[:5])}{'等' if len(f.malformed) > 5 else ''} "
                    f"{MALFORMED_REASON}（如“{f.errors.get(f.malformed[0], '')}”），"
                    "不予读取；请在 Excel 中重新填写后另存，或用原模板重新填报",
                    sheet=name,
                    cell=f.malformed[0],
                    values={"cells": f.malformed[:MAX_FINDINGS], "count": len(f.malformed)},
                )
            )
        if f.duplicates:
            out.append(
                Problem.of(
                    Code.DUPLICATE_CELLS,
                    f"{name} 的单元格 {'、'.join(f.duplicates[:5])} 在文件中写了两次，Excel 会认为文件已损坏；"
                    "已按最后一次的内容读取，请用原模板重新填报",
                    sheet=name,
                    cell=f.duplicates[0],
                    values={"cells": f.duplicates},
                )
            )
    return out


_RULE_KINDS = {"conditionalFormatting": "条件格式", "dataValidation": "数据有效性（数据验证）"}
_PARTS = Memo(256)  # a container's member names -> what they hold
_PARTS_NAMES = 100  # sets of at most this many names are remembered (a template has about 20; a hostile file not)


def _container_parts(parts: set[str]) -> tuple[int, bool, bool, bool]:
    """External links (how many), a data connection, macros, controls or embedded objects among a container's member
    names; remembered by the set of names (the files of one template have the same members)."""
    key = frozenset(parts)
    hit = _PARTS.get(key)
    if hit is None:
        low = [p.lower() for p in key]  # an xlsx's part names compare without letter case (OPC); ODS's do not
        hit = (
            sum(1 for p in low if p.startswith("xl/externallinks/") and p.endswith(".xml")),
            "xl/connections.xml" in low,
            any(p.endswith("vbaproject.bin") for p in low)
            or any(p.startswith(("Basic/", "Scripts/", "_VBA_PROJECT")) for p in key),
            any(p.startswith(("xl/activex/", "xl/embeddings/")) for p in low)
            or any(p.startswith(("Object ", "MBD", "ObjectPool")) for p in key),
        )
        if len(key) <= _PARTS_NAMES:
            _PARTS.keep(key, hit)
    return hit


def tampering(page: Page, form: Form, meta: dict[str, str], found: list[Problem]) -> list[Problem]:
    """Our own workbook changed where a township should not change it (hidden or merged input cells, sheets)."""
    out: list[Problem] = []
    facts = page.structure or {}
    moved = {p.sheet for p in found if p.code in (Code.ROWS_MOVED, Code.SHEET_RENAMED)}
    for table in form.tables:
        f = facts.get(table.sheet)
        if f is None or table.sheet in moved:
            continue
        shape = formdata.shape(table)
        inputs = shape.input_cells
        hidden = (
            [c for c in inputs if c.row in f.hidden_rows or c.col in f.hidden_cols]
            if (f.hidden_rows or f.hidden_cols)  # our template hides helper columns, next to no input
            and not (shape.input_rows.isdisjoint(f.hidden_rows) and shape.input_cols.isdisjoint(f.hidden_cols))
            else []
        )
        if hidden:
            out.append(
                Problem.of(
                    Code.HIDDEN_CELLS,
                    f"{table.sheet} 有 {len(hidden)} 个填报格所在的行或列被隐藏（如 {hidden[0].a1}）；请取消隐藏并核对数字",
                    sheet=table.sheet,
                    cell=hidden[0].a1,
                )
            )
        merged = shape.merged_input(f.merges)
        if merged is not None:
            (r0, c0, r1, c1), cell = merged
            out.append(
                Problem.of(
                    Code.MERGED_INPUT,
                    f"{table.sheet} 的填报格被合并（{a1(r0, c0)}:{a1(r1, c1)}，含 {cell.a1}），合并区域中的数字可能被遮住；"
                    "请取消合并，使用原模板填报",
                    sheet=table.sheet,
                    cell=cell.a1,
                )
            )
    out += hidden_sheets(page, form)
    expected = {layout.GUIDE_SHEET, layout.CHECK_SHEET, layout.META_SHEET, *(t.sheet for t in form.tables)}
    if meta.get("kind") == layout.ROLLUP_KIND:
        expected |= set(layout.ROLLUP_SHEETS)  # a roll-up's review sheets
    if meta.get("printed_sheet") == layout.PRINTED_SHEET:
        expected |= {layout.IMPORT_NOTES_SHEET, layout.PRINTED_SHEET}  # a workbook imported from a report
    renamed = {p.sheet for p in [*found, *out] if p.code in (Code.SHEET_RENAMED, Code.SHEET_COPY)}
    added = [n for n in page.sheet_names if n not in expected and n not in renamed]
    if added:
        out.append(
            Problem.of(Code.SHEET_ADDED, f"增加了模板中没有的工作表：{'、'.join(added[:5])}；请删除", sheet=added[0])
        )
    if layout.CHECK_SHEET not in page.sheet_names:
        out.append(Problem.of(Code.SHEET_MISSING, f"“{layout.CHECK_SHEET}”工作表被删除；请使用原模板填报"))
    if page.sheet_states.get(layout.META_SHEET, "hidden") == "visible":
        out.append(
            Problem.of(
                Code.META_VISIBLE,
                f"隐藏的“{layout.META_SHEET}”工作表被取消隐藏；请使用原模板填报",
                sheet=layout.META_SHEET,
            )
        )
    return out


_INVISIBLE = str.maketrans("", "", "\u200b\u200c\u200d\u2060\ufeff\u00ad")


def _sheet_key(name: str) -> str:
    """A sheet name as a person reads it: spaces, full/half width, letter case and invisible characters ignored."""
    return norm(name.translate(_INVISIBLE), aliases=False).casefold()


def hidden_sheets(page: Page, form: Form) -> list[Problem]:
    """A sheet the reader takes (a table's, 填报说明, 校验) hidden or very hidden, and any other sheet whose name is
    one of theirs up to spaces, width or case: what was read may not be what the township saw (the real sheet made
    veryHidden behind a visible copy), so both are errors."""
    out: list[Problem] = []
    official = [layout.GUIDE_SHEET, *(t.sheet for t in form.tables), layout.CHECK_SHEET]
    states = page.sheet_states
    for name in official:
        state = states.get(name, "visible")
        if name in page.sheet_names and state != "visible":
            how = "深度隐藏（veryHidden，Excel 中无法直接取消隐藏）" if state == "veryHidden" else "隐藏"
            out.append(
                Problem.of(
                    Code.TABLE_SHEET_HIDDEN,
                    f"工作表“{name}”被{how}，读取的内容在 Excel 中看不到；请取消隐藏并核对，或使用原模板重新填报",
                    sheet=name,
                    values={"state": state},
                )
            )
    others = [name for name in page.sheet_names if name not in official and name != layout.META_SHEET]
    keys = {_sheet_key(name): name for name in official} if others else {}  # the usual return has none
    for name in others:
        twin = keys.get(_sheet_key(name))
        if twin is not None and twin in page.sheet_names:
            state = states.get(name, "visible")
            shown = {"visible": "", "hidden": "（隐藏）", "veryHidden": "（深度隐藏）"}.get(state, "")
            out.append(
                Problem.of(
                    Code.SHEET_COPY,
                    f"工作表“{name}”{shown}与“{twin}”同名（仅空格、全角半角或大小写不同），同一张表有两个版本，"
                    f"只读取了“{twin}”；请删除副本后重新报送",
                    sheet=name,
                    values={"copy_of": twin, "state": state},
                )
            )
    return out

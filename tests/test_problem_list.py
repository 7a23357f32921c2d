"""Every count is a list: the 校验 problems list shows each problem its verdict and counts line count, and the
annotated copy marks the cells of an error first and lists the same problems, Chinese place first."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from tests.fillings import form_years, random_return
from xltool import layout
from xltool.checking import annotate, check_files
from xltool.forms import form_for_year
from xltool.model import Invalid
from xltool.reading import read
from xltool.template import write_xlsx
from xltool.template.verdicts import cell_place, problem_lines, row_place
from xltool.template.xlsx import _Writer

ROOT = Path(__file__).resolve().parent.parent
ISSUE_BLANKS = ("apply.result.partial.business", "apply.result.partial.research", "apply.carried_over.other")


def issue_return():
    """The return of issue 21: one imbalance, `5件` typed in 表二, and blank cells in a partly filled 表三."""
    ret = read(ROOT / "examples" / "sample-return-2025.xlsx")
    ret.values["apply.new.natural_person"] += 1
    ret.values["active.rules.regulation.issued"] = Invalid("5件", "不是数字")
    for key in ISSUE_BLANKS:
        ret.values.pop(key)
    return ret


def listed_rows(path: Path) -> list[tuple]:
    """The printed problems list of a written workbook, as its cached values show it."""
    ws = openpyxl.load_workbook(path, data_only=True)[layout.CHECK_SHEET]
    top = layout.CHECK_PROBLEMS_HEADER_ROW + 1
    rows = ws.iter_rows(min_row=top + 1, max_row=top + 20, max_col=4, values_only=True)
    return [r for r in rows if r[0]]


@pytest.mark.parametrize("year", form_years())
@pytest.mark.parametrize("seed", range(12))
def test_list_counts_what_the_verdict_counts(year, seed):
    """Errors listed (invalid entries, failed error rules) and warnings listed (failed warnings, blank cells of each
    row) add up to the counts line: nothing counted is left out, nothing listed is uncounted."""
    rng = random.Random(seed)
    ret = random_return(
        form_for_year(year), year, rng, broken=rng.randint(0, 3), blanks=rng.choice([0, 3, 40]), texts=rng.randint(0, 3)
    )
    counts = _Writer.counts_for(ret)
    lines = problem_lines(ret)
    assert sum(line.n for line in lines if line.level == "错误") == counts["errors"]
    assert sum(line.n for line in lines if line.level == "警告") == counts["warnings"]
    assert [line.level for line in lines] == sorted((line.level for line in lines), key=["错误", "警告"].index)


def test_issue_return_lists_the_typed_text_and_the_blank_rows(tmp_path):
    """The issue's return: the banner's 4 errors are 4 lines (`5件` with its cell among them) and its 3 blank cells
    are 2 row lines saying how many and where."""
    ret = issue_return()
    counts = _Writer.counts_for(ret)
    assert (counts["errors"], counts["warnings"]) == (4, 3)
    rows = listed_rows(write_xlsx(ret, tmp_path / "issue.xlsx"))
    errors = [r for r in rows if r[3] == "错误"]
    assert len(errors) == 4
    assert ("表二 第5行「规章」本年制发件数", "数值无效", "B5：“5件”", "错误") in rows
    blanks = [r for r in rows if r[3] == "警告"]
    assert [(r[0], r[1], r[2]) for r in blanks] == [
        ("表三 第9行「（二）部分公开」", "2 格空白", "E9、F9"),
        ("表三 第30行「四、结转下年度继续办理」", "1 格空白", "I30"),
    ]


def test_a_blank_row_is_named_by_its_range():
    """A row left wholly blank in a partly filled table is one line with its range, not one line per cell."""
    form = form_for_year(2025)
    ret = random_return(form, 2025, random.Random(2))
    row = [c for c in form.table("apply").cells if c.is_input and c.key.startswith("apply.result.public.")]
    for cell in row:
        ret.values.pop(cell.key)
    (line,) = [x for x in problem_lines(ret) if x.level == "警告" and "格空白" in x.result]
    assert (line.n, line.values) == (len(row), f"{row[0].a1}:{row[-1].a1}")


def test_places_are_said_in_chinese_first():
    """Cells and rows are named as on paper: table number, sheet row, row label (short), column label."""
    form = form_for_year(2025)
    apply, active, appeal = form.table("apply"), form.table("active"), form.table("appeal")
    assert cell_place(apply, form.cell["apply.new.natural_person"]) == "表三 第6行「一、本年新收」自然人"
    assert cell_place(active, form.cell["active.rules.regulation.issued"]) == "表二 第5行「规章」本年制发件数"
    assert row_place(apply, form.cell["apply.result.partial.business"]) == "表三 第9行「（二）部分公开」"
    appeal_cell = next(c for c in appeal.cells if c.is_input and c.key.endswith("review.upheld"))
    assert cell_place(appeal, appeal_cell) == "表四 第6行 行政复议 结果维持"


def test_a_full_list_ends_with_how_many_more(tmp_path):
    """More lines than the printed list holds: its last row says how many more, the others show the first lines."""
    ret = random_return(form_for_year(2025), 2025, random.Random(4), blanks=30, texts=25)
    lines = problem_lines(ret)
    rows_shown = layout.check_problem_rows(ret.form)
    assert len(lines) > rows_shown
    rows = listed_rows(write_xlsx(ret, tmp_path / "full.xlsx"))
    assert [r[0] for r in rows[:-1]] == [line.what for line in lines[: rows_shown - 1]]
    assert f"另有 {len(lines) - rows_shown + 1} 项" in rows[-1][0]


# --- annotated copies --------------------------------------------------------------------------------------------


def annotated(tmp_path: Path, ret) -> openpyxl.Workbook:
    source = write_xlsx(ret, tmp_path / "return.xlsx")
    (report,) = check_files([source], workers=0)
    ((_, written, _),) = list(annotate([report], tmp_path / "out"))
    return openpyxl.load_workbook(written)


def column_imbalance_with_blanks():
    """商业企业 off balance by 1 while its 二 and 四 are blank; an unrelated 科研机构 cell blank too."""
    ret = read(ROOT / "examples" / "sample-return-2025.xlsx")
    ret.values["apply.new.business"] += 1
    for key in ("apply.carried_in.business", "apply.carried_over.business", "apply.result.partial.research"):
        ret.values.pop(key)
    return ret


def test_annotated_copy_marks_the_error_before_the_blank(tmp_path):
    """A blank cell the failing balance reads is coloured as the error and its comment names the error first, then
    the blank; an unrelated blank keeps the warning colour and only its own comment."""
    from xltool.formats.annotated import FILLS

    ret = column_imbalance_with_blanks()
    wb = annotated(tmp_path, ret)
    sheet = wb["三、依申请公开"]
    form = ret.form
    for key in ("apply.carried_in.business", "apply.carried_over.business"):
        cell = sheet[form.cell[key].a1]
        assert cell.fill.fgColor.rgb.endswith(FILLS["error"]), key
        lines = cell.comment.text.splitlines()
        assert lines[0].startswith("【错误】") and "T3" not in lines[0] and "不平衡" in lines[0]
        assert any(line.startswith("【警告】") and "空白" in line for line in lines[1:])
    unrelated = sheet[form.cell["apply.result.partial.research"].a1]
    assert unrelated.fill.fgColor.rgb.endswith(FILLS["warning"])
    assert "不平衡" not in unrelated.comment.text


def test_problem_sheet_opens_with_unit_year_verdict_and_places(tmp_path):
    """问题清单 opens with its title, the unit, year and verdict; each row puts the Chinese place first and the cell
    reference and code last; blank cells of one row are one line; errors come first."""
    ret = column_imbalance_with_blanks()
    ws = annotated(tmp_path, ret)["问题清单"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "问题清单"
    assert ret.unit.name in rows[1][0] and "2025" in rows[1][0] and "项错误" in rows[1][0]
    assert rows[2][:2] == ("位置", "级别")
    body = rows[3:]
    assert body[0][0] == "表三 第6行「一、本年新收」商业企业" and body[0][1] == "错误"
    assert body[0][3].splitlines() == ["三、依申请公开!E6", "T3-BAL-BUSINESS"]
    levels = [r[1] for r in body]
    assert levels == sorted(levels, key=["错误", "警告", "提示"].index)
    blank_lines = [r for r in body if r[3].endswith("BLANK-CELL")]
    assert len(blank_lines) == 3 and all(r[0].startswith("表三 第") and "」" in r[0] for r in blank_lines)
    assert ws.print_title_rows == "$3:$3"


def test_problem_sheet_rows_are_tall_enough(tmp_path):
    """Each 问题清单 row is at least as tall as its longest wrapped text needs at 10 pt."""
    from xltool.formats.annotated import LIST_WIDTHS
    from xltool.template.cells import text_width

    ret = issue_return()
    ret.values["apply.result.other.other.natural_person"] = Decimal(3)
    ws = annotated(tmp_path, ret)["问题清单"]
    for row in ws.iter_rows(min_row=4):
        need = max(
            sum(-(-text_width(part) // (w - 1)) or 1 for part in str(c.value or "").split("\n"))
            for c, w in zip(row, LIST_WIDTHS, strict=False)
        )
        assert ws.row_dimensions[row[0].row].height >= 13 * need


def test_a_table_left_blank_beside_filled_ones_is_a_listed_warning(tmp_path):
    """One table wholly blank while the others are filled: 校验 counts it (never 可以报送) and lists it as one line, as
    `check` reports TABLE-NOT-FILLED; a return with every table blank stays 尚未填报 with nothing listed."""
    ret = read(ROOT / "examples" / "sample-return-2025.xlsx")
    for cell in ret.form.table("appeal").cells:
        ret.values.pop(cell.key, None)
    warnings = [p for p in ret.check() if p.severity.zh == "警告"]
    assert [p.code for p in warnings] == ["TABLE-NOT-FILLED"]
    counts = _Writer.counts_for(ret)
    assert (counts["errors"], counts["warnings"]) == (0, len(warnings))
    rows = listed_rows(write_xlsx(ret, tmp_path / "no-four.xlsx"))
    assert [(r[1], r[3]) for r in rows] == [("整表空白", "警告")]
    ret.values.clear()
    assert _Writer.counts_for(ret)["warnings"] == 0 and problem_lines(ret) == []

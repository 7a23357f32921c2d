"""The 填报说明 sheet of the template writer: the unit fields (and the optional ones the form's report declares), the
filling rules in plain Chinese, and for a roll-up what it contains."""

from __future__ import annotations

from xltool import layout
from xltool.forms import TITLE_ROW
from xltool.template.cells import PAGE_PT, ROW_PT, line_height, ok, print_lines

GUIDE_WIDTH = 30 + 46 + 14 + 14  # A:D, character units

ROLLUP_SET = ("name", "code", "scope")  # unit fields a roll-up takes from merging (locked); the others are entered


class GuideSheet:
    """Drawn by the template writer (xltool.template.xlsx), whose workbook, formats and return it uses."""

    def write_guide(self) -> None:
        ret, form, fmt = self.ret, self.form, self.fmt
        ws = self.wb.add_worksheet(layout.GUIDE_SHEET)
        ws.set_column(0, 0, 30)
        ws.set_column(1, 1, 46)
        ws.set_column(2, 3, 14)
        ws.merge_range(TITLE_ROW, 0, TITLE_ROW, 3, f"{ret.year}年度政府信息公开工作年度报告统计表", fmt["title"])
        ws.merge_range(1, 0, 1, 3, f"报告格式：《{form.name}》（{form.notice}）", fmt["info"])
        ws.write_string(layout.YEAR_ROW, 0, "报告年度", fmt["field_label"])
        ws.write_number(layout.YEAR_ROW, 1, ret.year, fmt["locked_value"])
        for name, label, row in layout.UNIT_FIELDS:
            ws.write_string(row, 0, label, fmt["field_label"])
            # a roll-up's unit, code and scope are set when merging; its contact is the county's own to enter
            locked = (name in ("name", "code") and self.personal.lock_unit) or (name in ROLLUP_SET and self.rollup)
            ws.write_string(row, 1, getattr(ret.unit, name), fmt["locked_value" if locked else "field"])
        _, _, scope_row = next(f for f in layout.UNIT_FIELDS if f[0] == "scope")
        ok(
            ws.data_validation(
                scope_row,
                1,
                scope_row,
                1,
                {
                    "validate": "list",
                    "source": layout.SCOPES,
                    "input_title": "统计范围",
                    "input_message": "本单位自身数据选“本机关”；汇总下级单位的选“本行政区域汇总”。",
                },
            ),
            "统计范围下拉",
        )
        _, _, code_row = next(f for f in layout.UNIT_FIELDS if f[0] == "code")
        ok(
            ws.data_validation(
                code_row,
                1,
                code_row,
                1,
                {
                    "validate": "length",
                    "criteria": "between",
                    "minimum": 6,
                    "maximum": 18,
                    "input_title": "单位代码",
                    "input_message": "18 位统一社会信用代码，或 6～12 位行政区划代码。",
                    "error_title": "代码长度不对",
                    "error_message": "请填写 18 位统一社会信用代码或 6～12 位行政区划代码。",
                },
            ),
            "单位代码校验",
        )
        for key, label, row, hint in layout.extra_fields(form):  # optional fields the report needs
            ws.write_string(row, 0, label, fmt["field_label"])
            ws.write_string(row, 1, ret.unit.extra.get(key, ""), fmt["field"])
            if hint:
                ok(
                    ws.data_validation(
                        row, 1, row, 1, {"validate": "any", "input_title": label[:32], "input_message": hint[:255]}
                    ),
                    f"{label}提示",
                )
        row = layout.guide_text_row(form)
        if self.rollup:  # a roll-up is read, not filled in: what it is instead of the clerk's instructions
            heading = "汇总表说明"
            lines = [
                f"本工作簿是 xltool merge 生成的汇总表：{layout.rollup_line(self.meta)}。",
                "各表数字为已汇总单位的精确合计，全部单元格已锁定；各单位数字见“明细”，文件来源见“来源”，"
                "未汇总的文件及原因见“未汇总”。",
                "填报人、联系电话、填报日期（及上方其他黄色格）请汇总单位填写；汇总单位、代码和统计范围由汇总时确定。",
            ]
        else:
            heading, lines = "填报须知", form.guide_lines()
        ws.write_string(row, 0, heading, fmt["text_bold"])
        height = 26 + ROW_PT * row  # the title and the rows of fields
        for line in lines:
            row += 1
            ws.merge_range(row, 0, row, 3, line, fmt["text"])
            ws.set_row(row, line_height(print_lines(line, GUIDE_WIDTH)) + 3)
            height += line_height(print_lines(line, GUIDE_WIDTH)) + 3
        self.protect(ws)
        # one page when it nearly fits, at 90 % or more; else the 填报须知 on a page of its own (never a second page
        # holding the last few items)
        self.print_setup(ws, 3, row, None, one_page=height <= PAGE_PT / 0.9)
        if height > PAGE_PT / 0.9:
            ws.set_h_pagebreaks([layout.guide_text_row(form)])
        if not any(getattr(s, "front", False) for s in self.extra):  # else the front sheet opens (one tab selected)
            ws.activate()

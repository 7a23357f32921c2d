"""The official tables of the template writer: labels, input cells (tinted, validated, unlocked), totals as formulas,
the status line above each table, the marks of problems (conditional formats), last year's reference figures; and
the sizes that make each table print on A4 at 9 pt or more."""

from __future__ import annotations

from xlsxwriter.utility import xl_rowcol_to_cell

from xltool import layout, outcomes
from xltool import rules as expr
from xltool.forms import INFO_ROW, TABLE_ROW, TITLE_ROW, Cell, Table, formula_of
from xltool.model import Invalid
from xltool.outcomes import Outcome
from xltool.template.cells import (
    PAGE_PT,
    ROW_PT,
    fit_line,
    line_height,
    ok,
    page_text,
    plain,
    print_lines,
    quote_sheet,
    room_px,
    text_px,
)
from xltool.template.verdicts import (
    STATUS_LINES,
    formula_string,
    rollup_verdict,
    status_line_formula,
    status_line_text,
)


class TableSheets:
    """Drawn by the template writer (xltool.template.xlsx), whose workbook, formats and return it uses."""

    def write_table(self, table: Table) -> None:
        ret, fmt = self.ret, self.fmt
        ws = self.wb.add_worksheet(table.sheet)
        widths = column_widths(table)
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        last = table.width - 1
        ws.merge_range(TITLE_ROW, 0, TITLE_ROW, last, table.title, fmt["title"])
        ws.set_row(TITLE_ROW, 26)
        # Info row: this table's status (校验 at a glance) with unit and year, and the 本年度无此类事项 flag (on a
        # roll-up only where every unit declared it: its tables are sums). The flag's label takes the columns it
        # needs in Excel's metric, the status line all the others, wrapped to the lines its longest wording needs.
        flag_row, flag_col = layout.no_items_cell(table)
        label_text = layout.NO_ITEMS_TEXT + "："
        label_first = flag_col
        while label_first > 1 and room_px(sum(widths[label_first:flag_col]), "excel") < text_px(label_text):
            label_first -= 1
        # a roll-up shows the flag only when every unit declared the table empty (summing.sum_members)
        show_flag = not self.rollup or table.id in ret.no_items
        status_last = label_first - 1 if show_flag else table.width - 1
        lines = 1
        if status_last >= 0 and label_first < flag_col:
            formula, cached = self.table_line(table)
            lines = max(print_lines(t, sum(widths[: status_last + 1])) for t in self.status_texts(table, cached))
            if status_last > 0:
                ws.merge_range(INFO_ROW, 0, INFO_ROW, status_last, "", fmt["status_wrap"])
            ws.write_formula(INFO_ROW, 0, formula, fmt["status_wrap"], cached)
            self.colour_status(ws, INFO_ROW, 0)
            if lines > 1:
                ws.set_row(INFO_ROW, line_height(lines))
        else:  # a two-column table has no room for the status beside the flag: the unit line goes to the page header
            ws.set_header(f"&L{page_text(f'填报单位：{ret.unit.name}　　报告年度：{ret.year}')}")
            label_first = 0
        if show_flag:
            if label_first < flag_col - 1:
                ws.merge_range(INFO_ROW, label_first, INFO_ROW, flag_col - 1, label_text, fmt["info_label"])
            else:
                ws.write_string(INFO_ROW, label_first, label_text, fmt["info_label"])
            flag_text = layout.NO_ITEMS_YES if table.id in ret.no_items else ""
            ws.write_string(flag_row, flag_col, flag_text, fmt["locked_value" if self.rollup else "flag"])
        if not self.rollup:
            ok(
                ws.data_validation(
                    flag_row,
                    flag_col,
                    flag_row,
                    flag_col,
                    {
                        "validate": "list",
                        "source": ["是", "否"],
                        "input_title": layout.NO_ITEMS_TEXT,
                        "input_message": "本表全年确无任何数据时选“是”（按全部为 0 处理）；否则留空，逐格填写。",
                    },
                ),
                "无此类事项下拉",
            )
        fits = label_fits(table, widths)
        for label in table.labels:
            style = fmt[{"caption": "caption", "header": "header", "corner": "corner"}.get(label.kind, "row")]
            text, _, shrink = fits[id(label)]
            if shrink:
                style = fmt[f"{'header' if label.kind == 'header' else 'row'}_shrink"]
            if (label.first_row, label.first_col) == (label.last_row, label.last_col):
                ws.write_string(label.first_row, label.first_col, text, style)
            else:
                ws.merge_range(label.first_row, label.first_col, label.last_row, label.last_col, text, style)
        for cell in table.cells:
            if cell.right > cell.col:  # a value cell merged across (Table 二 blocks with fewer columns)
                ws.merge_range(cell.row, cell.col, cell.row, cell.right, "", self.input_format(cell))
            self.write_cell(ws, cell)
        self.write_unit_notes(ws, table)
        if not self.rollup:
            self.validate_inputs(ws, table)
            self.write_validity(ws, table)
            self.mark_problems(ws, table)
        self.write_references(ws, table)
        heights = row_heights(table, fits)
        for row, height in heights.items():
            ws.set_row(row, height)
        if table.header_rows:
            ws.freeze_panes(table.first_data_row, 0)
        self.protect(ws)
        # One page when the table fits one at 90 % or more (the official ones do); a longer table of a local form
        # runs on to further pages with its header rows repeated.
        tall = 26 + line_height(lines) + sum(heights.values())
        one_page = tall <= PAGE_PT / 0.9
        repeat = (TABLE_ROW, table.first_data_row - 1) if table.header_rows and not one_page else None
        self.print_setup(ws, last, table.last_row, repeat, one_page=one_page)

    def input_format(self, cell: Cell):
        """Inputs are tinted and unlocked for the clerk; in a roll-up they are plain locked numbers."""
        return self.fmt[f"{'rollup' if self.rollup else 'input'}_{cell.type.name}"]

    def write_unit_notes(self, ws, table: Table) -> None:
        """An amount whose official label names no unit (2019 采购总金额) says its unit beside the table."""
        for cell in table.cells:
            if cell.type.unit and cell.type.unit not in cell.label_path[-1]:
                ws.write_string(cell.row, table.width, f"单位：{cell.type.unit}", self.fmt["unit_note"])

    # --- live checks on the table sheets --------------------------------------------------------------------------
    def validity_ref(self, cell: Cell, from_sheet: str) -> str:
        """The hidden cell that is 1 when `cell` holds no usable number (text, negative, fraction, absurd size)."""
        a1 = xl_rowcol_to_cell(cell.row, cell.col + layout.helper_offset(self.form.table(cell.table)), True, True)
        return a1 if cell.sheet == from_sheet else f"{quote_sheet(cell.sheet)}!{a1}"

    def write_validity(self, ws, table: Table) -> None:
        """One hidden validity flag per input cell, right of the table: the same test as Python's value reading, so
        that rules and marks say 数值无效 instead of computing with a bad entry (no array formulas needed)."""
        offset = layout.helper_offset(table)
        inputs = [c for c in table.cells if c.is_input]
        for cell in inputs:
            ws.write_formula(
                cell.row,
                cell.col + offset,
                "=" + validity_formula(cell, xl_rowcol_to_cell(cell.row, cell.col)),
                self.fmt["helper"],
                1 if isinstance(self.ret.values.get(cell.key), Invalid) else 0,
            )
        first = min(c.col for c in inputs) + offset
        ws.set_column(first, max(c.col for c in inputs) + offset, 4, None, {"hidden": True})

    def mark_problems(self, ws, table: Table) -> None:
        """Conditional formats (plain formulas, no extension lists): invalid entries in red with the entry visible,
        the cells of a failing error rule in rose, blank cells of a partly filled table in lavender."""
        inputs = [c for c in table.cells if c.is_input]
        first = inputs[0]
        where = " ".join(c.a1 for c in inputs)
        helper = xl_rowcol_to_cell(first.row, first.col + layout.helper_offset(table))  # relative: moves per cell
        self.conditional(ws, first, where, f"={helper}>0", "invalid")
        for rule in self.form.local_rules:
            refs = [self.form.cell[k] for k in expr.refs(rule.node)]
            if rule.defines or rule.severity != "error" or any(c.sheet != table.sheet for c in refs):
                continue
            test = expr.render(rule.node, lambda k: self.ref(k, table.sheet), rule.tolerance)
            self.conditional(ws, refs[0], " ".join(c.a1 for c in refs), f"=NOT({test})", "failing")
        own = [c.key for c in inputs if c.key not in self.ret.prefilled]
        if own:
            flag = xl_rowcol_to_cell(*layout.no_items_cell(table), True, True)
            filled = f"COUNTA({self.input_ranges(own, table.sheet)})"
            test = f'=AND(LEN({first.a1})=0,{filled}>0,{flag}<>"{layout.NO_ITEMS_YES}")'
            self.conditional(ws, first, where, test, "blank")

    def conditional(self, ws, anchor: Cell, where: str, formula: str, kind: str) -> None:
        ok(
            ws.conditional_format(
                anchor.row,
                anchor.col,
                anchor.row,
                anchor.col,
                {"type": "formula", "criteria": formula, "format": self.fmt[f"cf_{kind}"], "multi_range": where},
            ),
            f"{ws.name} 条件格式",
        )

    def table_line(self, table: Table) -> tuple[str, str]:
        """The status line above a table: formula and the text Python computes for the same entries."""
        unit = f"　　填报单位：{self.ret.unit.name}　　报告年度：{self.ret.year}"
        name_ref = f"{quote_sheet(layout.GUIDE_SHEET)}!$B${layout.UNIT_FIELDS[0][2] + 1}"
        unit_formula = f'"　　填报单位："&{name_ref}&"　　报告年度：{self.ret.year}"'
        if self.rollup:  # what it contains, or while incomplete the gaps line naming the units (layout.rollup_gaps)
            line = rollup_verdict(self.meta) or layout.rollup_line(self.meta)
            return f"={formula_string(line)}&{unit_formula}", line + unit
        counts = self.table_counts(table)
        return "=" + status_line_formula(self.table_count_formulas(table)) + "&" + unit_formula, (
            status_line_text(counts) + unit
        )

    def status_texts(self, table: Table, cached: str) -> list[str]:
        """Every text the status line can show: the one now, and (in a template) its longest wordings."""
        if self.rollup:
            return [cached]
        unit = cached[len(status_line_text(self.table_counts(table))) :]
        return [cached, *(line.format(n=999) + unit for line in STATUS_LINES.values())]

    def colour_status(self, ws, row: int, col: int) -> None:
        for text, kind in (
            ("项错误", "status_bad"),
            ("项警告", "status_warn"),
            ("格空白", "status_warn"),
            *((("汇总不完整", "status_warn"),) if self.rollup else ()),  # an incomplete roll-up's line
            ("校验通过", "status_good"),
        ):
            options = {"type": "text", "criteria": "containing", "value": text, "format": self.fmt[f"cf_{kind}"]}
            ok(ws.conditional_format(row, col, row, col, options), "状态行颜色")

    def write_cell(self, ws, cell: Cell) -> None:
        if cell.is_input:
            style = self.input_format(cell)
            note = self.personal.prefilled.get(cell.key)
            if note:
                style = self.fmt[f"prefilled_{cell.type.name}"]
                ws.write_comment(cell.row, cell.col, note, {"author": "xltool", "x_scale": 2, "y_scale": 1.5})
            v = self.ret.values.get(cell.key)
            if v is None:
                ws.write_blank(cell.row, cell.col, None, style)
            elif isinstance(v, Invalid):
                ws.write_string(cell.row, cell.col, v.raw, style)
            else:
                ws.write_number(cell.row, cell.col, plain(v), style)
            return
        formula = expr.render(formula_of(self.form, cell), lambda k: self.ref(k, cell.sheet))
        cached = self.ret.safe_value(cell.key)
        if cached is None:  # over unusable cells or a table the report did not show: blank, never 0 or a part sum
            formula = self.unknown_when_unusable(formula, [cell.key], cell.sheet, whole_table=cell.table)
        ws.write_formula(
            cell.row,
            cell.col,
            "=" + formula,
            self.fmt[f"total_{cell.type.name}"],
            plain(cached) if cached is not None else "",
        )

    def unknown_when_unusable(self, formula: str, keys: list[str], sheet: str, whole_table: str | None = None) -> str:
        """`formula` shown blank while a cell it adds holds text (a number the import could not read) or, with
        `whole_table`, while that table is empty (a report without it); once the clerk fills them it computes."""
        inputs = self.form.input_closure(keys)
        if not inputs:
            return formula
        cells = self.input_ranges(inputs, sheet)
        tests = [f"COUNTA({cells})>COUNT({cells})"]
        if whole_table is not None:
            own = [c.key for c in self.form.table(whole_table).cells if c.is_input]
            tests.insert(0, f"COUNT({self.input_ranges(own, sheet)})=0")
        else:
            tests.insert(0, f"COUNT({cells})=0")
        return f'IF(OR({",".join(tests)}),"",{formula})'

    def write_references(self, ws, table: Table) -> None:
        """Last year's figures in a column right of the table, outside the print area (for the clerk's eyes only)."""
        refs = {c.key: c for c in table.cells if c.key in self.personal.references}
        if not refs:
            return
        col = table.width
        ws.set_column(col, col, 16)
        for key, cell in refs.items():
            caption = (
                next(lb for lb in table.labels if lb.kind == "caption" and lb.text == cell.label_path[0])
                if table.layout == "blocks"
                else None
            )
            if caption is not None:
                ws.write_string(caption.first_row + 1, col, self.personal.reference_title, self.fmt["header"])
            ws.write_number(cell.row, col, plain(self.personal.references[key]), self.fmt[f"total_{cell.type.name}"])

    def validate_inputs(self, ws, table: Table) -> None:
        by_type: dict[str, list[Cell]] = {}
        for cell in table.cells:
            if cell.is_input:
                by_type.setdefault(cell.type.name, []).append(cell)
        for _type_name, cells in by_type.items():
            options = validation_options(cells[0])
            first = cells[0]
            options["multi_range"] = " ".join(c.a1 for c in cells)
            ok(ws.data_validation(first.row, first.col, first.row, first.col, options), f"{table.sheet} 数据有效性")

    # --- counts behind the status lines and the verdict (Python and formula side by side) ---------------------------
    def table_counts(self, table: Table) -> dict[str, int | bool]:
        rules = [self.results[r.id] for r in self.form.local_rules if table.id in r.tables]
        own = [c for c in table.cells if c.is_input and c.key not in self.ret.prefilled]
        state = self.ret.table_state(table.id)
        return {
            "not_filled": state.status is outcomes.TableStatus.NOT_FILLED,
            "errors": sum(r.outcome is Outcome.FAIL and r.rule.severity == "error" for r in rules),
            "invalid": sum(isinstance(self.ret.values.get(c.key), Invalid) for c in table.cells if c.is_input),
            "warnings": sum(r.outcome is Outcome.FAIL and r.rule.severity == "warning" for r in rules),
            "blank": state.blank if state.status is outcomes.TableStatus.PARTIAL else 0,
            "inputs": len(own),
        }

    def table_count_formulas(self, table: Table) -> dict[str, str]:
        check = quote_sheet(layout.CHECK_SHEET)
        rows = [layout.check_rule_row(self.form, r) for r in self.form.local_rules if table.id in r.tables]

        def flags(col: int) -> str:
            cells = [f"{check}!{xl_rowcol_to_cell(r, col, True, True)}" for r in rows]
            return f"SUM({','.join(expr._ranges(cells))})" if cells else "0"

        own = [c.key for c in table.cells if c.is_input and c.key not in self.ret.prefilled]
        filled = f"COUNTA({self.input_ranges(own, layout.CHECK_SHEET)})" if own else "0"
        flag = f"{quote_sheet(table.sheet)}!{xl_rowcol_to_cell(*layout.no_items_cell(table), True, True)}"
        helpers = [self.validity_ref(c, layout.CHECK_SHEET) for c in table.cells if c.is_input]
        not_filled = f'AND({filled}=0,{flag}<>"{layout.NO_ITEMS_YES}")'
        return {
            "not_filled": not_filled,
            "errors": flags(layout.COL_ERROR),
            "invalid": f"SUM({','.join(expr._ranges(helpers))})",
            "warnings": flags(layout.COL_WARNING),
            "blank": f'IF(OR({flag}="{layout.NO_ITEMS_YES}",{filled}=0),0,{len(own)}-{filled})',
        }


def validity_formula(cell: Cell, a1: str) -> str:
    """1 when the entry is no usable number, as Python's value reading decides (xltool.values.normalize)."""
    checks = [f"ABS({a1})>=1E9"]
    if not cell.type.signed:
        checks.append(f"{a1}<0")
    if cell.type.whole:
        checks.append(f"ABS({a1}-ROUND({a1},0))>1E-9")
    else:
        checks.append(f"ABS(ROUND({a1},{cell.type.places})-{a1})>1E-9")  # engines' binary rounding differs a hair
    return f"IF(ISNUMBER({a1}),IF(OR({','.join(checks)}),1,0),IF(LEN({a1})=0,0,1))"


def validation_options(cell: Cell) -> dict:
    if cell.type.name == "amount":
        unit = cell.type.unit or ""
        return {
            "validate": "decimal",
            "criteria": ">=",
            "value": 0,
            "input_title": f"金额（{unit}）",
            "error_type": "stop",
            "error_title": "金额有误",
            "input_message": f"单位：{unit}，填写大于等于 0 的数，最多 {cell.type.places} 位小数。没有请填 0。",
            "error_message": f"只能填写大于等于 0 的数字（单位：{unit}），不能填负数或文字。",
        }
    if cell.type.signed:
        return {
            "validate": "integer",
            "criteria": "between",
            "minimum": -999999999,
            "maximum": 999999999,
            "input_title": "增减数量",
            "error_type": "stop",
            "error_title": "数量有误",
            "input_message": "填写整数；减少的用负数表示，如 -8。没有变化请填 0。",
            "error_message": "只能填写整数（减少用负数），不能填小数或文字。",
        }
    return {
        "validate": "integer",
        "criteria": ">=",
        "value": 0,
        "input_title": "件数",
        "error_type": "stop",
        "error_title": "件数有误",
        "input_message": "填写大于等于 0 的整数。没有请填 0。",
        "error_message": "只能填写大于等于 0 的整数，不能填小数、负数或“无”“-”等文字。",
    }


def column_widths(table: Table) -> list[float]:
    """Widths that fit A4 landscape at (nearly) full size: about 104 character units in all, so 10 pt text prints at
    9 pt or more (LibreOffice measured: one unit is 7.6 pt; the printable width is 790 pt). Table 三's row labels get
    most of the label room: the row-group columns hold short labels in tall merged cells ((三）不予公开 on one line in
    LibreOffice, 三、本年度/办理结果)."""
    if table.layout == "blocks":
        return [30.0] + [18.0] * (table.width - 1)
    label_cols = table.width - len(table.col_keys)
    labels = {0: [], 1: [10.0], 2: [10.0, 16.0], 3: [8.0, 10.0, 40.0]}[label_cols]
    # 6.5 units: LibreOffice breaks 社会公益组织 as 社会公益/组织, Excel as 社会公/益组织 (never one character alone)
    value = max(6.0, min(9.0, (104 - sum(labels)) / len(table.col_keys)))
    if label_cols == 3:
        value = 6.5
    return labels + [value] * len(table.col_keys)


def label_fits(table: Table, widths: list[float]) -> dict[int, tuple[str, int, bool]]:
    """Per label (by id): its text (always the official one: the reader checks it character for character), the
    lines it takes in Excel's metric (the narrower one), and whether it is shrunk to one line instead. A label of one
    row that fits one line in LibreOffice and nearly in Excel stays one line, shrunk in Excel by at most a sixth (商业
    企业 in a count's column; the long label of （二）部分公开: one line in LibreOffice, 8.7 pt in Excel)."""
    out: dict[int, tuple[str, int, bool]] = {}
    for label in table.labels:
        width = sum(widths[label.first_col : label.last_col + 1])
        lines, shrink = print_lines(label.text, width), False
        if label.kind in ("row", "header") and label.first_row == label.last_row:
            lines, shrink = fit_line(label.text, width)
        out[id(label)] = (label.text, lines, shrink)
    return out


def row_heights(table: Table, fits: dict[int, tuple[str, int, bool]]) -> dict[int, float]:
    """Every row of the table at the height its labels need: XlsxWriter cannot autofit, and LibreOffice/WPS/Excel
    differ if left unset. A merged label's lines are shared among its rows."""
    heights: dict[int, float] = {r: ROW_PT for r in range(TABLE_ROW, table.last_row + 1)}
    for label in table.labels:
        lines = fits[id(label)][1]
        rows = label.last_row - label.first_row + 1
        need = (line_height(lines) + (rows - 1) * 0.5) / rows
        for r in range(label.first_row, label.last_row + 1):
            heights[r] = max(heights[r], need)
    return heights

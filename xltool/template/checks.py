"""The 校验 sheet of the template writer: a verdict banner, the counts line, the problems only (INDEX/MATCH over
hidden ranks, so every engine computes the same without array formulas), the table statuses, and every rule with an
unlocked 说明 cell for each warning."""

from __future__ import annotations

import math

from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from xltool import layout, outcomes
from xltool import rules as expr
from xltool.forms import TITLE_ROW
from xltool.model import Return
from xltool.outcomes import Outcome, Severity
from xltool.template.cells import (
    cached_value,
    fit_line,
    line_height,
    ok,
    page_text,
    print_lines,
    quote_sheet,
    text_width,
)
from xltool.template.verdicts import (
    LIST_WORDS,
    TABLE_BLANK,
    TYPED_CHARS,
    VERDICTS,
    Slot,
    formula_string,
    problem_lines,
    problem_slots,
    rollup_verdict,
    shown_lines,
    slot_line,
    summary_line,
    verdict_text,
)

CHECK_WIDTHS = [66, 16, 18, 6, 24, 44]  # printed: 检查内容, 结果, 说明, 级别 (106 units: A4 landscape at full size)


class CheckSheet:
    """Drawn by the template writer (xltool.template.xlsx), whose workbook, formats and return it uses."""

    def write_checks(self) -> None:
        form, ret, fmt = self.form, self.ret, self.fmt
        ws = self.wb.add_worksheet(layout.CHECK_SHEET)
        sheet = layout.CHECK_SHEET
        for col, width in enumerate(CHECK_WIDTHS):
            ws.set_column(col, col, width)
        ws.set_column(layout.COL_LEFT, layout.COL_ITEM_VALUES, 6, None, {"hidden": True})
        last_printed = layout.CHECK_PRINTED
        ws.merge_range(TITLE_ROW, 0, TITLE_ROW, last_printed, "校验结果（随填随算）", fmt["title"])
        order = layout.check_rule_order(form)
        first, last = layout.check_rule_row(form, order[0]), layout.check_rule_row(form, order[-1])
        # Table status
        status_header = layout.check_status_header_row(form)
        ws.write_string(status_header, 0, "表", fmt["header"])
        ws.write_string(status_header, 1, "填报状态", fmt["header"])
        status_ref: dict[str, str] = {}
        for table in form.tables:
            row = layout.check_status_row(form, table.id)
            inputs = [c.key for c in table.cells if c.is_input and c.key not in ret.prefilled]
            filled = f"COUNTA({self.input_ranges(inputs, sheet)})"
            flag = f"{quote_sheet(table.sheet)}!{xl_rowcol_to_cell(*layout.no_items_cell(table), True, True)}"
            formula = "=" + outcomes.table_status_formula(flag, filled, len(inputs))
            ws.write_string(row, 0, table.sheet, fmt["check"])
            ws.write_formula(row, 1, formula, fmt["check"], ret.table_status(table.id))
            status_ref[table.id] = xl_rowcol_to_cell(row, 1, True, True)
        # Every rule, those a clerk's entries can break first
        header = layout.check_rule_header_row(form)
        for col, text in enumerate(layout.CHECK_COLUMNS):
            ws.write_string(header, col, text, fmt["header"])
        for col, text in zip(
            range(layout.COL_LEFT, layout.COL_WARNING + 1), ["左边", "右边", "错误", "警告"], strict=True
        ):
            ws.write_string(header, col, text, fmt["header"])
        fixed = next((r for r in order if r.defines), None)
        if fixed is not None:
            heading = layout.check_rule_row(form, fixed) - 1
            ws.merge_range(heading, 0, heading, last_printed, layout.FIXED_HEADING, fmt["section"])
        for rule in order:
            self.write_rule_row(ws, layout.check_rule_row(form, rule), rule, status_ref, first)
        self.write_problem_list(ws)
        # Verdict and counts
        counts = {t.id: self.table_count_formulas(t) for t in form.tables}
        col_error, col_warning = (xl_col_to_name(c) for c in (layout.COL_ERROR, layout.COL_WARNING))
        res = f"$B${first + 1}:$B${last + 1}"
        nothing = self.nothing_filled()
        # tables left wholly blank while another is filled: counted at the catalogue's level, as `check` counts them
        blank_tables = (
            f"IF({nothing},0,{'+'.join(f'IF({outcomes.not_filled_test(r)},1,0)' for r in status_ref.values())})"
        )
        extra = {TABLE_BLANK.severity: f"+{blank_tables}"}
        errors = (
            f"(SUM(${col_error}${first + 1}:${col_error}${last + 1})+{'+'.join(c['invalid'] for c in counts.values())}"
            f"{extra.get(Severity.ERROR, '')})"
        )
        warnings = (
            f"(SUM(${col_warning}${first + 1}:${col_warning}${last + 1})+{'+'.join(c['blank'] for c in counts.values())}"
            f"{extra.get(Severity.WARNING, '')})"
        )
        # an incomplete roll-up never says 可以报送: its gaps line (the same as every other view of it) instead
        ok_text = (rollup_verdict(self.meta) if self.rollup else None) or VERDICTS["ok"]
        verdict = (
            f'=IF({nothing},"{VERDICTS["empty"]}",IF({errors}>0,"有 "&{errors}&" 项错误，请修改后报送",'
            f'IF({warnings}>0,"有 "&{warnings}&" 项警告，请填写说明或核实",{formula_string(ok_text)})))'
        )
        python = self.sheet_counts()
        banner, height = fmt["verdict"], 30
        if ok_text != VERDICTS["ok"]:  # the gaps line names units: wrapped, the row as tall as its lines (14 pt)
            banner = fmt["verdict_wrap"]
            height = 20 * math.ceil(text_width(ok_text) / 76) + 8
        ws.merge_range(layout.CHECK_VERDICT_ROW, 0, layout.CHECK_VERDICT_ROW, last_printed, "", banner)
        ws.write_formula(layout.CHECK_VERDICT_ROW, 0, verdict, banner, verdict_text(python, ok_text))
        ws.set_row(layout.CHECK_VERDICT_ROW, height)
        for text, kind in (
            ("错误", "status_bad"),
            ("警告", "status_warn"),
            *((("汇总不完整", "status_warn"),) if ok_text != VERDICTS["ok"] else ()),
            ("可以报送", "status_good"),
        ):
            options = {"type": "text", "criteria": "containing", "value": text, "format": fmt[f"cf_{kind}"]}
            ok(ws.conditional_format(layout.CHECK_VERDICT_ROW, 0, layout.CHECK_VERDICT_ROW, 0, options), "结论颜色")
        summary = (
            f'="错误 "&{errors}&" 项；警告 "&{warnings}&" 项；已说明 "&COUNTIF({res},"已说明")'
            f'&" 项；无法判断 "&COUNTIF({res},"无法判断")&" 项"'
        )
        ws.merge_range(layout.CHECK_SUMMARY_ROW, 0, layout.CHECK_SUMMARY_ROW, last_printed, "", fmt["text_bold"])
        ws.write_formula(layout.CHECK_SUMMARY_ROW, 0, summary, fmt["text_bold"], summary_line(python))
        # Colours of results: red for 不平衡/不通过/数值无效, green for 通过, amber for 已说明, grey for 无法判断
        for text, colour, criteria in (
            ("不", "#FFC7CE", "begins with"),
            (outcomes.INVALID_TEXT, "#FFC7CE", "begins with"),
            ("通过", "#C6EFCE", "begins with"),
            ("已说明", "#FFEB9C", "begins with"),
            ("无法判断", "#D9D9D9", "begins with"),
        ):
            options = {
                "type": "text",
                "criteria": criteria,
                "value": text,
                "format": self.wb.add_format({"bg_color": colour}),
            }
            ok(ws.conditional_format(first, layout.COL_RESULT, last, layout.COL_RESULT, options), "结果颜色")
        ws.freeze_panes(layout.CHECK_PROBLEMS_HEADER_ROW, 0)
        self.protect(ws)
        # The rule list's header on each of its pages, the unit and year on every page.
        self.print_setup(ws, last_printed, last, (header, header))
        ws.set_header(f"&L{page_text(f'填报单位：{ret.unit.name}')}&R{page_text(f'报告年度：{ret.year}')}")

    @classmethod
    def counts_for(cls, ret: Return) -> dict[str, int]:
        """sheet_counts for a return, without writing anything (tests compare it with a recalculated workbook)."""
        writer = cls.__new__(cls)
        writer.ret, writer.form = ret, ret.form
        writer.results = {r.rule.id: r for r in ret.rule_results()}
        return writer.sheet_counts()

    def sheet_counts(self) -> dict[str, int]:
        """The 校验 verdict's numbers in Python (the same arithmetic as its formulas)."""
        results = [self.results[r.id] for r in self.form.local_rules]
        tables = [self.table_counts(t) for t in self.form.tables]
        empty = all(c["not_filled"] for c in tables)
        blank_tables = 0 if empty else sum(bool(c["not_filled"]) for c in tables)
        return {
            "empty": empty,
            "errors": sum(r.outcome is Outcome.FAIL and r.rule.severity == "error" for r in results)
            + sum(c["invalid"] for c in tables)
            + (blank_tables if TABLE_BLANK.severity is Severity.ERROR else 0),
            "warnings": sum(r.outcome is Outcome.FAIL and r.rule.severity == "warning" for r in results)
            + sum(c["blank"] for c in tables)
            + (blank_tables if TABLE_BLANK.severity is Severity.WARNING else 0),
            "explained": sum(r.outcome is Outcome.EXPLAINED for r in results),
            "undetermined": sum(r.display == Outcome.UNDETERMINED.zh for r in results),
        }

    def nothing_filled(self) -> str:
        """The test that every table says 未填报 (the verdict's 尚未填报), over the status cells of 校验."""
        refs = [xl_rowcol_to_cell(layout.check_status_row(self.form, t.id), 1, True, True) for t in self.form.tables]
        return "AND(" + ",".join(outcomes.not_filled_test(r) for r in refs) + ")"

    def write_rule_row(self, ws, row: int, rule, status_ref: dict[str, str], first: int) -> None:
        fmt, result, sheet = self.fmt, self.results[rule.id], layout.CHECK_SHEET
        r1 = lambda col: xl_rowcol_to_cell(row, col)  # noqa: E731 - a short local alias reads better here
        ws.write_string(row, layout.COL_ID, rule.id, fmt["check_small"])
        ws.write_string(row, layout.COL_BASIS, rule.basis, fmt["check_small"])
        lines, shrink = fit_line(rule.title, CHECK_WIDTHS[layout.COL_TITLE])
        note = self.ret.explanations.get(rule.id, "") if rule.severity == "warning" else ""
        if note:
            lines = max(lines, print_lines(note, CHECK_WIDTHS[layout.COL_NOTE]))
        ws.write_string(row, layout.COL_TITLE, rule.title, fmt["check_shrink" if shrink else "check"])
        ws.set_row(row, line_height(lines))
        ref = lambda k: self.ref(k, sheet)  # noqa: E731
        node = rule.node
        if isinstance(node, expr.Compare):
            unknown = False  # a side over unusable cells (an imported report's) is blank, as Python has it
            for col, side, cached in (
                (layout.COL_LEFT, node.left, result.left),
                (layout.COL_RIGHT, node.right, result.right),
            ):
                shown = expr.render(side, ref)
                if cached is None and expr.refs(side):
                    shown, unknown = self.unknown_when_unusable(shown, list(expr.refs(side)), sheet), True
                ws.write_formula(row, col, f'=IFERROR({shown},"")', fmt["check_num"], cached_value(cached))
            difference = f"ROUND({r1(layout.COL_LEFT)}-{r1(layout.COL_RIGHT)},4)"
            if unknown:  # a side shown blank: the difference from the rule itself once it can fail
                difference = f"ROUND(({expr.render(node.left, ref)})-({expr.render(node.right, ref)}),4)"
            failed = outcomes.fail_display_formula(node.op, difference)
        else:
            for col in (layout.COL_LEFT, layout.COL_RIGHT):
                ws.write_string(row, col, "", fmt["check"])
            failed = outcomes.fail_display_formula(None, None)
        conditions: dict[str, str] = {}
        if rule.severity == "warning":
            conditions["explained"] = f"LEN(TRIM({r1(layout.COL_NOTE)}))>0"
            note_format = fmt["check"] if self.rollup else fmt["note"]  # a roll-up has nothing to fill in
            ws.write_string(row, layout.COL_NOTE, self.ret.explanations.get(rule.id, ""), note_format)
        else:
            ws.write_blank(row, layout.COL_NOTE, None, fmt["check"])
        closure = self.form.input_closure(expr.refs(node))
        if rule.tables:
            tests = ",".join(outcomes.not_filled_test(status_ref[t]) for t in rule.tables)
            conditions["table_not_filled"] = f"OR({tests})"
        helpers = expr._ranges([self.validity_ref(self.form.cell[k], sheet) for k in closure])
        conditions["invalid_input"] = f"SUM({','.join(helpers)})>0"
        if rule.blank == "undetermined":  # any blank input (outside a table marked 无此类事项) makes it 无法判断
            complete = []
            for table_id in rule.tables:
                table = self.form.table(table_id)
                keys = [k for k in closure if self.form.cell[k].table == table_id]
                flag = f"{quote_sheet(table.sheet)}!{xl_rowcol_to_cell(*layout.no_items_cell(table), True, True)}"
                complete.append(
                    f'OR({flag}="{layout.NO_ITEMS_YES}",COUNTA({self.input_ranges(keys, sheet)})={len(keys)})'
                )
            conditions["blank_input"] = f"NOT(AND({','.join(complete)}))"
        conditions["holds"] = expr.render(node, ref, rule.tolerance)
        formula = "=" + outcomes.outcome_formula(conditions, failed)
        ws.write_formula(row, layout.COL_RESULT, formula, fmt["check"], result.display)
        # The level only where it matters: beside a rule that fails or is explained (not beside 通过 or 无法判断).
        level = outcomes.Severity(rule.severity).zh
        shown = f'OR(LEFT({r1(layout.COL_RESULT)},1)="不",{r1(layout.COL_RESULT)}="{Outcome.EXPLAINED.zh}")'
        ws.write_formula(
            row,
            layout.COL_SEVERITY,
            f'=IF({shown},"{level}","")',
            fmt["check"],
            level if result.outcome in (Outcome.FAIL, Outcome.EXPLAINED) else "",
        )
        # Hidden flags: failed error, failed warning, and the rank of this rule in the problems list
        error = f'IF(LEFT({r1(layout.COL_RESULT)},1)="不",1,0)' if rule.severity == "error" else "0"
        warning = f'IF(LEFT({r1(layout.COL_RESULT)},1)="不",1,0)' if rule.severity == "warning" else "0"
        ws.write_formula(
            row,
            layout.COL_ERROR,
            "=" + error,
            fmt["helper"],
            int(result.outcome is Outcome.FAIL and rule.severity == "error"),
        )
        ws.write_formula(
            row,
            layout.COL_WARNING,
            "=" + warning,
            fmt["helper"],
            int(result.outcome is Outcome.FAIL and rule.severity == "warning"),
        )

    # --- the problems list: every counted problem, one line each (blank cells one line per row) -----------------------
    def write_problem_list(self, ws) -> None:
        """Hidden item rows (one per line the list can show, in order) hold how many problems each line counts, a
        running count of the lines shown and their texts; the n-th printed row finds its line with MATCH on the
        running count (INDEX/MATCH, no arrays: every engine computes the same)."""
        form, fmt = self.form, self.fmt
        top = layout.CHECK_PROBLEMS_HEADER_ROW
        for col, text in enumerate(["需要处理的问题", "结果", "数值或单元格", "级别"]):
            ws.write_string(top, col, text, fmt["header"])
        helpers = ["空白格数", "累计", "问题", "结果", "数值或单元格"]
        for col, text in enumerate(helpers, start=layout.COL_ITEM_N):
            ws.write_string(top, col, text, fmt["helper"])
        # Lean item rows (every return's file carries them, and merge reads thousands of files): a cell only where a
        # line needs one; the result of an invalid entry and every line's 级别 follow from its position in the list.
        slots = problem_slots(self.ret)
        running = 0
        for i, slot in enumerate(slots):
            row = top + 1 + i
            line = slot_line(slot, self.ret, self.results)
            running += line is not None
            flag, result = self.item_flag(ws, row, slot, line)
            before = f"{xl_rowcol_to_cell(row - 1, layout.COL_ITEM_RUNNING)}+" if i else ""
            ws.write_formula(row, layout.COL_ITEM_RUNNING, f"={before}IF({flag}>0,1,0)", fmt["helper"], running)
            ws.write_string(row, layout.COL_ITEM_WHAT, slot.what, fmt["helper"])
            if result is not None:
                ws.write_formula(row, layout.COL_ITEM_RESULT, "=" + result[0], fmt["helper"], result[1])
            values = f'=IF({flag}>0,{self.item_values(slot, flag)},"")'
            ws.write_formula(row, layout.COL_ITEM_VALUES, values, fmt["helper"], line.values if line else "")
        last = top + len(slots)
        column = lambda c: f"${xl_col_to_name(c)}${top + 2}:${xl_col_to_name(c)}${last + 1}"  # noqa: E731
        total = xl_rowcol_to_cell(last, layout.COL_ITEM_RUNNING, True, True)
        invalid = sum(s.kind == "invalid" for s in slots)
        errors = sum(s.severity is Severity.ERROR for s in slots)
        rows = layout.check_problem_rows(form)
        shown = shown_lines(problem_lines(self.ret, self.results), rows)
        before, after = LIST_WORDS["overflow"].split("{n}")
        for n in range(1, rows + 1):
            row = top + n
            found = f"MATCH({n},{column(layout.COL_ITEM_RUNNING)},0)"
            texts = (
                f"INDEX({column(layout.COL_ITEM_WHAT)},{found})",
                f'IF({found}<={invalid},"{LIST_WORDS["invalid"]}",INDEX({column(layout.COL_ITEM_RESULT)},{found}))',
                f"INDEX({column(layout.COL_ITEM_VALUES)},{found})",
                f'IF({found}<={errors},"{Severity.ERROR.zh}","{Severity.WARNING.zh}")',
            )
            for col, text in enumerate(texts):
                empty = f'"{LIST_WORDS["none"]}"' if (n, col) == (1, 0) else '""'
                formula = f"IFERROR({text},{empty})"
                if n == rows:  # the last row says how many lines did not fit
                    more = f'"{before}"&({total}-{rows - 1})&"{after}"' if col == 0 else '""'
                    formula = f"IF({total}>{rows},{more},{formula})"
                ws.write_formula(row, col, "=" + formula, fmt["text"], shown[n - 1][col])
        # Rows draw their borders only when they show a line, so an empty list prints as empty paper. LibreOffice
        # applies one conditional format per cell: the result colours carry the border too and come first.
        for text, colour, criteria in (
            ("不", "#FFC7CE", "begins with"),
            (LIST_WORDS["invalid"], "#FFC7CE", "begins with"),
            ("格空白", "#E4DFEC", "containing"),
            (TABLE_BLANK.zh, "#E4DFEC", "containing"),
        ):
            look = self.wb.add_format({"bg_color": colour, "border": 1})
            options = {"type": "text", "criteria": criteria, "value": text, "format": look}
            ok(ws.conditional_format(top + 1, 1, top + rows, 1, options), "问题清单颜色")
        anchor = f"=LEN($A{top + 2})>0"
        boxed = {"type": "formula", "criteria": anchor, "format": self.wb.add_format({"border": 1})}
        ok(ws.conditional_format(top + 1, 0, top + rows, 3, boxed), "问题清单边框")
        # The rules start on a page of their own: the first page holds the verdict, the problems and the statuses
        ws.set_h_pagebreaks([layout.check_rule_header_row(form)])

    def item_flag(self, ws, row: int, slot: Slot, line) -> tuple[str, tuple[str, str] | None]:
        """The cell that says whether a slot shows (more than 0: it does) and its result formula with the cached text;
        a blank row's count of blank cells is written in the row's own helper cell."""
        sheet = layout.CHECK_SHEET
        if slot.kind == "invalid":
            return self.validity_ref(slot.cells[0], sheet), None
        if slot.kind == "rule":
            rule_row = layout.check_rule_row(self.form, slot.rule)
            col = layout.COL_ERROR if slot.rule.severity == "error" else layout.COL_WARNING
            result = xl_rowcol_to_cell(rule_row, layout.COL_RESULT, True, True)
            return xl_rowcol_to_cell(rule_row, col, True, True), (result, self.results[slot.rule.id].display)
        table = slot.table
        if slot.kind == "table":  # shown while the table says 未填报 and another table is filled
            status = xl_rowcol_to_cell(layout.check_status_row(self.form, table.id), 1, True, True)
            count = f"=IF(AND({outcomes.not_filled_test(status)},NOT({self.nothing_filled()})),1,0)"
            ws.write_formula(row, layout.COL_ITEM_N, count, self.fmt["helper"], line.n if line else 0)
            return xl_rowcol_to_cell(row, layout.COL_ITEM_N), (formula_string(TABLE_BLANK.zh), TABLE_BLANK.zh)
        own = [c.key for c in table.cells if c.is_input and c.key not in self.ret.prefilled]
        flag = f"{quote_sheet(table.sheet)}!{xl_rowcol_to_cell(*layout.no_items_cell(table), True, True)}"
        cells = self.input_ranges([c.key for c in slot.cells], sheet)
        count = (
            f'=IF(OR({flag}="{layout.NO_ITEMS_YES}",COUNTA({self.input_ranges(own, sheet)})=0),0,'
            f"{len(slot.cells)}-COUNTA({cells}))"
        )
        n = line.n if line else 0
        ws.write_formula(row, layout.COL_ITEM_N, count, self.fmt["helper"], n)
        n_cell = xl_rowcol_to_cell(row, layout.COL_ITEM_N)
        before, after = LIST_WORDS["blank"].split("{n}")
        return n_cell, (f'"{before}"&{n_cell}&"{after}"', LIST_WORDS["blank"].format(n=n))

    def item_values(self, slot: Slot, flag: str) -> str:
        """The formula of a line's values: what was typed, a rule's two sides, or a row's blank cells."""
        sheet = layout.CHECK_SHEET
        if slot.kind == "invalid":
            ref = self.ref(slot.cells[0].key, sheet)
            before, middle = LIST_WORDS["typed"].split("{raw}")
            return f'"{before.format(a1=slot.cells[0].a1)}"&LEFT({ref}&"",{TYPED_CHARS})&"{middle}"'
        if slot.kind == "rule":
            row = layout.check_rule_row(self.form, slot.rule)
            left, right = (xl_rowcol_to_cell(row, c, True, True) for c in (layout.COL_LEFT, layout.COL_RIGHT))
            return f'IF({left}="","","左边 "&{left}&"，右边 "&{right})'
        if slot.kind == "table":
            return '""'  # what to do is said in the line itself (the values column is narrow)
        parts = "&".join(f'IF(ISBLANK({self.ref(c.key, sheet)}),"、{c.a1}","")' for c in slot.cells)
        return f'IF({flag}={len(slot.cells)},"{slot.span}",MID({parts},2,{4 * len(slot.cells) + 8}))'

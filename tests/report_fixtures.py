"""Build published-report fixtures from the seed transcriptions (tests/seed_data.py): HTML and Word (.docx).

The tables are laid out as real reports lay them out (official-format.md §3–§5), with real merges: Table 二 as
caption / 信息内容 header / data blocks on a 6-column value grid, so 1-, 2- and 3-value blocks all use colspan (北京's
split rows use a row-merged parent cell); Tables 三 and 四 with the official merged headers and row labels, taken from
the form's own label spans. Labels can be varied the way real reports vary them (ASCII punctuation, line breaks).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xltool.forms import TABLE_ROW, Form, form_for_year

VALUE_GRID = 6  # Table 二 value columns: divisible by 1, 2 and 3 values per block

# Labels as the seed reports print them (official-format.md §8.1), official text -> printed text.
LOCAL_LABELS = {
    "000_f7ae2b9bd63a851c": {"其他对外管理服务事项": "其他对外管理服务事项（除行政许可外的其他行政权力）"},
    "001_5f44b5de1c5f047b": {"采购总金额": "采购总金额（万元，保留四位小数）"},
    "003_d6f47a2b38dcf6cb": {
        "一、本年新收政府信息公开申请数量": "一、本年新收到政府信息公开申请数量",
        "二、上年结转政府信息公开申请数量": "二、上年结转政府信息公开数量",
        "3.危及“三安全一稳定”": "3.危机“三安全一稳定”",
        "7.属于行政执法案卷": "7.属于行政法案卷",
        "2.没有现成信息需要另行制作": "2.没有现成信息需另行制作",
    },
}
HEADINGS = {
    "active": "二、主动公开政府信息情况",
    "apply": "三、收到和处理政府信息公开申请情况",
    "appeal": "四、政府信息公开行政复议、行政诉讼情况",
}


@dataclass
class Spec:
    """One printed cell: its text and the rectangle it covers (0-based top-left, size in rows and columns)."""

    text: str
    row: int
    col: int
    rows: int = 1
    cols: int = 1


@dataclass
class TableSpec:
    height: int
    width: int
    cells: list[Spec] = field(default_factory=list)


def ascii_punctuation(text: str) -> str:
    """Full-width brackets, colon and comma turned into ASCII, as some published copies do."""
    return text.translate(str.maketrans({"（": "(", "）": ")", "：": ":", "，": ","}))


def line_breaks(text: str) -> str:
    """A line break in the middle of every label of six characters or more (narrow Word columns)."""
    return text if len(text) < 6 else f"{text[: len(text) // 2]}\n{text[len(text) // 2 :]}"


def both(text: str) -> str:
    return line_breaks(ascii_punctuation(text))


def report_tables(seed_id: str, seed: dict, variant: Callable[[str], str] = str) -> dict[str, TableSpec]:
    form = form_for_year(seed["year"])
    local = LOCAL_LABELS.get(seed_id, {})

    def label(text: str) -> str:
        return variant(local.get(text, text))

    return {
        "active": _active(form, seed, label),
        "apply": _matrix(form, "apply", seed, label),
        "appeal": _matrix(form, "appeal", seed, label),
    }


def _printed(seed: dict, key: str) -> str:
    if key in seed["odd"]:
        return seed["odd"][key]
    return str(seed["values"].get(key, ""))


def _active(form: Form, seed: dict, label: Callable[[str], str]) -> TableSpec:
    table = form.table("active")
    split: dict[str, list[tuple[str, list]]] = {}
    for name, values in seed["extra"].items():
        parent, sub = name.split("/")
        split.setdefault(parent, []).append((sub, values))
    label_cols = 2 if split else 1
    spec = TableSpec(0, label_cols + VALUE_GRID)
    r = 0
    for caption in dict.fromkeys(c.label_path[0] for c in table.cells):
        cells = [c for c in table.cells if c.label_path[0] == caption]
        headers = list(dict.fromkeys(c.label_path[2] for c in cells))
        span = VALUE_GRID // len(headers)
        spec.cells.append(Spec(label(caption), r, 0, cols=spec.width))
        spec.cells.append(Spec("信息内容", r + 1, 0, cols=label_cols))
        spec.cells += [Spec(label(h), r + 1, label_cols + i * span, cols=span) for i, h in enumerate(headers)]
        r += 2
        for row_label in dict.fromkeys(c.label_path[1] for c in cells):
            if row_label in split:
                parts = split[row_label]
                spec.cells.append(Spec(label(row_label), r, 0, rows=len(parts)))
                for sub, values in parts:
                    spec.cells.append(Spec(sub, r, 1))
                    spec.cells += [Spec(str(v), r, label_cols + i * span, cols=span) for i, v in enumerate(values)]
                    r += 1
                continue
            spec.cells.append(Spec(label(row_label), r, 0, cols=label_cols))
            row = [c for c in cells if c.label_path[1] == row_label]
            spec.cells += [Spec(_printed(seed, c.key), r, label_cols + i * span, cols=span) for i, c in enumerate(row)]
            r += 1
    spec.height = r
    return spec


def _matrix(form: Form, table_id: str, seed: dict, label: Callable[[str], str]) -> TableSpec:
    table = form.table(table_id)
    spec = TableSpec(0, table.width)
    for lb in table.labels:
        spec.cells.append(
            Spec(
                label(lb.text),
                lb.first_row - TABLE_ROW,
                lb.first_col,
                lb.last_row - lb.first_row + 1,
                lb.last_col - lb.first_col + 1,
            )
        )
    spec.cells += [Spec(_printed(seed, c.key), c.row - TABLE_ROW, c.col) for c in table.cells]
    spec.height = max(s.row + s.rows for s in spec.cells)
    return spec


def _title(seed: dict) -> str:
    return f"{seed['unit']}{seed['year']}年政府信息公开工作年度报告"


def write_html(
    seed_id: str, seed: dict, path: Path, variant: Callable[[str], str] = both, encoding: str = "utf-8"
) -> Path:
    """A report page: title, section headings and the three tables with rowspan/colspan."""
    parts = [
        f'<!DOCTYPE html><html><head><meta charset="{encoding}"><title>{html.escape(_title(seed))}</title>'
        "</head><body>",
        f"<h1>{html.escape(_title(seed))}</h1>",
        "<p>一、总体情况</p><p>本单位依法做好政府信息公开工作。</p>",
    ]
    for table_id, spec in report_tables(seed_id, seed, variant).items():
        parts.append(f"<p>{HEADINGS[table_id]}</p>")
        parts.append(_html_table(spec))
    parts.append("<p>五、存在的主要问题及改进情况</p><p>无。</p></body></html>")
    path.write_bytes("".join(parts).encode(encoding))
    return path


def _html_table(spec: TableSpec) -> str:
    rows = []
    for r in range(spec.height):
        tds = []
        for s in sorted((s for s in spec.cells if s.row == r), key=lambda s: s.col):
            attrs = (f' rowspan="{s.rows}"' if s.rows > 1 else "") + (f' colspan="{s.cols}"' if s.cols > 1 else "")
            text = html.escape(s.text).replace("\n", "<br>").replace("\xa0", "&nbsp;")
            tds.append(f"<td{attrs}>{text}</td>")
        rows.append(f"<tr>{''.join(tds)}</tr>")
    return f'<table border="1">{"".join(rows)}</table>'


def write_docx(seed_id: str, seed: dict, path: Path, variant: Callable[[str], str] = line_breaks) -> Path:
    """A Word report: the unit on its own line above the title, then the three tables with merged cells."""
    import docx

    document = docx.Document()
    document.add_paragraph(seed["unit"])
    document.add_paragraph(f"{seed['year']}年度政府信息公开工作年度报告")
    document.add_paragraph("一、总体情况")
    for table_id, spec in report_tables(seed_id, seed, variant).items():
        document.add_paragraph(HEADINGS[table_id])
        table = document.add_table(rows=spec.height, cols=spec.width)
        for s in spec.cells:
            cell = table.cell(s.row, s.col)
            if s.rows > 1 or s.cols > 1:
                cell = cell.merge(table.cell(s.row + s.rows - 1, s.col + s.cols - 1))
            cell.text = s.text
    document.add_paragraph("五、存在的主要问题及改进情况")
    document.save(str(path))
    return path


def write_markdown(seed_id: str, seed: dict, path: Path, variant: Callable[[str], str] = both) -> Path:
    """A Markdown report: the title (year after the name of the report), then pipe tables, merged cells left empty."""
    lines = [f"# {seed['unit']}政府信息公开工作年度报告（{seed['year']}年度）", ""]
    for table_id, spec in report_tables(seed_id, seed, variant).items():
        grid = [[""] * spec.width for _ in range(spec.height)]
        for s in spec.cells:
            grid[s.row][s.col] = s.text.replace("\n", "<br>")
        lines += [HEADINGS[table_id], ""]
        lines += [f"| {' | '.join(grid[0])} |", "|" + "---|" * spec.width]
        lines += [f"| {' | '.join(row)} |" for row in grid[1:]]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path

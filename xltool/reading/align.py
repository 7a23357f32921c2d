"""Sequence alignment to the form: Tables 三 and 四 read from text whose table structure a converter scrambled.

What pdftotext, pymupdf4llm or markitdown make of a PDF table: header fragments, labels split over lines and away
from their numbers, the merged row-group label one or two characters per line, cells shifted by one, separator lines
in the wrong place. What survives is the order: the official Table 三 is a fixed sequence of rows of 7 numbers
(six applicant columns and 总计), Table 四 one row of 15. So:

1. the numbers of the table's region are taken in reading order, a line's numbers one group (lines holding only
   numbers joined until a row is complete);
2. each group of 7 is a row candidate; the labels that survive whole near a group are anchors (this group is that
   row);
3. the groups are aligned to the form's rows in order: a group is placed only where every order-keeping placement
   that respects the anchors puts it (unique), otherwise it is left unknown;
4. the placement is checked by the form's own arithmetic (xltool.evaluation over the form's rules): a placement by
   position that breaks a rule is withdrawn — a wrong number is worse than an unknown one.

Which rows were placed by label and which by position is said in the page's notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from xltool.formats._report import stacked
from xltool.formats._scraped import _grid
from xltool.formats.page import Page
from xltool.forms import Form, Table, all_forms
from xltool.labels import norm

# a cell's number as converters print it; '.0', '0.0' and dashes hold a cell's place (read, or refused, as printed)
_NUMBER = re.compile(r"^(?:\d{1,7}|\d{0,7}\.\d{1,4}|[-—－–])$")
_MARKUP = re.compile(r"<br\s*/?>|\*\*|__|`|#+\s")
_APPLY_START = ("收到和处理政府信息公开申请情况", "申请人情况")
_APPEAL_START = ("行政复议、行政诉讼情况", "行政复议行政诉讼情况", "行政复议行政诉讼")
_SECTION_FIVE = re.compile(r"^\s*[#*\s]*五\s*[、.．]")


@dataclass
class _Group:
    values: list[str]
    line: int  # 1-based line of its first number
    before: str = ""  # the text since the group before (normalised)
    printed: str = ""  # the same as printed, for the notes
    anchors: set[int] = field(default_factory=set)  # form rows a surviving label says this is
    lead: str = ""  # the text printed on the numbers' own line before them (normalised)
    near: bool = False  # the label was printed with a slip (within one edit)


def _tokens(line: str) -> list[str]:
    line = _MARKUP.sub(" ", line).replace("|", " ")
    if re.fullmatch(r"[\s\-:]*", line):
        return []
    return line.split()


_ROW_START = re.compile(r"^(?:\d\.|\([一二三四五六七八九十]\)|[一二三四五六七八九十]、)")


def _groups(lines: list[str], first: int, stop: int, size: int, skip: set[str] | None = None) -> list[_Group]:
    """The number groups of lines[first:stop] in reading order: a line's numbers, number-only lines joined up to
    `size` numbers; the text between groups kept for anchors. With `skip` (the numberings of row-group labels), a
    row's numbering followed by no number before the next row's numbering is an empty group: a row printed blank."""
    out: list[_Group] = []
    text: list[str] = []
    open_: _Group | None = None  # a group still short of `size`, continued by a number-only line
    pending: int | None = None  # the line of a row's numbering not yet followed by a number
    for i in range(first, stop):
        toks = _tokens(lines[i])
        nums = [t for t in toks if _NUMBER.match(t)]
        words = [t for t in toks if not _NUMBER.match(t)]
        if skip is not None:
            for t in words:
                m = _ROW_START.match(norm(t))
                if m and m.group(0) not in skip:
                    if pending is not None:
                        out.append(_Group([], pending, norm("".join(text))))
                        text = []
                    pending = i + 1
        if not nums:
            if words:
                text.append("".join(words))
                open_ = None
            continue
        if words and words[-1] != toks[-1]:  # words among the numbers: not a table row (a sentence, a date)
            lead = toks.index(nums[0])
            if any(not _NUMBER.match(t) for t in toks[lead:]):
                text.append("".join(words))
                open_ = None
                continue
        pending = None
        lead = "".join(t for t in toks[: toks.index(nums[0])])
        if open_ is not None and not lead and len(open_.values) + len(nums) <= size:
            open_.values += nums
        else:
            printed = " ".join([*text, lead]).strip()
            open_ = _Group(nums, i + 1, norm("".join(text) + lead), printed[-30:], lead=norm(lead))
            out.append(open_)
            text = []
        if len(open_.values) >= size:
            open_ = None
    if pending is not None:
        out.append(_Group([], pending, norm("".join(text))))
    return out


def _group_numberings(table: Table) -> set[str]:
    """The numberings of the labels that span several rows (三、 （三） …): they start no row of numbers."""
    out = set()
    for lb in table.labels:
        if lb.kind == "row" and lb.last_row > lb.first_row and (m := _ROW_START.match(norm(lb.text))):
            out.add(m.group(0))
    return out


def _region(lines: list[str], starts: tuple[str, ...], after: int = 0) -> int | None:
    for i in range(after, len(lines)):
        flat = norm(_MARKUP.sub("", lines[i]))
        if any(s in flat for s in starts):
            return i
    return None


def _row_labels(table: Table) -> list[tuple[int, list[str]]]:
    """(form row, the label texts naming it, innermost first) for each data row of the table."""
    rows = sorted({c.row for c in table.cells})
    out = []
    for r in rows:
        labels = [lb for lb in table.labels if lb.kind == "row" and lb.first_row <= r <= lb.last_row]
        labels.sort(key=lambda lb: -lb.first_col)
        out.append((r, [lb.text for lb in labels]))
    return out


def _body(label: str) -> str:
    """A label without its numbering: 1.属于国家秘密 → 属于国家秘密."""
    return norm(re.sub(r"^\s*(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十\d]+\s*[、.．])", "", label))


def _anchor(groups: list[_Group], table: Table) -> None:
    """A group preceded by the whole body of exactly one row's own label is that row."""
    rows = _row_labels(table)
    bodies = [(k, _body(names[0])) for k, (_, names) in enumerate(rows)]
    whole = [(k, norm(names[0])) for k, (_, names) in enumerate(rows)]
    for g in groups:
        # the label right before the numbers, and no other row's label between them and the group before
        # (a converter that prints a batch of labels and then a batch of number rows anchors nothing)
        inside = {k for k, b in bodies if len(b) >= 4 and b in g.before}
        inside = {k for k in inside if not any(k != o and bodies[k][1] in bodies[o][1] for o in inside)}
        ends = {k for k in inside if g.before.endswith(bodies[k][1])}
        ends |= {k for k, w in whole if len(w) >= 4 and g.before.endswith(w)}
        # the whole label printed on the numbers' own line is that row's, whatever other labels came before
        same_line = {k for k, b in bodies if len(b) >= 4 and g.lead.endswith(b)}
        same_line |= {k for k, w in whole if len(w) >= 4 and g.lead.endswith(w)}
        if len(same_line) == 1:
            g.anchors = same_line
        elif len(ends) == 1 and inside <= ends:
            g.anchors = ends
        elif not inside:  # an OCR or conversion slip (a look-alike or a missing character) in the label
            near = {k for k, b in bodies if len(b) >= 6 and _near_end(g.before, b)}
            if len(near) == 1:
                g.anchors = near
                g.near = True


def _near_end(text: str, body: str) -> bool:
    """`text` ends with `body` printed with one character wrong, missing or extra."""
    from xltool.formats._scraped import _edit_distance

    return any(
        _edit_distance(text[-n:], body) <= 1 for n in (len(body) - 1, len(body), len(body) + 1) if n <= len(text)
    )


def _label_lines(lines: list[str], first: int, stop: int, table: Table) -> dict[int, int]:
    """Form row -> the 1-based line where its whole label (numbering and words, numbers between its pieces skipped)
    is first printed in lines[first:stop]; only labels no other row's label contains, and only when the labels found
    come in the form's order (a text that prints each label before its numbers)."""
    flat, where = "", []
    for i in range(first, stop):
        for t in _tokens(lines[i]):
            if not _NUMBER.match(t):
                piece = norm(t)
                flat += piece
                where += [i + 1] * len(piece)
    names = [norm(names[0]) for _, names in _row_labels(table)]
    out: dict[int, int] = {}
    for k, name in enumerate(names):
        if len(name) >= 4 and not any(o != k and name in other for o, other in enumerate(names)):
            at = flat.find(name)
            if at >= 0:
                out[k] = where[at]
    found = [out[k] for k in sorted(out)]
    return out if found == sorted(found) else {}


def _placements(groups: list[_Group], n: int, label_line: dict[int, int] | None = None) -> list[set[int]]:
    """For each group, the rows it can take in an order-keeping placement of every group that respects anchors (and,
    with `label_line`, prints no row's numbers before that row's label)."""
    m = len(groups)
    if m > n:
        return [set() for _ in groups]
    after = label_line or {}

    def ok(i: int, j: int) -> bool:
        # a line of slack: OCR may set a label's first line a hair below the numbers beside it
        return (not groups[i].anchors or j in groups[i].anchors) and groups[i].line >= after.get(j, 0) - 1

    # fwd[i][j]: groups[:i+1] placeable with group i at row j; bwd likewise for groups[i:]
    fwd = [[False] * n for _ in range(m)]
    for i in range(m):
        for j in range(n):
            fwd[i][j] = ok(i, j) and (i == 0 or any(fwd[i - 1][:j]))
    bwd = [[False] * n for _ in range(m)]
    for i in range(m - 1, -1, -1):
        for j in range(n):
            bwd[i][j] = ok(i, j) and (i == m - 1 or any(bwd[i + 1][j + 1 :]))
    return [{j for j in range(n) if fwd[i][j] and bwd[i][j]} for i in range(m)]


@dataclass
class Aligned:
    form: Form
    values: dict[str, dict[str, str]]  # table id -> key -> printed number
    notes: list[str]


def _check(form: Form, values: dict[str, str], prefix: str) -> list[str]:
    """The rules of the table (ids starting with `prefix`) that the placed numbers break."""
    from xltool.model import Return

    numbers = {}
    for k, v in values.items():
        try:
            numbers[k] = Decimal(v)
        except ArithmeticError:  # a dash or a stray character: left out of the check
            continue
    ret = Return(form, 0, values=numbers)
    return [
        r.rule.id
        for r in ret.rule_results()
        if r.rule.id.startswith(prefix) and r.outcome == "fail" and r.rule.severity == "error"
    ]


MAX_PLACEMENTS = 3000  # order-keeping placements tried against the arithmetic; more proves nothing


def _all_placements(can: list[set[int]]) -> list[tuple[int, ...]] | None:
    """Every order-keeping placement within the rows each group can take; None when there are too many."""
    out: list[tuple[int, ...]] = []

    def walk(i: int, after: int, got: tuple[int, ...]) -> bool:
        if i == len(can):
            out.append(got)
            return len(out) <= MAX_PLACEMENTS
        return all(walk(i + 1, j, (*got, j)) for j in sorted(can[i]) if j > after)

    return out if walk(0, -1, ()) else None


def _apply(lines: list[str], form: Form, notes: list[str]) -> tuple[dict[str, str], int, int] | None:
    """Table 三 aligned to `form`: (values by key, where the table's region ends, how many of the form's own row
    labels the text spells), None when no row could be placed."""
    table = form.table("apply")
    start = _region(lines, _APPLY_START)
    if start is None:
        return None
    stop = _region(lines, _APPEAL_START, start + 1) or next(
        (i for i in range(start + 1, len(lines)) if _SECTION_FIVE.match(lines[i])), len(lines)
    )
    width = len([c for c in table.cells if c.row == table.cells[0].row])
    rows = _row_labels(table)
    groups = _groups(lines, start + 1, stop, width)
    if len(groups) < len(rows):  # rows printed blank, told by their numbering alone
        marked = _groups(lines, start + 1, stop, width, _group_numberings(table))
        if len(marked) == len(rows):
            groups = marked
    _anchor(groups, table)
    cells_by_row: dict[int, list] = {}
    for c in sorted(table.cells, key=lambda c: (c.row, c.col)):
        cells_by_row.setdefault(c.row, []).append(c)

    def full(placement: tuple[int, ...]) -> dict[str, str | None]:
        """A whole placement: the groups' numbers (None for a group of the wrong size), rows without one blank."""
        out: dict[str, str | None] = {c.key: "" for c in table.cells}
        for k, g in zip(placement, groups, strict=True):
            cells = cells_by_row[rows[k][0]]
            out.update(
                {
                    c.key: (g.values[j] if len(g.values) == width else "" if not g.values else None)
                    for j, c in enumerate(cells)
                }
            )
        return out

    can = _placements(groups, len(rows))
    if len(groups) < len(rows):  # rows missing: a row cannot take numbers printed before its own label
        ordered = _placements(groups, len(rows), _label_lines(lines, start + 1, stop, table))
        if all(ordered):
            can = ordered
    every = _all_placements(can) if all(can) else []
    values: dict[str, str] = {}
    if every:  # the arithmetic as a constraint: placements that break a rule of the table are dropped
        fulls = [full(p) for p in every]
        consistent = [i for i, f in enumerate(fulls) if not _check(form, {k: v for k, v in f.items() if v}, "T3")]
        pool = consistent or list(range(len(every)))
        can = [{every[i][g] for i in pool} for g in range(len(groups))]
        for c in table.cells:  # a number every remaining placement agrees on is known, wherever its row went
            seen = {fulls[i][c.key] for i in pool}
            if len(seen) == 1 and None not in seen:
                values[c.key] = seen.pop()  # type: ignore[assignment]
    by_label, by_position, unsure = [], [], 0
    for g, rows_ in zip(groups, can, strict=True):
        if len(rows_) != 1 or len(g.values) != width:
            unsure += bool(g.values)
            continue
        k = next(iter(rows_))
        if every is None:  # too many placements to try: only what the anchors and the order force
            values.update({c.key: v for c, v in zip(cells_by_row[rows[k][0]], g.values, strict=True)})
        (by_label if g.anchors else by_position).append((rows[k][1][0], g))
    if not any(values.values()):
        return None
    blank = [names[0] for r, names in rows if all(values.get(c.key) == "" for c in cells_by_row[r])]
    if blank:
        notes.append(f"表三：{'、'.join(blank)} 没有印数字（空白）")
    if by_label:
        notes.append(f"表三：{len(by_label)} 行按标签对应（{'、'.join(n for n, _ in by_label[:4])}…）")
    for name, g in by_label:
        if g.near:
            notes.append(f"表三：第 {g.line} 行前的标签“{g.printed}”与「{name}」相差一个字，按近似标签对应")
    if by_position:
        shown = "；".join(
            f"第 {g.line} 行的数字作「{name}」（前面印的是“{g.printed or '无文字'}”）" for name, g in by_position[:6]
        )
        notes.append(
            f"表三：{len(by_position)} 行的标签缺失、拆散或不一致，按官方表格的行序"
            + ("和表内勾稽关系" if len(groups) != len(rows) else "")
            + f"对应：{shown}"
            + ("；…" if len(by_position) > 6 else "")
        )
    if unsure:
        notes.append(f"表三：{unsure} 组数字无法确定所在的行，其中各种可能的对应都一致的数字已读取，其余按无法判断处理")
    return values, stop, _own_labels_spelled(lines[start:stop], form)


def _own_labels_spelled(lines: list[str], form: Form) -> int:
    """How many row labels of Table 三 that only this version has the text spells, even split over lines and
    interleaved with another column (its characters in order within a short stretch)."""
    others = {norm(lb.text) for f in all_forms() if f is not form for lb in f.table("apply").labels}
    own = [_body(lb.text) for lb in form.table("apply").labels if norm(lb.text) not in others]
    flat = norm("".join(_MARKUP.sub("", line) for line in lines))
    return sum(1 for body in own if len(body) >= 4 and _spelled(body, flat))


def _spelled(word: str, text: str) -> bool:
    span = 3 * len(word)
    for i, ch in enumerate(text):
        if ch != word[0]:
            continue
        k = 1
        for c in text[i + 1 : i + span]:
            if k < len(word) and c == word[k]:
                k += 1
        if k == len(word):
            return True
    return False


def _appeal(lines: list[str], form: Form, start: int, notes: list[str]) -> dict[str, str]:
    table = form.table("appeal")
    head = _region(lines, _APPEAL_START, start)
    if head is None:
        return {}
    stop = next((i for i in range(head + 1, len(lines)) if _SECTION_FIVE.match(lines[i])), min(len(lines), head + 80))
    groups = _groups(lines, head + 1, stop, len(table.cells))
    numbers = [v for g in groups for v in g.values]
    if len(numbers) != len(table.cells):
        if numbers:
            notes.append(f"表四：找到 {len(numbers)} 个数，应有 {len(table.cells)} 个，无法对应，按无法判断处理")
        return {}
    cells = sorted(table.cells, key=lambda c: c.col)
    values = {c.key: v for c, v in zip(cells, numbers, strict=True)}
    broken = _check(form, values, "T4")
    notes.append("表四：表格结构在转换中丢失，15 个数按官方表格的列序对应" + ("" if broken else "，与表内勾稽关系一致"))
    return values


def aligned_page(lines: list[str], year: int | None, forms: list[Form] | None = None) -> Page | None:
    """Tables 三 and 四 of a scrambled text by alignment to the form (of `forms`, default every form) whose row
    labels the text spells most (the year's form on a tie); None when no table could be placed."""
    from xltool.forms import form_for_year

    try:
        preferred = form_for_year(year) if year else None
    except Exception:  # an unknown year: every form is tried alike
        preferred = None
    best: tuple[tuple, Form, dict, dict, list[str]] | None = None
    for form in forms or all_forms():
        notes: list[str] = []
        got = _apply(lines, form, notes)
        v3, stop, own = got if got is not None else ({}, 0, 0)
        v4 = _appeal(lines, form, stop, notes)
        if not v3 and not v4:
            continue
        score = (own, len(v3) + len(v4), form is preferred)
        if best is None or score > best[0]:
            best = (score, form, v3, v4, notes)
    if best is None:
        return None
    _, form, v3, v4, notes = best
    tables = ([(form.table("apply"), v3)] if v3 else []) + ([(form.table("appeal"), v4)] if v4 else [])
    page = stacked("text", [_grid(t, _filled(t, v)) for t, v in tables], lines)
    page.notes = notes
    page.aligned_form = form.id  # type: ignore[attr-defined]
    return page


def _filled(table: Table, values: dict[str, str]) -> dict[str, str]:
    """Cells not placed are unknown, named as such (never blank, never 0)."""
    return {c.key: values.get(c.key, "无法确定（表格结构在转换中丢失）") for c in table.cells}

"""Splitting run-together digits back into table cells by constraint solving.

Scraped report pages often lose the cell borders of the statistics tables: a Table 三 row printed as 41 | 2 | 0 | 0 |
0 | 0 | 43 arrives as ``412000043``, sometimes with stray spaces (``10 0 00 0 1``). A run of digits and spaces is split
into exactly ``n`` numbers: spaces always separate cells, a token may hold several cells, a number has no leading zero
(except a lone 0) and at most ``MAX_DIGITS`` digits.

`splits()` enumerates the candidates of one run; `solve()` chooses one split per row so that every constraint holds
(each constraint says: the sum of some cells equals another cell). Only a unique answer is kept: when several
combinations fit, the cells they disagree on stay unknown and the alternatives are listed; when none fits, the
printed table does not add up (a printed error), and each row is then split by its own row-sum constraint alone if
that is unique, else left unknown. Nothing is ever guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_DIGITS = 5  # a count in these tables rarely has more digits
MAX_SPLITS = 2000  # candidates kept per run (more: the run is left unknown)
MAX_COMBINATIONS = 50_000  # candidate choices tried across rows

Cell = tuple[int, int]  # (row index, column index)
Constraint = tuple[tuple[Cell, ...], "Cell | tuple[Cell, ...]"]  # sum of the cells on the left == those on the right


Group = tuple[tuple[int, ...], int]  # (member positions, total position) within one run: members add up to the total


def splits(run: str, n: int, max_digits: int = MAX_DIGITS, groups: list[Group] | None = None) -> list[tuple[int, ...]]:
    """Every way to read `run` (digits and spaces) as exactly `n` numbers; spaces always separate numbers. With
    `groups`, only the splits where each group's members add up to its total (the total is then forced)."""
    return split_run(run, n, max_digits, groups)[0]


def split_run(
    run: str, n: int, max_digits: int = MAX_DIGITS, groups: list[Group] | None = None
) -> tuple[list[tuple[int, ...]], bool]:
    """`splits`, and whether the enumeration stopped at MAX_SPLITS (then the list proves nothing)."""
    tokens = run.split()
    if not tokens or any(not t.isdigit() for t in tokens):
        return [], False
    digits = "".join(tokens)
    ends: list[int] = []  # token boundaries: a number never crosses one
    k = 0
    for t in tokens:
        k += len(t)
        ends.append(k)
    totals = {total: members for members, total in (groups or [])}
    out: list[tuple[int, ...]] = []
    capped = [False]

    def rec(pos: int, acc: tuple[int, ...]) -> None:
        if capped[0]:
            return
        if pos == len(digits):
            if len(acc) == n:
                out.append(acc)
                capped[0] = len(out) >= MAX_SPLITS
            return
        i = len(acc)
        bound = next(e for e in ends if e > pos)
        later_tokens = sum(1 for e in ends if e > bound)
        if i >= n or n - i > len(digits) - pos or n - i < 1 + later_tokens:
            return
        if i in totals:
            want = str(sum(acc[m] for m in totals[i]))
            if digits.startswith(want, pos) and pos + len(want) <= bound:
                rec(pos + len(want), (*acc, int(want)))
            return
        for j in range(pos + 1, min(bound, pos + max_digits) + 1):
            piece = digits[pos:j]
            if len(piece) > 1 and piece[0] == "0":
                break
            rec(j, (*acc, int(piece)))

    rec(0, ())
    return out, capped[0]


def row_sum_ok(values: tuple[int, ...]) -> bool:
    """A Table 三 row: the six applicant columns add up to the 总计 column."""
    return sum(values[:-1]) == values[-1]


@dataclass
class Solved:
    """The chosen numbers: `values[row]` is a tuple of n ints, or None when the row stays unknown (or blank)."""

    values: list[tuple[int, ...] | None]
    unknown: dict[int, list[tuple[int, ...]]] = field(default_factory=dict)  # row -> alternatives still possible
    unknown_cells: set[Cell] = field(default_factory=set)  # cells the alternatives disagree on
    inconsistent: bool = False  # no combination satisfies every constraint (a printed error)
    notes: list[str] = field(default_factory=list)


def _holds(constraints: list[Constraint], pick: dict[int, tuple[int, ...]]) -> bool:
    for left, right in constraints:
        rights = _cells(right)
        rows = {r for r, _ in left} | {r for r, _ in rights}
        if not rows <= pick.keys():
            continue
        if sum(pick[r][c] for r, c in left) != sum(pick[r][c] for r, c in rights):
            return False
    return True


def _cells(side) -> tuple[Cell, ...]:
    return (side,) if isinstance(side[0], int) else tuple(side)


def solve(
    runs: list[str | None],
    n: int,
    constraints: list[Constraint],
    row_check=row_sum_ok,
    names: list[str] | None = None,
    groups: list[Group] | None = None,
) -> Solved:
    """One split per run (None = a blank row) such that every row passes `row_check` and every constraint holds.

    Unique combination -> kept. Several -> the cells they disagree on are unknown (alternatives listed). None -> a
    printed error: each row keeps its unique row-checked split if it has one, else it is unknown.
    """
    names = names or [f"第 {i + 1} 行" for i in range(len(runs))]
    groups = groups if groups is not None else ([(tuple(range(n - 1)), n - 1)] if row_check is row_sum_ok else [])
    cands, checked, capped, notes = _candidates(runs, n, row_check, names, groups)
    live = [i for i, c in enumerate(cands) if c]
    solutions, exhausted = _search(cands, live, constraints, row_check)
    if exhausted:
        notes.append("可能的拆分组合过多，未能穷举；有多种拆分的行按无法判断处理")
    out = Solved([None] * len(runs), notes=notes)
    for i in capped:
        out.unknown[i] = []
        out.unknown_cells |= {(i, c) for c in range(n)}
    if exhausted:  # a row is known only when it has one split, and that split passes its row check
        for i in live:
            if len(cands[i]) == 1 and row_check(cands[i][0]):
                out.values[i] = cands[i][0]
            else:
                _settle(out, i, cands[i], n, unknown=True)
    elif len(solutions) == 1:
        for i, v in solutions[0].items():
            out.values[i] = v
    elif solutions:  # the cells every solution agrees on are known
        for i in live:
            _settle(out, i, sorted({s[i] for s in solutions}), n)
        out.notes.append(f"有 {len(solutions)} 种拆分都满足全部勾稽关系，无法唯一确定的格按无法判断处理")
    else:  # no solution: the printed numbers disagree; each row is split by its own total alone
        if live:
            out.inconsistent = True
            out.notes.append("没有一种拆分能同时满足全部勾稽关系：原报告的数字本身不平衡，各行只按本行合计拆分")
        for i in live:
            one = checked[i] if len(checked[i]) == 1 else cands[i] if len(cands[i]) == 1 else None
            _settle(out, i, one or checked[i] or cands[i], n)
    return out


def _candidates(
    runs: list[str | None], n: int, row_check, names: list[str], groups: list[Group]
) -> tuple[list[list[tuple[int, ...]]], list[list[tuple[int, ...]]], set[int], list[str]]:
    """Each row's candidate splits (those passing the row check, else every split), the row-checked ones, the rows
    with too many splits to list (capped), and a note for each row that has no row-checked split."""
    enumerated = [split_run(r, n) if r is not None and r.strip() else ([], False) for r in runs]
    grouped = [split_run(r, n, groups=groups) if r is not None and r.strip() else ([], False) for r in runs]
    capped = {i for i, (a, b) in enumerate(zip(enumerated, grouped, strict=True)) if b[1] or (a[1] and not b[0])}
    checked = [[s for s in ss if row_check(s)] for ss, _ in grouped]
    notes: list[str] = []
    cands: list[list[tuple[int, ...]]] = []
    for i, run in enumerate(runs):
        if run is None or not run.strip() or i in capped:
            if i in capped:
                notes.append(f"{names[i]}“{run.strip()}”：可能的拆分过多，按无法判断处理")
            cands.append([])
        elif checked[i]:
            cands.append(checked[i])
        else:
            if enumerated[i][0]:
                notes.append(f"{names[i]}“{run.strip()}”：没有一种拆分能使本行各列之和等于总计（原报告本行不平衡）")
            else:
                notes.append(f"{names[i]}“{run.strip()}”：无法拆成 {n} 个数")
            cands.append(enumerated[i][0])
    return cands, checked, capped, notes


def _settle(out: Solved, i: int, alts: list[tuple[int, ...]], n: int, unknown: bool = False) -> None:
    """Row i from its remaining splits: one split is its value (unless `unknown`: then it is listed as the row's
    only, unconfirmed, alternative); with several, the first stands in and the cells they disagree on are unknown;
    with none, every cell is unknown."""
    if len(alts) == 1 and not unknown:
        out.values[i] = alts[0]
        return
    out.unknown[i] = alts
    if alts:
        out.unknown_cells |= {(i, c) for c in range(n) if len({v[c] for v in alts}) > 1}
        out.values[i] = alts[0]  # only the agreed cells are used; see unknown_cells
    else:
        out.unknown_cells |= {(i, c) for c in range(n)}


def _search(cands, live, constraints, row_check) -> tuple[list[dict[int, tuple[int, ...]]], bool]:
    """Every combination (up to 50) of one candidate per live row satisfying the row check and the constraints, by
    backtracking: rows with fewest candidates first; a constraint is checked as soon as its rows are chosen, and a
    partial sum larger than its fully chosen other side prunes (counts are never negative). Second value: the
    search budget ran out before the answer was certain."""
    order = sorted(live, key=lambda i: len(cands[i]))
    sides = [(left, _cells(right)) for left, right in constraints]
    watch: dict[int, list[int]] = {i: [] for i in live}
    for k, (left, right) in enumerate(sides):
        for r in {r for r, _ in left} | {r for r, _ in right}:
            if r in watch:
                watch[r].append(k)
    solutions: list[dict[int, tuple[int, ...]]] = []
    budget = [MAX_COMBINATIONS]
    pick: dict[int, tuple[int, ...]] = {}

    def ok(row: int) -> bool:
        for k in watch[row]:
            left, right = sides[k]
            lrows = {r for r, _ in left}
            rrows = {r for r, _ in right}
            ldone, rdone = lrows <= pick.keys(), rrows <= pick.keys()
            lsum = sum(pick[r][c] for r, c in left if r in pick)
            rsum = sum(pick[r][c] for r, c in right if r in pick)
            if (ldone and rdone and lsum != rsum) or (rdone and lsum > rsum) or (ldone and rsum > lsum):
                return False
        return True

    def rec(k: int) -> bool:
        if k == len(order):
            solutions.append(dict(pick))
            if len(solutions) > 50:  # too many to list: agreement among them proves nothing
                budget[0] = -1
                return True
            return False
        row = order[k]
        for cand in cands[row]:
            budget[0] -= 1
            if budget[0] < 0:
                return True
            if not row_check(cand):
                continue
            pick[row] = cand
            if ok(row) and rec(k + 1):
                del pick[row]
                return True
            del pick[row]
        return False

    rec(0)
    return solutions, budget[0] < 0


def solve_with(runs, n, constraints, row_identities, row_check=row_sum_ok, names=None, groups=None) -> Solved:
    """`solve` with identities between whole rows too: ((a, b), (c, d)) means row a + row b == row c + row d in every
    column (一＋二＝（七）＋四)."""
    extra = [
        (tuple((r, col) for r in left), tuple((r, col) for r in right))
        for left, right in row_identities
        for col in range(n)
    ]
    return solve(runs, n, list(constraints) + extra, row_check=row_check, names=names, groups=groups)


def alternatives_text(alts: list[tuple[int, ...]], limit: int = 4) -> str:
    shown = " 或 ".join("|".join(str(x) for x in a) for a in alts[:limit])
    return shown + (f" 等 {len(alts)} 种" if len(alts) > limit else "")

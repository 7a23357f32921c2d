"""The rule expression language: parsed once, then evaluated in Python and rendered as a spreadsheet formula.

Grammar (a subset of Python expressions, parsed with :mod:`ast`):
    keys          apply.new.natural_person      dotted cell keys
    globs         sum(apply.result.*.other)     `*` matches any key segments, in form order
    arithmetic    a + b - c, -a, 10000, sum(k1, k2, ...)
    comparison    a == b, a <= b, a >= b, a < b, a > b   (one operator per comparison)
    logic         x or y, x and y
"""

from __future__ import annotations

import ast
import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

_KEY = re.compile(r"[a-z_][a-z0-9_]*(?:\.(?:[a-z0-9_]+|\*))+")


class _Node:
    """What every expression node knows of itself, computed once (the trees are frozen and live with their form)."""

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """Keys referenced directly by the node, in order, without duplicates."""
        return _refs(self)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Ref(_Node):
    key: str


@dataclass(frozen=True)
class Const(_Node):
    value: Decimal


@dataclass(frozen=True)
class Neg(_Node):
    operand: Node


@dataclass(frozen=True)
class BinOp(_Node):
    op: str  # "+" or "-"
    left: Node
    right: Node


@dataclass(frozen=True)
class Sum(_Node):
    refs: tuple[Ref, ...]


@dataclass(frozen=True)
class Compare(_Node):
    op: str  # "==", "<=", ">=", "<", ">"
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp(_Node):
    op: str  # "and" or "or"
    items: tuple[Node, ...]


Node = Ref | Const | Neg | BinOp | Sum | Compare | BoolOp

_CMP = {ast.Eq: "==", ast.LtE: "<=", ast.GtE: ">=", ast.Lt: "<", ast.Gt: ">"}


class ExprError(ValueError):
    """A rule expression that cannot be parsed or names an unknown key."""


def parse(text: str, keys: Sequence[str], exclude: str | None = None) -> Node:
    """Parse `text`; every key must be in `keys`, globs expand over `keys` (minus `exclude`) in their order."""
    names: dict[str, str] = {}

    def stash(match: re.Match[str]) -> str:
        name = f"k{len(names)}_"
        names[name] = match.group(0)
        return name

    try:
        tree = ast.parse(_KEY.sub(stash, text), mode="eval").body
    except SyntaxError as exc:
        raise ExprError(f"无法解析表达式 {text!r}: {exc.msg}") from None

    def expand(pattern: str) -> tuple[Ref, ...]:
        if "*" not in pattern:
            if pattern not in keys:
                raise ExprError(f"表达式 {text!r} 引用了不存在的单元格键 {pattern!r}")
            return (Ref(pattern),)
        hits = tuple(Ref(k) for k in keys if k != exclude and fnmatch.fnmatchcase(k, pattern))
        if not hits:
            raise ExprError(f"表达式 {text!r} 中的 {pattern!r} 没有匹配任何单元格")
        return hits

    def build(node: ast.AST) -> Node:
        match node:
            case ast.Name(id=name) if name in names:
                refs = expand(names[name])
                if len(refs) != 1 or "*" in names[name]:
                    raise ExprError(f"{names[name]!r}: 通配符只能用在 sum() 中")
                return refs[0]
            case ast.Constant(value=int() | float() as v) if not isinstance(v, bool):
                return Const(Decimal(str(v)))
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return Neg(build(operand))
            case ast.BinOp(op=ast.Add() | ast.Sub() as op, left=left, right=right):
                return BinOp("+" if isinstance(op, ast.Add) else "-", build(left), build(right))
            case ast.Call(func=ast.Name(id="sum"), args=args, keywords=[]) if args:
                refs: list[Ref] = []
                for arg in args:
                    if not (isinstance(arg, ast.Name) and arg.id in names):
                        raise ExprError(f"{text!r}: sum() 只接受单元格键")
                    refs.extend(expand(names[arg.id]))
                return Sum(tuple(refs))
            case ast.Compare(left=left, ops=[op], comparators=[right]) if type(op) in _CMP:
                return Compare(_CMP[type(op)], build(left), build(right))
            case ast.BoolOp(op=op, values=values):
                return BoolOp("and" if isinstance(op, ast.And) else "or", tuple(build(v) for v in values))
        raise ExprError(f"表达式 {text!r} 含有不支持的写法: {ast.dump(node)[:60]}")

    return build(tree)


def refs(node: Node) -> tuple[str, ...]:
    """Keys referenced directly by `node`, in order, without duplicates."""
    return node.keys


def _refs(node: Node) -> tuple[str, ...]:
    out: list[str] = []

    def walk(n: Node) -> None:
        match n:
            case Ref(key):
                if key not in out:
                    out.append(key)
            case Sum(items):
                for r in items:
                    walk(r)
            case Neg(operand):
                walk(operand)
            case BinOp(_, left, right) | Compare(_, left, right):
                walk(left)
                walk(right)
            case BoolOp(_, items):
                for item in items:
                    walk(item)

    walk(node)
    return tuple(out)


def evaluate(node: Node, value: Callable[[str], Decimal], tolerance: Decimal = Decimal(0)) -> Decimal | bool:
    """Evaluate exactly in Decimal; `value(key)` supplies each cell (it raises to signal an unusable input)."""
    match node:
        case Ref(key):
            return value(key)
        case Const(v):
            return v
        case Neg(operand):
            return -_num(evaluate(operand, value, tolerance))
        case BinOp(op, left, right):
            a, b = _num(evaluate(left, value, tolerance)), _num(evaluate(right, value, tolerance))
            return a + b if op == "+" else a - b
        case Sum(items):
            return sum((value(r.key) for r in items), Decimal(0))
        case Compare(op, left, right):
            d = _num(evaluate(left, value, tolerance)) - _num(evaluate(right, value, tolerance))
            return {
                "==": abs(d) <= tolerance,
                "<=": d <= tolerance,
                ">=": d >= -tolerance,
                "<": d < tolerance,
                ">": d > -tolerance,
            }[op]
        case BoolOp(op, items):
            results = [bool(evaluate(i, value, tolerance)) for i in items]
            return all(results) if op == "and" else any(results)
    raise TypeError(node)


class _Unusable:
    """An unusable input inside a compiled evaluator: every sum or difference involving it is unusable too."""

    __slots__ = ()

    def __add__(self, other: object) -> _Unusable:
        return self

    __radd__ = __sub__ = __rsub__ = __add__

    def __neg__(self) -> _Unusable:
        return self

    def __repr__(self) -> str:
        return "UNUSABLE"


UNUSABLE = _Unusable()  # stands for an Invalid cell in `compile_evaluator`'s slots


def _eq(d: Decimal, tol: Decimal, neg: Decimal) -> bool | None:
    return None if d is UNUSABLE else abs(d) <= tol


def _le(d: Decimal, tol: Decimal, neg: Decimal) -> bool | None:
    return None if d is UNUSABLE else d <= tol


def _ge(d: Decimal, tol: Decimal, neg: Decimal) -> bool | None:
    return None if d is UNUSABLE else d >= neg


def _lt(d: Decimal, tol: Decimal, neg: Decimal) -> bool | None:
    return None if d is UNUSABLE else d < tol


def _gt(d: Decimal, tol: Decimal, neg: Decimal) -> bool | None:
    return None if d is UNUSABLE else d > neg


def _and(*items: bool | None) -> bool | None:
    return None if None in items else all(items)


def _or(*items: bool | None) -> bool | None:
    return None if None in items else any(items)


def _truth(v: Decimal) -> bool | None:
    return None if v is UNUSABLE else bool(v)


_TESTS = {"==": "_eq", "<=": "_le", ">=": "_ge", "<": "_lt", ">": "_gt"}
_INLINE = {"==": "abs(D) <= {tol}", "<=": "D <= {tol}", ">=": "D >= {neg}", "<": "D < {tol}", ">": "D > {neg}"}

Evaluator = Callable[[list], list[tuple[Decimal | None, Decimal | None, bool | None]]]


def compile_evaluator(
    slots: dict[str, int], totals: Sequence[tuple[str, Node]], tests: Sequence[tuple[Node, Decimal]]
) -> Evaluator:
    """The third rendering of rule trees: one Python function over a flat list of cell values, built once per form.

    `slots` gives each key its place in the list; the list holds each input's value (0 when blank, `UNUSABLE` when
    invalid) and None for a total not given, which `totals` (key, formula; dependencies first) fill in. It returns, for
    each of `tests` (node, tolerance), (left, right, holds): left and right of a top-level comparison (else None) and
    whether the test holds — None when an unusable input reaches it. Same operations in the same order as
    `evaluate`, so the Decimal results are identical.
    """
    names: dict[str, object] = {
        "ZERO": Decimal(0),
        "UNUSABLE": UNUSABLE,
        "_and": _and,
        "_or": _or,
        "_truth": _truth,
        "_sum": sum,
    }
    names |= {name: globals()[name] for name in _TESTS.values()}

    def const(v: Decimal) -> str:
        name = f"C{len(names)}"  # one name per use: 1 and 1.0 are equal but not the same Decimal
        names[name] = v
        return name

    def num(node: Node) -> str:
        match node:
            case Ref(key):
                return f"v[{slots[key]}]"
            case Const(value):
                return const(value)
            case Neg(operand):
                return f"(-{num(operand)})"
            case BinOp(op, left, right):
                return f"({num(left)} {op} {num(right)})"
            case Sum(items):
                at = [slots[r.key] for r in items]
                if len(at) >= 3 and (step := at[1] - at[0]) > 0 and at == list(range(at[0], at[-1] + 1, step)):
                    # slots in steps of one stride (a row or a column of a table): the same additions, in the same
                    # order, from ZERO, done by sum() over a slice
                    return f"_sum(v[{at[0]}:{at[-1] + 1}{f':{step}' if step > 1 else ''}], ZERO)"
                return "(" + " + ".join(["ZERO", *(f"v[{i}]" for i in at)]) + ")"
        raise TypeError(f"not a number: {node}")

    def test(node: Node, tol: str, neg: str) -> str:
        match node:
            case Compare(op, left, right):
                return f"{_TESTS[op]}({num(left)} - {num(right)}, {tol}, {neg})"
            case BoolOp(op, items):
                return f"_{op}(" + ", ".join(test(i, tol, neg) for i in items) + ")"
        return f"_truth({num(node)})"

    lines = ["def run(v):"]
    computed: dict[str, tuple[str, Node]] = {}  # total key -> (the name saying it was computed here, its formula)
    for key, formula in totals:
        flag = f"n{slots[key]}"
        lines += [
            f"    {flag} = v[{slots[key]}] is None",
            f"    if {flag}:",
            f"        v[{slots[key]}] = {num(formula)}",
        ]
        computed[key] = (flag, formula)
    lines.append("    out = []")
    for node, tolerance in tests:
        tol, neg = const(tolerance), const(-tolerance)
        if isinstance(node, Compare):
            right = num(node.right)
            own = computed.get(node.left.key) if isinstance(node.left, Ref) else None
            if own is not None and own[1] is node.right:
                # a total compared with its own formula: when the total was computed above, the formula's value is
                # the total itself (the same operations on the same values), so it is not computed twice
                right = f"L if {own[0]} else {right}"
            holds = _INLINE[node.op].format(tol=tol, neg=neg)  # what `_eq` … `_gt` do, without the call
            lines += [
                f"    L = {num(node.left)}",
                f"    R = {right}",
                "    D = L - R",
                f"    out.append((L, R, None if D is UNUSABLE else {holds}))",
            ]
        else:
            lines.append(f"    out.append((None, None, {test(node, tol, neg)}))")
    lines.append("    return out")
    # The code holds only slot numbers, generated names and the operators above: no text from the form file.
    exec(compile("\n".join(lines), "<xltool rules>", "exec"), names)
    return names["run"]  # type: ignore[return-value]


def _num(v: Decimal | bool) -> Decimal:
    if isinstance(v, bool):
        raise TypeError("boolean used as a number")
    return v


def render(node: Node, ref: Callable[[str], str], tolerance: Decimal = Decimal(0)) -> str:
    """Render as an en-US spreadsheet formula body (no leading '='); `ref(key)` gives each cell's reference."""
    match node:
        case Ref(key):
            return ref(key)
        case Const(v):
            return _number(v)
        case Neg(operand):
            return f"-({render(operand, ref, tolerance)})"
        case BinOp(op, left, right):
            right_text = render(right, ref, tolerance)
            if op == "-" and isinstance(right, BinOp):
                right_text = f"({right_text})"
            return f"{render(left, ref, tolerance)}{op}{right_text}"
        case Sum(items):
            return f"SUM({','.join(_ranges([ref(r.key) for r in items]))})"
        case Compare(op, left, right):
            diff = f"ROUND(({render(left, ref, tolerance)})-({render(right, ref, tolerance)}),6)"
            tol = _number(tolerance)
            return {
                "==": f"ABS({diff})<={tol}",
                "<=": f"{diff}<={tol}",
                ">=": f"{diff}>=-{tol}",
                "<": f"{diff}<{tol}",
                ">": f"{diff}>-{tol}",
            }[op]
        case BoolOp(op, items):
            return f"{op.upper()}({','.join(render(i, ref, tolerance) for i in items)})"
    raise TypeError(node)


def _number(v: Decimal) -> str:
    return format(v.normalize(), "f")


_A1 = re.compile(r"^(?P<sheet>.*!)?\$?(?P<col>[A-Z]+)\$?(?P<row>\d+)$")


def _ranges(cells: list[str]) -> list[str]:
    """Merge runs of adjacent cells in one row or one column into A1:B1 ranges (readable SUMs)."""
    out: list[str] = []
    run: list[tuple[str, str, int, int]] = []

    def flush() -> None:
        if run:
            first, last = run[0], run[-1]
            out.append(f"{first[0]}{first[1]}" if len(run) == 1 else f"{first[0]}{first[1]}:{last[1]}")
        run.clear()

    for cell in cells:
        m = _A1.match(cell)
        if not m:
            flush()
            out.append(cell)
            continue
        sheet, col, row = m.group("sheet") or "", _col_index(m.group("col")), int(m.group("row"))
        item = (sheet, cell[len(sheet) :], col, row)
        if run:
            p_sheet, _, p_col, p_row = run[-1]
            same_row = p_sheet == sheet and p_row == row and p_col + 1 == col
            same_col = p_sheet == sheet and p_col == col and p_row + 1 == row
            direction_ok = len(run) == 1 or (same_row and run[0][3] == row) or (same_col and run[0][2] == col)
            if not ((same_row or same_col) and direction_ok):
                flush()
        run.append(item)
    flush()
    return out


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n

"""The compiled rule path (each form's rules turned into one function) gives exactly what walking each rule's tree
gives: the same RuleResults (outcome, cause, reason, left, right, cells, explanation) and the same Problems, in the
same order, over returns generated from every built-in form — consistent and broken, blank, invalid, ticked 本年度无此类
事项, explained, prefilled, with typed totals, and with last year's return for the cross-year rules."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.fillings import consistent_values, form_years
from xltool import formdata
from xltool import rules as expr
from xltool.codes import Code
from xltool.evaluation import check_return, evaluate_rules
from xltool.forms import all_forms, form_for_year
from xltool.model import Invalid, Return, Unit
from xltool.values import Undetermined

FORMS = [form_for_year(year) for year in form_years()]


def _exact(v: object) -> object:
    """Decimals by their text, so 1 and 1.0 differ (the JSON and 校验 texts show them)."""
    return (type(v).__name__, str(v)) if isinstance(v, Decimal) else v


def _result(r) -> tuple:
    return (
        r.rule.id,
        r.outcome,
        r.cause,
        r.reason,
        _exact(r.left),
        _exact(r.right),
        _exact(r.difference),
        r.cells,
        r.explanation,
        r.display,
    )


def _problem(p) -> tuple:
    return (
        p.severity,
        p.code,
        p.message,
        p.sheet,
        p.cell,
        p.outcome,
        tuple((k, _exact(v)) for k, v in sorted(p.values.items())),
    )


def assert_same(ret: Return, previous: Return | None = None) -> None:
    fast = [_result(r) for r in evaluate_rules(ret, previous)]
    slow = [_result(r) for r in evaluate_rules(ret, previous, reference=True)]
    assert fast == slow
    assert [_problem(p) for p in check_return(ret, previous)] == [
        _problem(p) for p in check_return(ret, previous, reference=True)
    ]


INVALID = st.sampled_from(
    [
        Invalid("无", "不是数字"),
        Invalid("-", "不是数字"),
        Invalid("-3", "不能为负数"),
        Invalid("1.5", "应为整数"),
        Invalid("=SUM(D6:D8)", "是公式", Code.FORMULA_IN_INPUT),
        Invalid("", "缺失"),  # a cell missing from a cut-short report
    ]
)
NUDGE = st.sampled_from([1, 2, 5, 17, 100_000])


@st.composite
def returns(draw) -> Return:
    """A return of a built-in form: consistent numbers from a drawn seed, then the ways real returns differ."""
    form = draw(st.sampled_from(FORMS))
    values: dict = dict(consistent_values(form, draw(st.randoms(use_true_random=False))))
    inputs = st.sampled_from([c.key for c in form.inputs])
    rule_ids = [r.id for r in form.rules]
    tables = st.sampled_from([t.id for t in form.tables])
    numbers = draw(st.sampled_from(["as filled", "zeros", "plain ints", "amount places"]))
    for cell in form.inputs:
        if numbers == "zeros":
            values[cell.key] = Decimal(0)
        elif numbers == "plain ints" and values[cell.key] == values[cell.key].to_integral_value():
            values[cell.key] = int(values[cell.key])  # a library user's ints: numbers, shown as neither side
        elif numbers == "amount places" and cell.type.name == "amount":
            values[cell.key] = Decimal(draw(st.sampled_from(["0.1000", "12.5", "3", "0.0001", "1E+1"])))
    warned = [k for r in form.local_rules if r.severity == "warning" for k in form.input_closure(expr.refs(r.node))]
    for key in draw(st.lists(inputs | st.sampled_from(warned), max_size=4)):  # broken: off balance, or far too large
        values[key] = values[key] + draw(NUDGE)
    ret = Return(form, 2025, Unit(name="测试镇人民政府", code="111111111111111111"), values)
    for key in draw(st.lists(st.sampled_from([c.key for c in form.cells if not c.is_input]), max_size=3)):
        try:  # a typed total (an overwritten formula, a report's printed total), right or not
            total = ret.value(key) + draw(st.sampled_from([0, 0, 1]))
        except Undetermined:
            total = Decimal(7)
        values[key] = draw(st.just(total) | INVALID)
    for key in draw(st.lists(inputs, max_size=40)):
        values.pop(key, None)
    for table in draw(st.sets(tables, max_size=len(form.tables))):  # wholly blank tables
        for cell in form.table(table).cells:
            values.pop(cell.key, None)
    for key in draw(st.lists(inputs, max_size=3)):
        values[key] = draw(INVALID)
    ret.no_items = draw(st.just(set()) | st.sets(tables, max_size=2))
    ret.prefilled = draw(st.sets(inputs, max_size=4))
    notes = st.sampled_from(["本年废止的文件多于新制发", "  ", ""])  # a 说明, or one that says nothing
    warnings = {r.id: "本年废止的文件多于新制发" for r in form.rules if r.severity == "warning"}
    ret.explanations = draw(st.just({}) | st.just(warnings) | st.dictionaries(st.sampled_from(rule_ids), notes))
    return ret


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(ret=returns(), previous=st.none() | returns())
def test_compiled_rules_equal_the_tree_walk(ret, previous):
    """Every result and problem of the compiled path equals the tree walk's, with or without last year's return."""
    assert_same(ret, previous)
    for r in evaluate_rules(ret, previous):
        event(f"{r.outcome} {r.cause or ''}")


def test_untouched_returns():
    """A return left blank (未填报), this year's or last year's, is judged the same both ways."""
    for form in FORMS:
        blank = Return(form, 2025)
        assert_same(blank)
        for previous in FORMS:
            assert_same(blank, Return(previous, 2024))


def test_every_form_compiles():
    """The built-in forms all have compiled rules (a form without would be checked by the slow tree walk alone)."""
    for form in all_forms():
        assert formdata.of(form).plan is not None, form.id


def test_compiled_evaluator_is_exact():
    """Decimal in, Decimal out: 万元 amounts are never floats; an unusable input makes a test undetermined."""
    keys = ["t.a.x", "t.a.y", "t.b.x"]
    slots = {k: i for i, k in enumerate(keys)}
    tests = [
        (expr.parse("t.a.x + t.a.y == t.b.x", keys), Decimal(0)),
        (expr.parse("t.a.x + t.a.y <= t.b.x - 0.1", keys), Decimal(0)),
        (expr.parse("t.a.x == 0 or sum(t.a.*) >= 10000", keys), Decimal(0)),
    ]
    run = expr.compile_evaluator(slots, [], tests)
    (left, right, holds), second, third = run([Decimal("0.1"), Decimal("0.2"), Decimal("0.3")])
    assert (str(left), str(right), holds) == ("0.3", "0.3", True)
    assert second[2] is False and third == (None, None, False)
    assert [t[2] for t in run([expr.UNUSABLE, Decimal(1), Decimal(1)])] == [None, None, None]

"""The compiled rule path (each form's rules turned into one function) gives exactly what walking each rule's tree
gives: the same RuleResults (outcome, cause, reason, left, right, cells, explanation) and the same Problems, in the
same order, for consistent, broken, blank, invalid, explained, ticked, overwritten and cross-year returns."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fillings import form_years, random_return
from xltool import rules as expr
from xltool.check import check_return, evaluate_rules
from xltool.forms import all_forms, form_for_year
from xltool.model import Invalid, Return
from xltool.values import Undetermined


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


def _mess(ret: Return, rng: random.Random, how: str) -> Return:
    """Change a generated return the ways real ones differ: blank tables, ticks, typed totals, unusable totals."""
    form = ret.form
    if how == "blank_table":
        table = rng.choice(form.tables)
        for c in table.cells:
            ret.values.pop(c.key, None)
    elif how == "no_items":
        table = rng.choice(form.tables)
        ret.no_items.add(table.id)
        for c in rng.sample(table.cells, min(5, len(table.cells))):
            ret.values.pop(c.key, None)
    elif how == "typed_total":  # an overwritten total formula, or a report's printed total
        totals = [c for c in form.cells if not c.is_input]
        for c in rng.sample(totals, 3):
            try:
                ret.values[c.key] = ret.value(c.key) + rng.choice([0, 0, 1])
            except Undetermined:
                ret.values[c.key] = Decimal(7)
    elif how == "invalid_total":
        totals = [c for c in form.cells if not c.is_input]
        ret.values[rng.choice(totals).key] = Invalid("合计", "不是数字")
    elif how == "prefilled":
        ret.prefilled = {c.key for c in rng.sample(form.inputs, 4)}
    elif how == "zeros":
        for c in form.inputs:
            ret.values[c.key] = Decimal(0)
    elif how == "ints":  # a library user's plain ints: counted as numbers, shown as neither left nor right
        for c in rng.sample(form.inputs, 20):
            v = ret.values.get(c.key)
            if isinstance(v, Decimal) and v == v.to_integral_value():
                ret.values[c.key] = int(v)
    elif how == "amount_places":
        for c in form.inputs:
            if c.type.name == "amount":
                ret.values[c.key] = Decimal(rng.choice(["0.1000", "12.5", "3", "0.0001", "1E+1"]))
    return ret


MESSES = [
    "none",
    "blank_table",
    "no_items",
    "typed_total",
    "invalid_total",
    "prefilled",
    "zeros",
    "ints",
    "amount_places",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    year=st.sampled_from(form_years()),
    broken=st.integers(0, 4),
    blanks=st.sampled_from([0, 0, 1, 5, 40]),
    texts=st.sampled_from([0, 0, 1, 3]),
    explain=st.booleans(),
    mess=st.sampled_from(MESSES),
    with_previous=st.booleans(),
)
def test_compiled_rules_equal_the_tree_walk(seed, year, broken, blanks, texts, explain, mess, with_previous):
    rng = random.Random(seed)
    form = form_for_year(year)
    ret = _mess(random_return(form, year, rng, broken=broken, blanks=blanks, texts=texts, explain=explain), rng, mess)
    previous = None
    if with_previous:
        last = rng.choice(form_years())
        previous = random_return(form_for_year(last), last, rng, broken=rng.randint(0, 2), blanks=rng.choice([0, 3]))
        previous = _mess(previous, rng, rng.choice(MESSES))
    assert_same(ret, previous)


@pytest.mark.parametrize("year", form_years())
def test_untouched_and_explained_returns(year):
    form = form_for_year(year)
    assert_same(Return(form, year))  # 未填报
    for seed in range(20):
        rng = random.Random(seed)
        ret = random_return(form, year, rng, broken=seed % 3, explain=seed % 2 == 0)
        assert_same(ret)
        assert_same(ret, random_return(form, year - 1, rng))


def test_every_form_compiles():
    """The built-in forms all take the compiled path (a form it cannot compile would silently be slow)."""
    from xltool.check import _plan

    for form in all_forms():
        assert _plan(form) is not None, form.id


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

"""The compiled rules' arithmetic is exact: sum() over a row or a column of cells, and a total compared with its own
formula, give the Decimals (their text included: 0 and -0, 1E+1 and 10) that walking the rule trees gives, and an
unusable input leaves a test undetermined."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from xltool import rules as expr


def _exact(v: object) -> object:
    return (type(v).__name__, str(v)) if isinstance(v, Decimal) else (type(v).__name__, repr(v))


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.sampled_from(
            [Decimal(0), Decimal("-0"), Decimal(1), Decimal("2.50"), Decimal("1E+1"), Decimal(7), expr.UNUSABLE]
        ),
        min_size=9,
        max_size=9,
    ),
    given_total=st.booleans(),
)
def test_sums_over_slices_and_totals_computed_once_are_exact(values, given_total):
    """A 3×3 table with a column total and a grand total: the compiled evaluator's left and right sides and verdicts
    equal the tree walk's, whether the column total is given or computed."""
    keys = [f"t.r{r}.c{c}" for r in range(3) for c in range(3)] + ["t.total.c0", "t.total.all"]
    slots = {k: i for i, k in enumerate(keys)}
    column = expr.parse("sum(t.r0.c0, t.r1.c0, t.r2.c0)", keys)
    everything = expr.parse("sum(t.r0.*, t.r1.*, t.r2.*)", keys)
    tests = [
        (expr.Compare("==", expr.Ref("t.total.c0"), column), Decimal(0)),
        (expr.Compare("<=", expr.Ref("t.total.all"), everything), Decimal(0)),
        (expr.parse("t.r0.c0 - t.r0.c1 >= t.r0.c2", keys), Decimal("0.5")),
    ]
    run = expr.compile_evaluator(slots, [("t.total.c0", column), ("t.total.all", everything)], tests)
    typed = Decimal(3) if given_total else None
    got = run([*values, typed, None])
    memo = dict(zip(keys, [*values, typed, None], strict=True))

    def value(key: str):
        if memo.get(key) is None:
            memo[key] = expr.evaluate(column if key == "t.total.c0" else everything, value)
        return memo[key]

    for (node, tol), (left, right, holds) in zip(tests, got, strict=True):
        want_left, want_right = expr.evaluate(node.left, value), expr.evaluate(node.right, value)
        assert _exact(left) == _exact(want_left) and _exact(right) == _exact(want_right)
        if expr.UNUSABLE in (want_left, want_right):
            assert holds is None
        else:
            assert holds == expr.evaluate(node, value, tol)

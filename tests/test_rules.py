"""The rule expression language: one parsed tree, evaluated in Python and rendered as a spreadsheet formula."""

from decimal import Decimal as D

import pytest

from xltool import rules as expr

KEYS = ["t.a.x", "t.a.y", "t.a.total", "t.b.x", "t.b.y", "t.b.total", "t.sum.x"]


def values(**kw):
    table = {k.replace("__", "."): D(v) for k, v in kw.items()}
    return lambda key: table.get(key, D(0))


def test_glob_expands_in_form_order_and_excludes_the_defined_cell():
    """`sum(t.a.*)` covers the row's cells in declared order, minus the total it defines."""
    node = expr.parse("t.a.total == sum(t.a.*)", KEYS, exclude="t.a.total")
    assert isinstance(node, expr.Compare)
    assert node.right == expr.Sum((expr.Ref("t.a.x"), expr.Ref("t.a.y")))


def test_glob_does_not_cross_a_differently_named_segment():
    """`t.*.x` matches t.a.x and t.b.x and t.sum.x but never t.a.y."""
    node = expr.parse("sum(t.*.x)", KEYS)
    assert [r.key for r in node.refs] == ["t.a.x", "t.b.x", "t.sum.x"]


def test_evaluate_is_exact_decimal():
    """Amounts add up exactly: 0.1 + 0.2 == 0.3 in the checker."""
    node = expr.parse("t.a.x + t.a.y == t.b.x", KEYS)
    assert expr.evaluate(node, values(t__a__x="0.1", t__a__y="0.2", t__b__x="0.3")) is True


@pytest.mark.parametrize(
    ("text", "a", "b", "expected"),
    [
        ("t.a.x == t.a.y", 5, 5, True),
        ("t.a.x == t.a.y", 5, 6, False),
        ("t.a.x <= t.a.y", 5, 6, True),
        ("t.a.x >= t.a.y", 5, 6, False),
        ("t.a.x < t.a.y", 6, 6, False),
        ("t.a.x > t.a.y", 7, 6, True),
        ("t.a.x == 0 or t.a.y > 0", 3, 1, True),
        ("t.a.x == 0 or t.a.y > 0", 3, 0, False),
        ("t.a.x > 0 and t.a.y > 0", 3, 0, False),
        ("-t.a.x + 10 == t.a.y", 3, 7, True),
        ("t.a.x - (t.a.y - 1) == 1", 3, 3, True),
    ],
)
def test_operators(text, a, b, expected):
    """Each supported operator evaluates as in arithmetic."""
    assert expr.evaluate(expr.parse(text, KEYS), values(t__a__x=a, t__a__y=b)) is expected


def test_tolerance_applies_to_equality():
    """A tolerance lets amounts differ by rounding but no more."""
    node = expr.parse("t.a.x == t.a.y", KEYS)
    v = values(t__a__x="1.00004", t__a__y="1")
    assert expr.evaluate(node, v, D("0.00005")) is True
    assert expr.evaluate(node, v, D(0)) is False


@pytest.mark.parametrize(
    "text",
    ["t.a.z == 1", "t.*.x == 1", "t.a.x ** 2", "max(t.a.x)", "t.a.x == t.a.y == t.b.x", "sum(1, 2)", "t.a.x ="],
)
def test_bad_expressions_are_rejected_with_a_reason(text):
    """Unknown keys, globs outside sum(), and unsupported syntax are errors, not silent passes."""
    with pytest.raises(expr.ExprError):
        expr.parse(text, KEYS)


def test_render_uses_ranges_and_absolute_refs():
    """A row sum renders as SUM(D6:I6); a comparison renders with ROUND so float noise cannot fail it."""
    positions = {"t.a.x": "$D$6", "t.a.y": "$E$6", "t.b.x": "$D$7", "t.sum.x": "'s 2'!$B$1"}
    node = expr.parse("t.sum.x == sum(t.a.x, t.a.y, t.b.x)", KEYS)
    formula = expr.render(node, positions.__getitem__)
    assert formula == "ABS(ROUND(('s 2'!$B$1)-(SUM($D$6:$E$6,$D$7)),6))<=0"


def test_ranges_merge_columns_and_rows():
    """Adjacent cells in a column or a row merge; anything else stays a separate argument."""
    cells = ["$D$8", "$D$9", "$D$10", "$E$3", "$F$3", "$A$1", "'x'!$B$2", "'x'!$B$3"]
    assert expr._ranges(cells) == ["$D$8:$D$10", "$E$3:$F$3", "$A$1", "'x'!$B$2:$B$3"]


def test_refs_lists_each_key_once():
    """refs() gives the direct inputs of a rule without duplicates."""
    node = expr.parse("t.a.x + t.a.x == sum(t.a.*)", KEYS)
    assert expr.refs(node) == ("t.a.x", "t.a.y", "t.a.total")

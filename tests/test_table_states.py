"""Each table's state (未填报, 本年度无此类事项, 部分空白, 已填报): all tables counted in one pass give what asking for each
table in turn gives, and a return is 未填报 exactly when every table is."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fillings import form_years, random_return
from xltool.forms import form_for_year


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32), year=st.sampled_from(form_years()))
def test_table_states_in_one_pass_equal_one_by_one(seed, year):
    """Returns with blank tables, ticked 无此项 tables and prefilled cells: table_states() equals table_state() of
    each table, in the form's order, and not_filled agrees."""
    rng = random.Random(seed)
    form = form_for_year(year)
    ret = random_return(form, year, rng, blanks=rng.choice([0, 3, 40]))
    for table in form.tables:
        if rng.random() < 0.4:
            for c in table.cells:
                ret.values.pop(c.key, None)
        if rng.random() < 0.2:
            ret.no_items.add(table.id)
    if rng.random() < 0.3:
        ret.prefilled = {c.key for c in rng.sample(form.inputs, 5)}
    states = ret.table_states()
    assert list(states) == [t.id for t in form.tables]
    assert states == {t.id: ret.table_state(t.id) for t in form.tables}
    assert ret.not_filled == all(s.status.value == "not_filled" for s in states.values())

"""Sanity checks of the hand-transcribed seed reports (tests/seed_data.py) against the forms and the checker."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.seed_data import SEEDS
from xltool.forms import form_for_year
from xltool.model import Invalid, Return

IDS = sorted(SEEDS)


def _return(seed: dict, odd_as_zero: bool = False) -> Return:
    form = form_for_year(seed["year"])
    values = {k: Decimal(str(v)) for k, v in seed["values"].items()}
    for key, raw in seed["odd"].items():
        values[key] = Decimal(0) if odd_as_zero else Invalid(raw, "不是规范数字")
    return Return(form, seed["year"], values=values)


@pytest.mark.parametrize("seed_id", IDS)
def test_seed_uses_the_form_of_its_year(seed_id):
    """The seed's declared form version is the one xltool applies to its report year."""
    seed = SEEDS[seed_id]
    assert form_for_year(seed["year"]).version == seed["form_version"]


@pytest.mark.parametrize("seed_id", IDS)
def test_every_key_exists_in_its_form(seed_id):
    """Every key in values, blank and odd is a cell of the seed's form, and no key is listed twice."""
    seed = SEEDS[seed_id]
    cells = form_for_year(seed["year"]).cell
    keys = [*seed["values"], *seed["blank"], *seed["odd"]]
    assert len(keys) == len(set(keys))
    assert [k for k in keys if k not in cells] == []


@pytest.mark.parametrize("seed_id", IDS)
def test_no_input_cell_skipped(seed_id):
    """Every input cell of the form has a transcribed value or is listed as blank or odd."""
    seed = SEEDS[seed_id]
    covered = set(seed["values"]) | set(seed["blank"]) | set(seed["odd"])
    missing = [c.key for c in form_for_year(seed["year"]).inputs if c.key not in covered]
    assert missing == []


@pytest.mark.parametrize("seed_id", IDS)
def test_printed_totals_transcribed(seed_id):
    """All five reports print every total cell, so every total of the form is transcribed too."""
    seed = SEEDS[seed_id]
    covered = set(seed["values"]) | set(seed["blank"]) | set(seed["odd"])
    assert [c.key for c in form_for_year(seed["year"]).cells if not c.is_input and c.key not in covered] == []


@pytest.mark.parametrize("seed_id", IDS)
def test_value_types_match_cell_types(seed_id):
    """Counts are ints (>= 0 unless signed), amounts are decimal strings with at most the form's places."""
    seed = SEEDS[seed_id]
    cells = form_for_year(seed["year"]).cell
    for key, v in seed["values"].items():
        t = cells[key].type
        if t.whole:
            assert isinstance(v, int) and (t.signed or v >= 0), (key, v)
        else:
            assert isinstance(v, str), (key, v)
            d = Decimal(v)
            assert d >= 0 and -d.as_tuple().exponent <= t.places, (key, v)


@pytest.mark.parametrize("seed_id", IDS)
def test_rule_results_match_hand_arithmetic(seed_id):
    """The checker fails exactly the hand-worked rules with the same differences; odd cells make rules undetermined."""
    seed = SEEDS[seed_id]
    results = _return(seed).rule_results()
    failed = {r.rule.id: r.difference for r in results if r.outcome == "fail"}
    expected = {k: Decimal(str(v)) for k, v in seed["expected_failures"].items()}
    assert failed == expected
    undetermined = sorted(r.rule.id for r in results if r.outcome == "undetermined")
    assert undetermined == sorted(seed["expected_undetermined"])
    assert {r.outcome for r in results} <= {"pass", "fail", "undetermined"}


@pytest.mark.parametrize("seed_id", [s for s in IDS if SEEDS[s]["odd"]])
def test_odd_cells_read_as_zero_pass_the_affected_rules(seed_id):
    """Reading the odd cells as 0 (their evident meaning) leaves no rule undetermined and adds no failure."""
    seed = SEEDS[seed_id]
    results = _return(seed, odd_as_zero=True).rule_results()
    assert [r.rule.id for r in results if r.outcome == "undetermined"] == []
    assert {r.rule.id for r in results if r.outcome == "fail"} == set(seed["expected_failures"])


def test_beijing_sub_rows_sum_to_other_services():
    """Seed 001's 行政检查 and 行政确认 sub-rows add up to active.licensing.other_services.*."""
    seed = SEEDS["001_5f44b5de1c5f047b"]
    sub = list(seed["extra"].values())
    assert len(sub) == 2
    summed = [a + b for a, b in zip(*sub, strict=True)]
    cols = ("items_last_year", "change", "decisions")
    assert [seed["values"][f"active.licensing.other_services.{c}"] for c in cols] == summed

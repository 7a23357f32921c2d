"""Each rule outcome (通过 / 不通过 / 已说明 / 无法判断) and severity, and how blank cells count."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from tests.fillings import random_return
from xltool import outcomes
from xltool.evaluation import evaluate_rules
from xltool.forms import form_for_year
from xltool.model import Invalid, Return

FORM = form_for_year(2025)


def result(ret: Return, rule_id: str):
    return next(r for r in ret.rule_results() if r.rule.id == rule_id)


def filled(seed=1) -> Return:
    return random_return(FORM, 2025, random.Random(seed))


def test_every_rule_declares_its_metadata():
    """Each rule in both form files has an id, title, expression, severity, level, tolerance, blank policy and basis."""
    for form in (form_for_year(2020), FORM):
        for rule in form.rules:
            assert rule.id and rule.title and rule.source and rule.basis
            assert (rule.severity, rule.level) in {("error", "逻辑性"), ("warning", "合理性")}
            assert rule.tolerance == 0 and rule.blank in {"zero", "undetermined"}


def test_pass_and_fail_with_difference():
    """An error rule passes on balanced numbers and fails with left − right as the difference."""
    ret = filled()
    assert result(ret, "T3-BAL-NATURAL_PERSON").outcome == "pass"
    ret.values["apply.carried_over.natural_person"] += 3
    r = result(ret, "T3-BAL-NATURAL_PERSON")
    assert (r.outcome, r.difference, r.rule.severity, r.display) == ("fail", Decimal(-3), "error", "不平衡（差额 -3）")
    assert [p.severity for p in ret.check() if p.code == "T3-BAL-NATURAL_PERSON"] == ["error"]


def test_warning_fails_then_explained():
    """A failed warning is a warning problem; with a 说明 it becomes 已说明 and a note, not a warning."""
    ret = filled()
    ret.values["active.fees.admin_fee.amount"] = Decimal("25000")
    assert result(ret, "T2-FEE-UNIT").outcome == "fail"
    assert [p.severity for p in ret.check() if p.code == "T2-FEE-UNIT"] == ["warning"]
    ret.explanations["T2-FEE-UNIT"] = "含土地出让相关收费，金额属实"
    assert result(ret, "T2-FEE-UNIT").outcome == "explained"
    assert [p.severity for p in ret.check() if p.code == "T2-FEE-UNIT"] == ["info"]


def test_explanation_does_not_excuse_an_error():
    """A 说明 cannot turn an arithmetic error into 已说明."""
    ret = filled()
    ret.values["apply.new.business"] += 1
    ret.explanations["T3-BAL-BUSINESS"] = "请忽略"
    assert result(ret, "T3-BAL-BUSINESS").outcome == "fail"


def test_undetermined_when_input_unusable():
    """Text in a cell the rule reads makes the rule 无法判断 (never a silent pass) and the cell an error."""
    ret = filled()
    ret.values["apply.new.research"] = Invalid("无", "是文字")
    r = result(ret, "T3-BAL-RESEARCH")
    assert r.outcome == "undetermined" and "不是有效数字（无）" in r.reason
    assert "INVALID-VALUE" in {p.code for p in ret.check() if p.severity == "error"}


def test_blank_counts_as_zero_or_makes_rule_undetermined():
    """blank: zero rules treat a blank as 0 (with a BLANK-CELL warning); blank: undetermined rules cannot judge."""
    ret = filled()
    ret.values.pop("active.rules.regulation.in_force")
    assert result(ret, "T2-INFORCE-REGULATION").outcome == "undetermined"
    assert ("BLANK-CELL", "warning") in {(p.code, p.severity) for p in ret.check()}
    ret = filled()
    ret.values["apply.carried_over.other"] = Decimal(4)
    ret.values["apply.new.other"] += 4  # balanced with 4 carried over ...
    ret.values.pop("apply.carried_over.other")  # ... so a blank there (= 0) leaves 一+二 four too high
    r = result(ret, "T3-BAL-OTHER")
    assert (r.outcome, r.difference) == ("fail", Decimal(4))


def test_no_items_flag_fills_zeros():
    """A blank table marked 本年度无此类事项 counts as zeros: its rules pass and no cell is reported blank."""
    ret = filled()
    for cell in FORM.table("appeal").cells:
        ret.values.pop(cell.key, None)
    assert result(ret, "T4-SUM-REVIEW").outcome == "undetermined"
    ret.no_items.add("appeal")
    assert result(ret, "T4-SUM-REVIEW").outcome == "pass"
    assert not [p for p in ret.check() if p.sheet == "四、复议诉讼"]


def test_all_blank_is_not_filled():
    """A return with every table blank is 未填报 — one error — not a return of zeros."""
    ret = Return(FORM, 2025)
    assert ret.not_filled
    assert [(p.code, p.severity) for p in ret.check()] == [("NOT-FILLED", "error")]
    assert {r.outcome for r in ret.rule_results()} == {"undetermined"}


def test_both_evaluators_follow_the_ladder_as_declared(monkeypatch):
    """Reorder the outcome ladder and both the compiled and the reference evaluator follow it, with no step of it
    written again by hand: here a 说明 is asked for before the test, so an explained warning that holds is 已说明."""
    ret = filled()
    ret.explanations["T2-FEE-UNIT"] = "含土地出让相关收费"
    assert result(ret, "T2-FEE-UNIT").outcome == "pass"
    ladder = list(outcomes.LADDER)
    holds = next(i for i, s in enumerate(ladder) if s.condition == "holds")
    ladder[holds], ladder[holds + 1] = ladder[holds + 1], ladder[holds]
    monkeypatch.setattr(outcomes, "LADDER", tuple(ladder))
    for reference in (False, True):
        r = next(r for r in evaluate_rules(ret, reference=reference) if r.rule.id == "T2-FEE-UNIT")
        assert (r.outcome, r.display) == ("explained", "已说明")


def test_a_ladder_step_python_cannot_judge_is_an_error(monkeypatch):
    """A step added to the ladder without saying how Python judges it stops the check; no evaluator skips it."""
    step = outcomes.Step("audited", outcomes.Outcome.UNDETERMINED)
    monkeypatch.setattr(outcomes, "LADDER", (step, *outcomes.LADDER))
    for reference in (False, True):
        with pytest.raises(LookupError, match="audited"):
            evaluate_rules(filled(), reference=reference)

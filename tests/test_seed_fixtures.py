"""tests/fixtures/seeds holds exactly the table parts of the seed reports, as make_seed_fixtures.py derives them."""

from __future__ import annotations

import pytest

from tests.fixtures import make_seed_fixtures as mk


def test_fixtures_hold_no_prose():
    """Each fixture keeps the title and the three tables, not the report's prose (一、总体情况, 五、六)."""
    for seed_id in mk.SEED_IDS:
        text = (mk.OUT_DIR / f"{seed_id}.txt").read_text(encoding="utf-8")
        assert "总体情况" not in text and "存在的主要问题" not in text and "其他需要报告的事项" not in text
        assert "二、主动公开政府信息情况" in text and "四、政府信息公开行政复议、行政诉讼情况" in text


def test_fixtures_are_derived_from_the_seed_reports():
    """Where the seed reports sit beside the checkout (shared/seeds), each fixture is their derivation, byte for byte."""
    if not mk.DEFAULT_SEED_DIR.is_dir():
        pytest.skip("the seed reports (shared/seeds) are not beside this checkout")
    for seed_id in mk.SEED_IDS:
        fixture = (mk.OUT_DIR / f"{seed_id}.txt").read_bytes()
        source = (mk.DEFAULT_SEED_DIR / f"{seed_id}.txt").read_bytes().decode("utf-8")
        assert fixture == mk.derive(source).encode("utf-8"), seed_id

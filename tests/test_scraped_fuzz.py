"""Property: whatever the numbers and however the digits run together, a scraped Table 三/四 is read right or left
unknown — never wrong.

A consistent Table 三 (every identity holds) and Table 四 are drawn at random (mostly zeros, some counts up to a few
hundred, as in real reports), printed the way portals flatten them (cells glued, or separated by random spaces), put
on one line behind the labels of the 2021 form, and imported. The true split always satisfies every constraint, so
when the solver finds a unique split it must be the true one; anything else must come out as an unknown cell.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltool.formats._scraped import _rows
from xltool.formats.text import text_page
from xltool.forms import all_forms
from xltool.reading import assemble
from xltool.values import Invalid

HERE = Path(__file__).resolve().parent
BASES = {
    "2021": (HERE / "fixtures" / "corpus" / "pingtan_gonganju_2022_scrapedtxt.txt").read_text(encoding="utf-8"),
    "2019": (HERE / "fixtures" / "corpus" / "pingtan_jiaotongyujiansheju_2019_scrapedtxt.txt").read_text(
        encoding="utf-8"
    ),
}
FORMS = {v: next(f for f in all_forms() if str(f.version) == v) for v in BASES}
T3S = {v: next(t for t in f.tables if t.number == "三") for v, f in FORMS.items()}
T3 = T3S["2021"]
HEAD3 = (
    "三、收到和处理政府信息公开申请情况（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）申请人情况"
    "自然人法人或其他组织总计商业企业科研机构社会公益组织法律服务机构其他"
)
HEAD4 = (
    "四、政府信息公开行政复议、行政诉讼情况行政复议行政诉讼结果维持结果纠正其他结果尚未审结总计未经复议直接起诉复议后起诉"
    "结果维持结果纠正其他结果尚未审结总计结果维持结果纠正其他结果尚未审结总计"
)
RESULTS = {
    v: [k for k in dict.fromkeys(c.key.rsplit(".", 1)[0] for c in t.cells) if k.startswith("apply.result.")]
    for v, t in T3S.items()
}
# How portals print a label: as is, numbered 1、 (1) ⑴, with half-width brackets, with a space inside.
VARIANTS = {
    "plain": lambda t: t,
    "dun": lambda t: re.sub(r"^(\d)\.", r"\1、", t),
    "paren": lambda t: re.sub(r"^(\d)\.", r"(\1)", t),
    "circled": lambda t: re.sub(r"^(\d)\.", lambda m: "⑴⑵⑶⑷⑸⑹⑺⑻"[int(m.group(1)) - 1], t),
    "half": lambda t: t.replace("（", "(").replace("）", ")"),
    "space": lambda t: t[:3] + " " + t[3:] if len(t) > 4 else t,
}
COLS = ("natural_person", "business", "research", "nonprofit", "legal_service", "other", "total")
APPEAL = [f"appeal.{g}.{c}" for g in ("review", "direct", "after_review") for c in ("upheld", "corrected", "other",
                                                                                  "pending", "total")]  # fmt: skip

count = st.one_of(st.just(0), st.just(0), st.just(0), st.integers(1, 9), st.integers(10, 400))


@st.composite
def tables(draw):
    version = draw(st.sampled_from(sorted(BASES)))
    results = RESULTS[version]
    rows: dict[str, list[int]] = {k: [0] * 7 for k in ["apply.new", "apply.carried_in", *results,
                                                        "apply.result_total", "apply.carried_over"]}  # fmt: skip
    for c in range(6):
        for k in results:
            rows[k][c] = draw(count) if draw(st.booleans()) else 0
        total = sum(rows[k][c] for k in results)
        rows["apply.result_total"][c] = total
        over = draw(st.integers(0, 20))
        rows["apply.carried_over"][c] = over
        carried = draw(st.integers(0, total + over))
        rows["apply.carried_in"][c] = carried
        rows["apply.new"][c] = total + over - carried
    for v in rows.values():
        v[6] = sum(v[:6])
    appeal = []
    for _ in range(3):
        four = [draw(st.one_of(st.just(0), st.integers(0, 12))) for _ in range(4)]
        appeal += [*four, sum(four)]
    return version, rows, appeal


def _printed(values: list[int], gaps: list[bool]) -> str:
    out = str(values[0])
    for v, gap in zip(values[1:], gaps, strict=False):
        out += (" " if gap else "") + str(v)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tables(),
    st.lists(st.booleans(), min_size=14, max_size=14),
    st.booleans(),
    st.lists(st.sampled_from(sorted(VARIANTS)), min_size=40, max_size=40),
)
def test_random_tables_read_right_or_unknown(table, gaps, spaced, variants):
    """Every cell of a random consistent table (either form version; labels printed in random numbering and
    bracket variants, with stray spaces), glued or randomly spaced, is read right or left unknown; the form version
    is recognised."""
    version, rows, appeal = table
    t3 = T3S[version]
    key_of_row = {c.row: c.key.rsplit(".", 1)[0] for c in t3.cells}
    parts = [HEAD3]
    for k, (text, row, own) in enumerate(_rows(t3)):
        parts.append(VARIANTS[variants[k % len(variants)]](text))
        if own:
            parts.append(_printed(rows[key_of_row[row]], gaps[:6] if spaced else [False] * 6))
    parts += [HEAD4, " ", _printed(appeal, gaps if spaced else [False] * 14)]
    base = BASES[version]
    text = base[: base.index("三、收到和处理")] + "".join(parts) + "五、存在的主要问题及改进情况"
    ret = assemble(text_page(text))
    assert str(ret.form.version) == version
    for key, vals in rows.items():
        for col, want in zip(COLS, vals, strict=True):
            got = ret.values.get(f"{key}.{col}")
            assert isinstance(got, Invalid) or got == want, (key, col, got, want)
            if not any(vals):  # '0000000' splits one way only: a row of zeros must be read (its label was found)
                assert got == 0, (key, col, got)
    for key, want in zip(APPEAL, appeal, strict=True):
        got = ret.values.get(key)
        assert isinstance(got, Invalid) or got == want, (key, got, want)

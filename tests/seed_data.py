"""Hand transcriptions of the five published township reports in shared/seeds (test fixtures).

Every number printed in the three statistical tables (二 主动公开, 三 依申请公开, 四 复议诉讼) was read off the seed
text cell by cell, in the printed order, and is keyed here by its xltool key (templates/gov-info-2019.yaml or
templates/gov-info-2021.yaml). Printed totals (Table 三 总计 column J, the （七）总计 row, Table 四's three 总计
columns) are included exactly as printed, so the checker verifies them.

Each table row is written below as it appears in the report (one tuple per printed row, values left to right), and
`_seed()` turns the rows into the flat dict described in the brief:

    SEEDS[seed_id] = {
        "unit", "year", "form_version",
        "values":   {key: int | str},   # clean numbers; amounts as strings exactly as printed ("0.0000")
        "blank":    [key, ...],         # cells printed empty
        "odd":      {key: raw},         # cells whose printed text is not a clean number, exactly as printed
        "extra":    {label: [values]},  # printed numbers with no xltool key
        "notes":    str,
        "expected_failures":     {rule_id: difference},  # rules the printed numbers violate (left - right), by hand
        "expected_undetermined": [rule_id, ...],         # rules the checker cannot judge because of an odd cell
    }

Whitespace padding around a number (NBSP in seed 000, EN SPACE in seed 002) is treated as layout, not as part of the
value: such cells count as clean numbers. Only text that is not a number once trimmed goes to "odd".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Odd:
    """A printed cell whose text is not a clean number; `raw` is exactly what the report prints."""

    raw: str


BLANK = None  # a cell printed empty (none of the five seeds has one; kept for future seeds)

# Column keys in printed (official) order, per version. Table 二 columns depend on the block.
ACTIVE_COLUMNS = {
    "2019": {
        "rules": ("made", "published", "published_total"),
        "licensing": ("items_last_year", "change", "decisions"),
        "enforcement": ("items_last_year", "change", "decisions"),
        "fees": ("items_last_year", "change"),
        "procurement": ("projects", "amount"),
    },
    "2021": {
        "rules": ("issued", "repealed", "in_force"),
        "licensing": ("decisions",),
        "enforcement": ("decisions",),
        "fees": ("amount",),
    },
}
# Table 三: 自然人, 商业企业, 科研机构, 社会公益组织, 法律服务机构, 其他, 总计
APPLY_COLUMNS = ("natural_person", "business", "research", "nonprofit", "legal_service", "other", "total")
# Table 四: 行政复议 ×5, 未经复议直接起诉 ×5, 复议后起诉 ×5; each 结果维持/结果纠正/其他结果/尚未审结/总计
APPEAL_COLUMNS = tuple(
    f"{group}.{col}"
    for group in ("review", "direct", "after_review")
    for col in ("upheld", "corrected", "other", "pending", "total")
)

Z7 = (0, 0, 0, 0, 0, 0, 0)  # a Table 三 row printed as seven zeros
Z15 = (0,) * 15  # Table 四 printed as fifteen zeros


def _seed(
    *,
    unit,
    year,
    form_version,
    active,
    apply,
    appeal,
    extra=None,
    notes="",
    expected_failures=None,
    expected_undetermined=(),
):
    values: dict[str, int | str] = {}
    blank: list[str] = []
    odd: dict[str, str] = {}

    def put(key: str, v) -> None:
        assert key not in values and key not in odd and key not in blank, key
        if v is BLANK:
            blank.append(key)
        elif isinstance(v, Odd):
            odd[key] = v.raw
        else:
            values[key] = v

    columns = ACTIVE_COLUMNS[form_version]
    for row, printed in active.items():
        block = row.split(".")[0]
        assert len(printed) == len(columns[block]), (row, printed)
        for col, v in zip(columns[block], printed, strict=True):
            put(f"active.{row}.{col}", v)
    for row, printed in apply.items():
        assert len(printed) == 7, (row, printed)
        for col, v in zip(APPLY_COLUMNS, printed, strict=True):
            put(f"apply.{row}.{col}", v)
    assert len(appeal) == 15, appeal
    for col, v in zip(APPEAL_COLUMNS, appeal, strict=True):
        put(f"appeal.{col}", v)
    return {
        "unit": unit,
        "year": year,
        "form_version": form_version,
        "values": values,
        "blank": blank,
        "odd": odd,
        "extra": extra or {},
        "notes": notes,
        "expected_failures": expected_failures or {},
        "expected_undetermined": list(expected_undetermined),
    }


SEEDS: dict[str, dict] = {}

# ---------------------------------------------------------------------------------------------------------------------
# 000: 方正县大罗密镇 2020 (黑龙江), 2019 format.
SEEDS["000_f7ae2b9bd63a851c"] = _seed(
    unit="方正县大罗密镇",
    year=2020,
    form_version="2019",
    active={
        # 第二十条第（一）项: 本年新制作数量, 本年新公开数量, 对外公开总数量
        "rules.regulation": (0, 0, 0),
        "rules.normative": (0, 0, 0),
        # 第二十条第（五）项: 上一年项目数量, 本年增/减, 处理决定数量
        "licensing.permit": (0, 0, 0),
        "licensing.other_services": (0, 0, 0),  # printed label: 其他对外管理服务事项（除行政许可外的其他行政权力）
        # 第二十条第（六）项
        "enforcement.penalty": (0, 0, 0),
        "enforcement.coercion": (0, 0, 0),
        # 第二十条第（八）项: 上一年项目数量, 本年增/减
        "fees.admin_fee": (0, 0),
        # 第二十条第（九）项: 采购项目数量, 采购总金额
        "procurement.central": (0, "0"),
    },
    apply={
        "new": Z7,
        "carried_in": Z7,
        "result.public": (0, Odd("\u00a0.0"), 0, 0, 0, 0, 0),  # 商业企业 printed as NBSP + ".0" (line 131)
        "result.partial": Z7,
        "result.withheld.state_secret": Z7,
        "result.withheld.prohibited": Z7,
        "result.withheld.security": Z7,
        "result.withheld.third_party": Z7,
        "result.withheld.internal": Z7,
        "result.withheld.process": Z7,
        "result.withheld.enforcement_file": Z7,
        "result.withheld.inquiry": Z7,
        "result.unavailable.not_held": Z7,
        "result.unavailable.needs_creation": Z7,
        "result.unavailable.unclear": Z7,
        "result.rejected.petition": Z7,
        "result.rejected.repeated": Z7,
        "result.rejected.publication": Z7,
        "result.rejected.mass": Z7,
        "result.rejected.confirmation": Z7,
        "result.other": Z7,
        "result_total": Z7,
        "carried_over": Z7,
    },
    appeal=Z15,
    notes=(
        "All printed numbers are 0. Table 三 （一）予以公开 / 商业企业 is printed as '\\u00a0.0' (NBSP then '.0'), "
        "not a clean number; it is given to the checker as Invalid('\\u00a0.0', '不是规范数字'). It almost certainly "
        "means 0 (the look of a 0 under a '#.0' number format, and the row's printed 总计 and the 商业企业 （七）总计 "
        "are both 0); read as 0, the seed passes every rule. Most Table 三 and Table 四 numbers carry a leading or "
        "trailing NBSP (U+00A0), e.g. '\\u00a00', '0\\u00a0'; treated as clean 0. Local label "
        "'其他对外管理服务事项（除行政许可外的其他行政权力）'. Text says no applications, 复议 or 诉讼 in 2020, "
        "consistent with the tables."
    ),
    # Working by hand: every clean printed number is 0, so every row total, （七）总计, 勾稽 and Table 四 总计 is
    # 0 = 0, and T2-PUBLISHED-* (0 >= 0), T2-PROCUREMENT-UNIT (0 <= 100000), T4-WITHOUT-APPLICATION (0 == 0) hold.
    expected_failures={},
    # The odd cell apply.result.public.business is read directly by T3-ROWSUM-RESULT-PUBLIC and
    # T3-RESULT-TOTAL-BUSINESS. The checker also calls undetermined every rule whose *formula closure* reaches it,
    # even though the printed totals in between are present: T3-BAL-BUSINESS (via apply.result_total.business),
    # T3-ROWSUM-RESULT_TOTAL and T3-BAL-TOTAL (via apply.result_total.total -> apply.result_total.business).
    # With the printed totals those three would be 0+0 = 0+0 (pass) by hand; see the report.
    # Only the rules that read the odd cell itself; rules over the printed totals can still be judged.
    expected_undetermined=[
        "T3-ROWSUM-RESULT-PUBLIC",
        "T3-RESULT-TOTAL-BUSINESS",
    ],
)

# ---------------------------------------------------------------------------------------------------------------------
# 001: 北京市密云区穆家峪镇 2020, 2019 format with 北京's local variations.
SEEDS["001_5f44b5de1c5f047b"] = _seed(
    unit="北京市密云区穆家峪镇",
    year=2020,
    form_version="2019",
    active={
        "rules.regulation": (0, 0, 0),
        "rules.normative": (10, 2, 21),
        "licensing.permit": (0, 0, 0),
        # 其他对外管理服务事项 is split into 行政检查 (0, 0, 0) and 行政确认 (0, 0, 0); the key holds their sum.
        "licensing.other_services": (0, 0, 0),
        "enforcement.penalty": (0, 0, 0),
        "enforcement.coercion": (0, 0, 0),
        "fees.admin_fee": (0, 0),
        # label 采购总金额（万元，保留四位小数）
        "procurement.central": (0, "0.0000"),
    },
    apply={
        "new": Z7,
        "carried_in": (1, 0, 0, 0, 0, 0, 1),
        "result.public": Z7,
        "result.partial": Z7,
        "result.withheld.state_secret": Z7,
        "result.withheld.prohibited": Z7,
        "result.withheld.security": Z7,
        "result.withheld.third_party": Z7,
        "result.withheld.internal": Z7,
        "result.withheld.process": Z7,
        "result.withheld.enforcement_file": Z7,
        "result.withheld.inquiry": Z7,
        "result.unavailable.not_held": (1, 0, 0, 0, 0, 0, 1),
        "result.unavailable.needs_creation": Z7,
        "result.unavailable.unclear": Z7,
        "result.rejected.petition": Z7,
        "result.rejected.repeated": Z7,
        "result.rejected.publication": Z7,
        "result.rejected.mass": Z7,
        "result.rejected.confirmation": Z7,
        "result.other": Z7,
        "result_total": (1, 0, 0, 0, 0, 0, 1),
        "carried_over": Z7,
    },
    # 行政复议: 维持 0, 纠正 1, 其他 0, 未审结 0, 总计 1; both 诉讼 groups all 0
    appeal=(0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    extra={
        "其他对外管理服务事项/行政检查": [0, 0, 0],  # 上一年项目数量, 本年增/减, 处理决定数量
        "其他对外管理服务事项/行政确认": [0, 0, 0],
    },
    notes=(
        "北京 local layout: 其他对外管理服务事项 is a row-merged parent with two sub-rows 行政检查 and 行政确认 "
        "(each 0/0/0); active.licensing.other_services holds their sum (0/0/0) and the sub-rows are in extra. "
        "采购总金额 is labelled （万元，保留四位小数） and printed 0.0000. Header cells contain line breaks and "
        "spaces ('结\\n果\\n维\\n持', '总 计', '（三）不予\\n\\n公开'). The only application is 1 carried in from "
        "2019 by a 自然人, answered 本机关不掌握相关政府信息; its applicant applied for 行政复议, printed as 结果纠正 1 "
        "(总计 1), matching the text ('申请人提出复议'). 规范性文件: made 10, newly published 2, published total 21 "
        "(made > published is not a rule)."
    ),
    # Working by hand, all pass:
    #   ROWSUM carried_in 1+0+0+0+0+0 = 1 (printed 1); not_held 1 = 1; result_total 1 = 1; all other rows 0 = 0.
    #   RESULT-TOTAL natural_person: results sum to 1 (not_held) = printed 1; other columns 0 = 0.
    #   BAL natural_person 0 + 1 = 1 + 0; BAL total 0 + 1 = 1 + 0; other columns 0 = 0.
    #   T4-SUM-REVIEW 0+1+0+0 = 1 (printed 1); DIRECT, AFTER_REVIEW 0 = 0.
    #   T2-PUBLISHED-NORMATIVE 21 >= 2; REGULATION 0 >= 0. T2-PROCUREMENT-UNIT 0.0000 <= 100000.
    #   T4-WITHOUT-APPLICATION: 复议诉讼 total 1 != 0, but new.total + carried_in.total = 0 + 1 > 0, so it holds.
    expected_failures={},
)

# ---------------------------------------------------------------------------------------------------------------------
# 002: 贺兰县立岗镇 2022 (宁夏), 2021 format.
SEEDS["002_ddf1fad75dcf317a"] = _seed(
    unit="贺兰县立岗镇",
    year=2022,
    form_version="2021",
    active={
        # 第二十条(一)项: 本年制发件数, 本年废止件数, 现行有效件数
        "rules.regulation": (0, 0, 0),
        "rules.normative": (0, 0, 0),
        # 第二十条(五)项 / (六)项: 本年处理决定数量
        "licensing.permit": (0,),
        "enforcement.penalty": (6,),
        "enforcement.coercion": (0,),
        # 第二十条(八)项: 本年收费金额(单位:万元)
        "fees.admin_fee": ("0",),
    },
    apply={
        "new": Z7,
        "carried_in": Z7,
        "result.public": Z7,
        "result.partial": Z7,
        "result.withheld.state_secret": Z7,
        "result.withheld.prohibited": Z7,
        "result.withheld.security": Z7,
        "result.withheld.third_party": Z7,
        "result.withheld.internal": Z7,
        "result.withheld.process": Z7,
        "result.withheld.enforcement_file": Z7,
        "result.withheld.inquiry": Z7,
        "result.unavailable.not_held": Z7,
        "result.unavailable.needs_creation": Z7,
        "result.unavailable.unclear": Z7,
        "result.rejected.petition": Z7,
        "result.rejected.repeated": Z7,
        "result.rejected.publication": Z7,
        "result.rejected.mass": Z7,
        "result.rejected.confirmation": Z7,
        "result.other.no_correction": Z7,
        "result.other.unpaid_fee": Z7,
        "result.other.other": Z7,
        "result_total": Z7,
        "carried_over": Z7,
    },
    appeal=Z15,
    notes=(
        "2021 format (seed published 2023-01-30). The only non-zero number is 行政处罚 本年处理决定数量 6; "
        "收费金额 printed '0'. Labels use ASCII punctuation ('第二十条第(一)项', '(一)予以公开', "
        "'本年收费金额(单位:万元)', '(本列数据的勾稽关系为:...)'); Table 二 numbers are padded with EN SPACEs "
        "(U+2002), treated as clean. The flattened text has no empty filler cells for the merged header cells "
        "of Tables 三 and 四 (unlike the other seeds). Text says no applications, 复议 or 诉讼 in 2022."
    ),
    # Working by hand: Tables 三 and 四 are all 0, so every T3-*/T4-SUM-* is 0 = 0; T2-INFORCE-* 0 >= 0;
    # T2-FEE-UNIT 0 <= 10000; T4-WITHOUT-APPLICATION 0 == 0. Nothing fails.
    expected_failures={},
)

# ---------------------------------------------------------------------------------------------------------------------
# 003: 于家房镇 2020 (沈阳市辽中区, 辽宁), 2019 format.
SEEDS["003_d6f47a2b38dcf6cb"] = _seed(
    unit="于家房镇",
    year=2020,
    form_version="2019",
    active={
        "rules.regulation": (0, 0, 0),
        "rules.normative": (0, 0, 0),
        "licensing.permit": (0, 0, 0),
        "licensing.other_services": (0, 0, 0),
        "enforcement.penalty": (0, 0, 0),
        "enforcement.coercion": (0, 0, 0),
        "fees.admin_fee": (0, 0),
        "procurement.central": (0, "0"),
    },
    apply={
        "new": Z7,  # label printed 一、本年新收到政府信息公开申请数量
        "carried_in": Z7,  # label printed 二、上年结转政府信息公开数量
        "result.public": Z7,
        "result.partial": Z7,
        "result.withheld.state_secret": Z7,
        "result.withheld.prohibited": Z7,
        "result.withheld.security": Z7,  # label printed 3.危机“三安全一稳定”
        "result.withheld.third_party": Z7,
        "result.withheld.internal": Z7,
        "result.withheld.process": Z7,
        "result.withheld.enforcement_file": Z7,  # label printed 7.属于行政法案卷
        "result.withheld.inquiry": Z7,
        "result.unavailable.not_held": Z7,
        "result.unavailable.needs_creation": Z7,  # label printed 2.没有现成信息需另行制作
        "result.unavailable.unclear": Z7,
        "result.rejected.petition": Z7,
        "result.rejected.repeated": Z7,
        "result.rejected.publication": Z7,
        "result.rejected.mass": Z7,
        "result.rejected.confirmation": Z7,
        "result.other": Z7,
        "result_total": Z7,
        "carried_over": Z7,
    },
    appeal=Z15,
    notes=(
        "Title names the unit only as 于家房镇 (title split over two lines: '于家房镇2020年政府信息公开工作' / "
        "'年度报告'); the signature is 沈阳市辽中区于家房镇人民政府, dated 2021年1月26日. Every printed number is 0. "
        "Label typos/variants: 一、本年新收到政府信息公开申请数量, 二、上年结转政府信息公开数量, "
        "3.危机“三安全一稳定”, 7.属于行政法案卷, 2.没有现成信息需另行制作; header line breaks "
        "('本年新\\n制作数量', '对外公开\\n总数量'); sections numbered '1、' and '5、'. The flattened text has an "
        "extra filler line before （四）无法提供, which starts without a tab. 采购总金额 printed '0' (no unit)."
    ),
    # Working by hand: everything is 0, so every rule holds (sums 0 = 0, T2 0 >= 0, 0 <= 100000, T4 0 == 0).
    expected_failures={},
)

# ---------------------------------------------------------------------------------------------------------------------
# 004: 定州市号头庄回族乡 2020 (河北), 2019 format.
SEEDS["004_afd3ce171a558573"] = _seed(
    unit="定州市号头庄回族乡",
    year=2020,
    form_version="2019",
    active={
        "rules.regulation": (0, 0, 0),
        "rules.normative": (0, 0, 0),
        "licensing.permit": (23, 23, 0),
        "licensing.other_services": (0, 0, 0),
        "enforcement.penalty": (0, 0, 0),
        "enforcement.coercion": (0, 0, 0),
        "fees.admin_fee": (0, 0),
        "procurement.central": (0, "0"),
    },
    apply={
        "new": Z7,
        "carried_in": Z7,
        "result.public": Z7,
        "result.partial": Z7,
        "result.withheld.state_secret": Z7,
        "result.withheld.prohibited": Z7,
        "result.withheld.security": Z7,
        "result.withheld.third_party": Z7,
        "result.withheld.internal": Z7,
        "result.withheld.process": Z7,
        "result.withheld.enforcement_file": Z7,
        "result.withheld.inquiry": Z7,
        "result.unavailable.not_held": Z7,
        "result.unavailable.needs_creation": Z7,
        "result.unavailable.unclear": Z7,
        "result.rejected.petition": Z7,
        "result.rejected.repeated": Z7,
        "result.rejected.publication": Z7,
        "result.rejected.mass": Z7,
        "result.rejected.confirmation": Z7,
        "result.other": Z7,
        "result_total": Z7,
        "carried_over": Z7,
    },
    appeal=Z15,
    notes=(
        "Only non-zero numbers: 行政许可 上一年项目数量 23, 本年增/减 23 (printed without a '+'), 处理决定数量 0 — "
        "implausible (23 items last year plus 23 would be 46; possibly 23 was typed into both cells), but no xltool "
        "rule covers it. Everything else 0; 采购总金额 printed '0' (no unit). Title spread over two lines "
        "('定州市号头庄回族乡' / '2020年度政府信息公开年度报告'); cites 国办公开办函【2019】60号 with 【】; heading "
        "'五、信息公开工作存在的主要问题及改进情况' and no section 六. Header line breaks ('本年新\\n制作数量')."
    ),
    # Working by hand: Tables 三 and 四 all 0 (every T3-*/T4-SUM-* is 0 = 0, T4-WITHOUT-APPLICATION 0 == 0);
    # T2-PUBLISHED-* 0 >= 0; T2-PROCUREMENT-UNIT 0 <= 100000. The 23/23 licensing row is not under any rule.
    expected_failures={},
)

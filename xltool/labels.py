"""Compare labels the way a person does: ignore spaces and line breaks, ASCII vs full-width, and known typos."""

from __future__ import annotations

import re
import unicodedata

# Known local wording changes and typos in published tables (official-format.md §8.1), as normalised text.
ALIASES = {
    "一、本年新收到政府信息公开申请数量": "一、本年新收政府信息公开申请数量",
    "二、上年结转政府信息公开数量": "二、上年结转政府信息公开申请数量",
    '3.危机"三安全一稳定"': '3.危及"三安全一稳定"',
    "7.属于行政法案卷": "7.属于行政执法案卷",
    "2.没有现成信息需另行制作": "2.没有现成信息需要另行制作",
    "其他对外管理服务事项(除行政许可外的其他行政权力)": "其他对外管理服务事项",
    "采购总金额(万元,保留四位小数)": "采购总金额",
}
_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "、": "、", "，": ","})


def norm(text: object) -> str:
    """Canonical form: NFKC (full-width → ASCII punctuation and digits), no whitespace, straight quotes, aliases."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES)
    s = _SPACE.sub("", s).replace("\u200b", "")
    s = s.replace("【", "[").replace("】", "]")
    return ALIASES.get(s, s)


def same(a: object, b: object) -> bool:
    return norm(a) == norm(b)

"""The annual report (政府信息公开工作年度报告) as data, independent of its output format.

`build_report(ret, previous, narrative)` lays out the whole report of a return (or of a roll-up) as a list of
`Block`s: the title, a preface in xltool's own words, 一、总体情况 with its sub-sections, each opening with factual
sentences generated from the return (and, with last year's return, the change from last year), then the clerk's own
text from a narrative file or an unmistakable placeholder; 二、三、四 the official tables as `xltool render` lays them
out; 五 the clerk's text or a placeholder; 六 the items the form version requires.

What the report says for a form version (the notice's full title, the sub-sections, the sentences and the cells they
quote, the items of 六, the extra 填报说明 fields) is declared in the form file's `report:` section (xltool.forms);
nothing here names a version. Writers (xltool.formats, purpose "annual") turn the blocks into md, html, txt, docx.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import yaml

from xltool import layout, prose
from xltool.codes import Code
from xltool.forms import Form, ReportItem, expand_keys
from xltool.model import Return
from xltool.oserrors import describe
from xltool.problems import Problem
from xltool.render import format_value, page_title

PLACEHOLDER_OPEN, PLACEHOLDER_CLOSE = "【待填写：", "（由填报单位撰写，发布前删除本提示）】"
MAX_NARRATIVE_BYTES = 2 * 1024 * 1024

# Section names a narrative file may use, in report order (the sub-sections of 一 come from the form file).
PREFACE, OVERVIEW, PROBLEMS, OTHER = "前言", "总体情况", "存在的主要问题及改进情况", "其他需要报告的事项"


@dataclass(frozen=True)
class Block:
    """One piece of the report. Writers lay each kind out in their medium and escape `text` for it."""

    kind: str  # "heading" | "paragraph" | "placeholder" | "table" | "note"
    text: str = ""
    level: int = 1  # heading: 1 = 一、总体情况 (黑体 in Word), 2 = （一）主动公开 (楷体); 0 = the report's title
    table_id: str | None = None  # kind == "table": the form table id, laid out by render.table_grid(table, ret)
    figures: tuple[tuple[str, str], ...] = ()  # generated sentence: (cell keys joined by "+", the figure as printed)
    section: str = ""  # the narrative section the block belongs to (前言, 主动公开, …)
    item: str = ""  # a placeholder of 六: the item it stands for (收取信息处理费情况), so every placeholder is named


@dataclass
class AnnualReport:
    ret: Return
    title: str  # e.g. 某某镇人民政府2025年政府信息公开工作年度报告
    blocks: list[Block]
    warnings: list[Problem] = field(default_factory=list)  # narrative figures contradicting the tables, etc.

    @property
    def placeholders(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == "placeholder"]


@dataclass
class Narrative:
    """The clerk's own text, by section name (前言, 总体情况, 主动公开, …, 其他需要报告的事项)."""

    sections: dict[str, str]
    source: str = ""


class NarrativeError(ValueError):
    """A narrative file that cannot be used; the message says why, in Chinese."""


# --- the narrative file ------------------------------------------------------------------------------------------


def section_names(form: Form) -> list[str]:
    """Every section a narrative file may name, in report order."""
    return [PREFACE, OVERVIEW, *(s.name for s in form.report.sections), PROBLEMS, OTHER]


_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[）)]|\d+[、.．])\s*")


def _section_key(name: str, form: Form) -> str | None:
    """The section a heading names: its own name, or a heading as printed (（一）主动公开, 五、存在的…)."""
    text = _NUMBERING.sub("", re.sub(r"\s+", "", str(name)))
    for s in form.report.sections:
        if text in (s.name, re.sub(r"\s+", "", _NUMBERING.sub("", s.heading))):
            return s.name
    for known in (PREFACE, OVERVIEW, PROBLEMS, OTHER):
        if text == known:
            return known
    return None


def parse_narrative(text: str, form: Form, name: str = "") -> Narrative:
    """A narrative from YAML (a mapping section → text) or Markdown (`#`/`##` headings naming the sections).

    An unknown section is refused (NarrativeError naming it and the valid names): text silently dropped from a
    published report is worse than a message."""
    sections: dict[str, str] = {}
    is_yaml = Path(name).suffix.lower() in (".yaml", ".yml")
    if not is_yaml and not re.search(r"^\s*#", text, re.M):
        try:
            is_yaml = isinstance(yaml.safe_load(text), dict)
        except yaml.YAMLError:
            is_yaml = False
    raw: list[tuple[str, str]] = []
    if is_yaml:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise NarrativeError(f"正文文件 {name} 不是有效的 YAML（{getattr(exc, 'problem', None) or exc}）") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise NarrativeError(f"正文文件 {name} 应为“章节名: 正文”的映射")
        for k, v in data.items():
            if v is not None and not isinstance(v, (str, int, float)):
                raise NarrativeError(f"正文文件 {name} 中“{k}”的内容应为文字")
            raw.append((str(k), "" if v is None else str(v)))
    else:
        current: str | None = None
        lines: list[str] = []
        for line in text.splitlines():
            m = re.match(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
            if m:
                if current is not None:
                    raw.append((current, "\n".join(lines)))
                current, lines = m.group(2), []
            elif current is not None:
                lines.append(line)
            elif line.strip():
                raise NarrativeError(f"正文文件 {name} 的第一段文字之前应有“# 章节名”标题")
        if current is not None:
            raw.append((current, "\n".join(lines)))
    valid = section_names(form)
    for heading, body in raw:
        key = _section_key(heading, form)
        if key is None:
            raise NarrativeError(f"正文文件 {name} 中的章节“{heading}”不认识；可用的章节名：{'、'.join(valid)}")
        body = body.strip()
        if body:
            sections[key] = (sections[key] + "\n\n" + body) if key in sections else body
    return Narrative(sections, name)


def read_narrative(path: str | Path, form: Form) -> Narrative:
    path = Path(path)
    try:
        data = path.read_bytes()[: MAX_NARRATIVE_BYTES + 1]
    except OSError as exc:
        raise NarrativeError(f"无法读取正文文件 {path.name}（{describe(exc)}）") from None
    if len(data) > MAX_NARRATIVE_BYTES:
        raise NarrativeError(f"正文文件 {path.name} 过大（超过 {MAX_NARRATIVE_BYTES // 1048576} MB）")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise NarrativeError(f"正文文件 {path.name} 应为 UTF-8 编码的文字")
    return parse_narrative(text, form, path.name)


_CJK = "\u2e80-\u9fff\u3000-\u303f\uff00-\uffef\u2018-\u201d"
_CJK_SPACE = re.compile(f"(?<=[{_CJK}])[ \\t]+(?=[{_CJK}])")


def paragraphs(text: str) -> list[str]:
    """A narrative text as paragraphs: blank lines separate them; lines inside one are joined, and a space between
    two Chinese characters (a YAML folded block joins its lines with one) is dropped."""
    out = []
    for part in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        joined = _CJK_SPACE.sub("", "".join(line.strip() for line in part.splitlines()))
        if joined:
            out.append(joined)
    return out


# --- figures ---------------------------------------------------------------------------------------------------


def _sum(ret: Return, keys: list[str]) -> Decimal | None:
    """The sum of cells as the tables show them; None when any is blank or unusable (no sentence quotes it)."""
    return prose.table_figure(ret, keys)


def _shown(ret: Return, keys: list[str], v: Decimal) -> str:
    t = ret.form.cell[keys[0]].type
    return format_value(v, t.name, t.places)


_PLACE = re.compile(r"\{([a-z_][a-z0-9_.+*]*)(?:\|(yoy))?\}")


def _sentence(template: str, ret: Return, previous: Return | None) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """A sentence of the form file with its figures filled in; None when a figure it quotes is blank or unusable."""
    figures: list[tuple[str, str]] = []
    missing = False

    def fill(m: re.Match) -> str:
        nonlocal missing
        spec, yoy = m.group(1), m.group(2)
        if spec.startswith("unit."):
            return ret.unit.extra.get(spec[5:], "")
        keys = expand_keys(ret.form, spec)
        v = _sum(ret, keys)
        if v is None:
            missing = True
            return ""
        if yoy:
            return _change(ret, previous, keys, v)
        shown = _shown(ret, keys, v)
        figures.append((spec, shown))
        return shown

    text = _PLACE.sub(fill, template)
    return None if missing else (text, tuple(figures))


def _change(ret: Return, previous: Return | None, keys: list[str], v: Decimal) -> str:
    """，比上年增加 N 件 / 减少 N 件 / 与上年持平 — empty without last year's figures."""
    if previous is None or not all(k in previous.form.cell for k in keys):
        return ""
    last = _sum(previous, keys)
    if last is None:
        return ""
    unit = ret.form.cell[keys[0]].type.unit or "件"
    diff = v - last
    if diff == 0:
        return "，与上年持平"
    word = "增加" if diff > 0 else "减少"
    return f"，比上年{word}{_shown(ret, keys, abs(diff))}{unit}"


def _missing_sentence(template: str, ret: Return) -> str:
    labels = []
    for m in _PLACE.finditer(template):
        for key in expand_keys(ret.form, m.group(1)):
            if key in ret.form.cell and _sum(ret, [key]) is None:
                cell = ret.form.cell[key]
                labels.append(f"表{ret.form.table(cell.table).number}“{' / '.join(cell.label_path)}”")
    shown = "、".join(dict.fromkeys(labels)) or "相应栏目"
    return f"（统计表中{shown}未填写或数值无效，此处不引用该数字。）"


# --- who the report speaks for ------------------------------------------------------------------------------------


def is_regional(ret: Return) -> bool:
    """A roll-up (xltool merge), or a return its unit filled as 统计范围 本行政区域汇总, speaks for a region."""
    return ret.meta.get("kind") == layout.ROLLUP_KIND or ret.unit.scope == layout.SCOPES[1]


_GOVERNMENT = re.compile("(?:人民)?政府")


def region_word(ret: Return) -> str:
    """The region a regional report speaks for (全县, 全区, 全市 …): the kind of area ending the unit's name before
    人民政府/政府 (某某县人民政府办公室 → 全县), from the form file's `regional.areas`; else its `regional.region`."""
    spec = ret.form.report.regional
    name = re.sub(r"\s+", "", ret.unit.name or "")
    found = _GOVERNMENT.search(name)
    head = name[: found.start()] if found else name
    for kind, word in sorted(spec.areas, key=lambda a: -len(a[0])):
        if head.endswith(kind) and len(head) > len(kind):
            return word
    return spec.region


def wording(ret: Return) -> Callable[[str], str]:
    """The rewording of the form file's report texts (sentences, prompts, items of 六) for who the report speaks for:
    unchanged for one office (本机关); for a region, each phrase of `regional.words` replaced (longest first)."""
    if not is_regional(ret) or not ret.form.report.regional.words:
        return str
    word = region_word(ret)
    table = {phrase: text.replace("{region}", word) for phrase, text in ret.form.report.regional.words}
    pattern = re.compile("|".join(re.escape(p) for p in sorted(table, key=len, reverse=True)))
    return lambda text: pattern.sub(lambda m: table[m.group(0)], text)


# --- building the report -----------------------------------------------------------------------------------------


def placeholder(what: str) -> str:
    return f"{PLACEHOLDER_OPEN}{what}{PLACEHOLDER_CLOSE}"


def build_report(ret: Return, previous: Return | None = None, narrative: Narrative | None = None) -> AnnualReport:
    """The whole report of a return (or roll-up) as blocks; warnings list contradicting figures and unfilled parts."""
    form, spec = ret.form, ret.form.report
    texts = dict(narrative.sections) if narrative else {}
    blocks: list[Block] = []
    warnings: list[Problem] = []
    say = wording(ret)
    title = page_title(ret)
    blocks.append(Block("heading", title, level=0))

    def facts(section: str, sentences: list[str]) -> None:
        for template in sentences:
            made = _sentence(say(template), ret, previous)
            if made is None:
                blocks.append(Block("note", _missing_sentence(template, ret), section=section))
            else:
                blocks.append(Block("paragraph", made[0], figures=made[1], section=section))

    def clerk(section: str, what: str) -> None:
        text = texts.get(section)
        if text:
            blocks.extend(Block("paragraph", p, section=section) for p in paragraphs(text))
            warnings.extend(audit(ret, section, text))
        else:
            blocks.append(Block("placeholder", placeholder(say(what)), section=section))

    # 前言
    for paragraph in preface(ret):
        blocks.append(Block("paragraph", paragraph, section=PREFACE))
    if texts.get(PREFACE):
        clerk(PREFACE, "")
    # 一、总体情况
    blocks.append(Block("heading", spec.overview_heading, level=1, section=OVERVIEW))
    clerk(OVERVIEW, spec.overview_prompt)
    for sub in spec.sections:
        blocks.append(Block("heading", sub.heading, level=2, section=sub.name))
        facts(sub.name, list(sub.sentences))
        clerk(sub.name, sub.prompt or f"{sub.name}工作的具体做法和成效")
    # 二、三、四
    for table in form.tables:
        blocks.append(Block("heading", table.title, level=1))
        blocks.append(Block("table", table_id=table.id))
    # 五
    blocks.append(Block("heading", spec.problems_heading, level=1, section=PROBLEMS))
    clerk(PROBLEMS, spec.problems_prompt)
    # 六
    blocks.append(Block("heading", spec.other_heading, level=1, section=OTHER))
    blocks.extend(other_items(ret, spec.other, written=bool(texts.get(OTHER)), say=say))
    if texts.get(OTHER):
        clerk(OTHER, "")
    elif not spec.other:
        blocks.append(Block("paragraph", "无。", section=OTHER))
    left = [b for b in blocks if b.kind == "placeholder"]
    if left:  # one name per placeholder: the count and the list say the same thing
        named = [f"{b.section}（{b.item}）" if b.item else b.section for b in left]
        warnings.append(
            Problem.of(
                Code.REPORT_PLACEHOLDER,
                f"报告中还有 {len(left)} 处待填写的提示（{'、'.join(named)}）；"
                "请在正文文件（--text）中写好这些章节后重新生成，发布前不得保留“【待填写：…】”",
                values={"sections": list(dict.fromkeys(b.section for b in left)), "placeholders": named},
            )
        )
    return AnnualReport(ret, title, blocks, warnings)


def preface(ret: Return) -> list[str]:
    """The opening paragraphs in xltool's words: the basis, the period, that the figures are a region's totals, the
    contact. What a roll-up holds (汇总 N 个单位（…）) is bookkeeping for the county, not for the public: publish
    says it in the command's warnings."""
    form, spec, unit = ret.form, ret.form.report, ret.unit
    notice = f"{spec.notice_title}（{form.notice}）" if spec.notice_title else f"《{form.name}》（{form.notice}）"
    name = unit.name or "本单位"
    out = [
        f"本报告根据《中华人民共和国政府信息公开条例》（以下简称《条例》）和{notice}要求，由{name}编制。"
        f"本报告所列数据的统计期限自{ret.year}年1月1日起至{ret.year}年12月31日止。"
    ]
    if is_regional(ret):
        out.append("本报告统计表数据为本行政区域汇总数据。")
    contact = []
    extra = unit.extra
    if unit.filled_by:
        contact.append(f"联系人：{unit.filled_by}")
    if unit.phone:
        contact.append(f"联系电话：{unit.phone}")
    for f in spec.unit_fields:
        if f.contact and extra.get(f.key):
            contact.append(f"{f.label}：{extra[f.key]}")
    if contact:
        out.append(f"如对本报告有任何疑问，请与{name}联系（{'；'.join(contact)}）。")
    return out


def other_items(
    ret: Return, items: tuple[ReportItem, ...], written: bool = False, say: Callable[[str], str] = str
) -> list[Block]:
    """六、其他需要报告的事项: each item the form requires, from the return's fields where it can be, else a prompt
    (none when the clerk has `written` the section: the narrative follows the items); `say` rewords the form file's
    texts for who the report speaks for."""
    out: list[Block] = []
    extra = ret.unit.extra
    for i, item in enumerate(items):
        out.append(Block("heading", f"（{_CN[i]}）{item.title}", level=2, section=OTHER))
        nothing = item.none_when_zero and all(_sum(ret, [k]) == 0 for k in item.none_when_zero)
        if item.fields and all(extra.get(k, "").strip() for k in item.fields):
            values = [extra[k].strip() for k in item.fields]
            if item.none and all(_is_zero(v) for v in values):
                out.append(Block("paragraph", say(item.none), section=OTHER))
            else:
                text = say(item.text)
                for k in item.fields:
                    text = text.replace("{unit." + k + "}", extra[k].strip())
                out.append(Block("paragraph", text, section=OTHER))
        elif nothing and item.none:  # e.g. no application at all: no fee can have been charged
            out.append(Block("paragraph", say(item.none), section=OTHER))
        elif item.fixed:
            out.append(Block("paragraph", say(item.fixed), section=OTHER))
        elif written:
            out.pop()  # the clerk's text covers this item: no empty sub-heading
        else:
            out.append(
                Block("placeholder", placeholder(say(item.prompt or item.title)), section=OTHER, item=item.title)
            )
    return out


_CN = "一二三四五六七八九十"


def _is_zero(text: str) -> bool:
    try:
        return Decimal(text.replace(",", "")) == 0
    except ArithmeticError:
        return text in ("无", "否", "没有")


# --- the narrative audit -------------------------------------------------------------------------------------------


def audit(ret: Return, section: str, text: str) -> list[Problem]:
    """Figures the clerk's text quotes compared with the tables: each contradiction names both."""
    out = []
    for hit in prose.quoted_figures(ret, paragraphs(text), sentences_only=False):
        out.append(
            Problem.of(
                Code.REPORT_TEXT_MISMATCH,
                f"“{section}”正文“{hit.quoted}”，统计表中{hit.what}为 {hit.table_text} {hit.unit}；请核对正文与统计表",
                values={"section": section, "text": hit.quoted, "prose": hit.prose_text, "table": hit.table_text},
            )
        )
    return out

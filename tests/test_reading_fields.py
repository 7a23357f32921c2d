"""The words a return carries beside its numbers, read as the rules say:
- 填报说明: each unit field from column B, stripped; a whole number without its ".0"; a formula is never read
  (FORMULA-IN-INPUT, the field empty); over 200 characters cut to 200 (TEXT-TRUNCATED); no unit name is
  UNIT-MISSING; no 填报说明 sheet at all is GUIDE-MISSING;
- the optional fields the form declares (通讯地址, 邮政编码 …), found by their label in column A (an edited label:
  not read), cut to 200 characters, formulas never read;
- 说明 in 校验: the clerk's explanation of a warning, stripped and cut to 2,000 characters; a formula is never read
  (FORMULA-IN-INPUT); notes on error rows and blank notes are not explanations.
Each case is a blank template filled in openpyxl with generated texts, numbers and formulas (the formulas given a
cached result, so that reading one would show)."""

from __future__ import annotations

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fillings import form_years
from tests.reading_workbooks import CACHED, cache_formula_results, scratch, template
from xltool import formdata, layout
from xltool.codes import Code
from xltool.forms import col_letter, form_for_year
from xltool.reading import assemble, read, read_page

SLOW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Texts a clerk types: Chinese, Latin, digits, punctuation, spaces (never a leading "=", which makes a formula).
WORDS = st.text(
    alphabet=st.sampled_from("镇人民政府街道办事处 abcXYZ0123456789（）()-—、，.#号"), min_size=1, max_size=40
)
PADDING = st.sampled_from(["", " ", "  ", "\u3000"])


@st.composite
def field_entry(draw, long_at: int):
    """(what is typed into the cell, what the field reads as, whether it is cut, whether it is a formula)."""
    kind = draw(st.sampled_from(["blank", "text", "text", "spaces", "long", "whole", "fraction", "formula"]))
    if kind == "blank":
        return None, "", False, False
    if kind == "spaces":
        return draw(PADDING.filter(bool)), "", False, False
    if kind == "text":
        words = draw(WORDS.filter(lambda w: w.strip() and not w.startswith("=")))
        return draw(PADDING) + words + draw(PADDING), words.strip(), False, False
    if kind == "long":
        words = "镇" * draw(st.integers(long_at + 1, long_at + 300))
        return words, words[:long_at], True, False
    if kind == "whole":
        n = draw(st.integers(0, 10**12))
        return float(n), str(n), False, False
    if kind == "fraction":
        x = draw(st.sampled_from([3.25, 0.5, 12345.678, -2.5]))
        return x, str(x), False, False
    formula = draw(st.sampled_from(["A1", "1+1", 'WEBSERVICE("http://x")', "B4&B5"]))
    return "=" + formula, "", False, True


@SLOW
@given(data=st.data(), year=st.sampled_from(form_years()))
def test_unit_fields_are_read_as_typed_stripped_cut_and_never_from_a_formula(data, year):
    """Each 填报说明 unit field reads as the rules say, with FORMULA-IN-INPUT, TEXT-TRUNCATED (its length) and
    UNIT-MISSING where they apply, in the fields' order."""
    wb = openpyxl.load_workbook(template(year))
    guide = wb[layout.GUIDE_SHEET]
    expected_unit, expected_problems = {}, []
    for name, _label, row in layout.UNIT_FIELDS:
        typed, reads, cut, formula = data.draw(field_entry(200), label=name)
        guide.cell(row + 1, 2).value = typed
        expected_unit[name] = reads
        if formula:
            expected_problems.append((Code.FORMULA_IN_INPUT, f"B{row + 1}", f"“={typed[1:]}”"))
        if cut:
            expected_problems.append((Code.TEXT_TRUNCATED, f"B{row + 1}", f"有 {len(typed)} 个字符"))
    if not expected_unit["name"]:
        expected_problems.append((Code.UNIT_MISSING, f"B{layout.UNIT_FIELDS[0][2] + 1}", "未填写填报单位"))
    path = scratch("fields.xlsx")
    wb.save(path)
    cache_formula_results(path)
    ret = read(path)
    assert {k: v for k, v in vars(ret.unit).items() if k != "extra"} == expected_unit
    assert CACHED not in repr(vars(ret.unit))
    codes = (Code.FORMULA_IN_INPUT, Code.TEXT_TRUNCATED, Code.UNIT_MISSING)  # UNSAFE-FORMULA is integrity's
    found = [
        (p.code, p.cell, p.message) for p in ret.read_problems if p.sheet == layout.GUIDE_SHEET and p.code in codes
    ]
    assert [f[:2] for f in found] == [e[:2] for e in expected_problems]
    for (_, _, message), (_, _, words) in zip(found, expected_problems, strict=True):
        assert words in message, (message, words)


@SLOW
@given(data=st.data())
def test_optional_fields_are_found_by_their_label(data):
    """The optional 填报说明 fields the 2025 form declares are read from column B of the row whose column-A label is
    theirs (spaces in the label do not matter, an edited label does); cut to 200 characters without a problem;
    a formula is never read (and not reported); a blank field is left out."""
    form = form_for_year(2025)
    extra = layout.extra_fields(form)
    assert extra  # the 2025 form declares some
    wb = openpyxl.load_workbook(template(2025))
    guide = wb[layout.GUIDE_SHEET]
    expected = {}
    for key, label, row, _hint in extra:
        typed, reads, _cut, _formula = data.draw(field_entry(200), label=key)
        how = data.draw(st.sampled_from(["as written", "spaced", "edited"]), label=f"{key} label")
        if how == "spaced":
            guide.cell(row + 1, 1).value = " " + " ".join(label) + "\u3000"
        elif how == "edited":
            guide.cell(row + 1, 1).value = label + "（改）"
        guide.cell(row + 1, 2).value = typed
        if reads and how != "edited":
            expected[key] = reads
    path = scratch("extra.xlsx")
    wb.save(path)
    cache_formula_results(path)
    ret = read(path)
    assert list(ret.unit.extra.items()) == list(expected.items())
    assert CACHED not in repr(vars(ret.unit))
    codes = (Code.FORMULA_IN_INPUT, Code.TEXT_TRUNCATED, Code.UNIT_MISSING)
    assert [p.code for p in ret.read_problems if p.sheet == layout.GUIDE_SHEET and p.code in codes] == [
        Code.UNIT_MISSING
    ]


def test_a_formulas_cached_text_is_never_read():
    """A formula in the unit name, an optional field and a 说明, each with a cached text result in the file: none of
    the three is read (the name is FORMULA-IN-INPUT and UNIT-MISSING)."""
    form = form_for_year(2025)
    wb = openpyxl.load_workbook(template(2025))
    name_cell = f"B{layout.UNIT_FIELDS[0][2] + 1}"
    wb[layout.GUIDE_SHEET][name_cell] = "=A1"
    _, _, row, _ = layout.extra_fields(form)[0]
    wb[layout.GUIDE_SHEET].cell(row + 1, 2).value = "=A2"
    check = wb[layout.CHECK_SHEET]
    warnings = formdata.of(form).warning_ids
    note_row = next(
        c.row for (c,) in check.iter_rows(min_col=layout.COL_ID + 1, max_col=layout.COL_ID + 1) if c.value in warnings
    )
    check.cell(note_row, layout.COL_NOTE + 1).value = "=B2"
    path = scratch("cached.xlsx")
    wb.save(path)
    cache_formula_results(path)
    page = read_page(path)
    assert page.sheet(layout.GUIDE_SHEET)[layout.UNIT_FIELDS[0][2]][1] == CACHED  # the file holds the cached text
    ret = assemble(page)
    assert ret.unit.name == "" and ret.unit.extra == {} and ret.explanations == {}
    found = {(p.code, p.cell) for p in ret.read_problems}
    assert {(Code.FORMULA_IN_INPUT, name_cell), (Code.UNIT_MISSING, name_cell)} <= found
    assert (Code.FORMULA_IN_INPUT, f"{col_letter(layout.COL_NOTE)}{note_row}") in found


def test_no_guide_sheet_is_guide_missing():
    """A workbook whose 填报说明 sheet was deleted reads with GUIDE-MISSING and an empty unit."""
    wb = openpyxl.load_workbook(template(2025))
    del wb[layout.GUIDE_SHEET]
    path = scratch("no-guide.xlsx")
    wb.save(path)
    cache_formula_results(path)
    ret = read(path)
    assert Code.GUIDE_MISSING in {p.code for p in ret.read_problems}
    assert not any(v for k, v in vars(ret.unit).items())


@st.composite
def note_entry(draw):
    """(what is typed into a 说明 cell, what it reads as ("" for nothing), whether it is a formula)."""
    kind = draw(st.sampled_from(["blank", "text", "text", "spaces", "long", "formula"]))
    if kind == "blank":
        return None, "", False
    if kind == "spaces":
        return draw(PADDING.filter(bool)), "", False
    if kind == "text":
        words = draw(WORDS.filter(lambda w: w.strip() and not w.startswith("=")))
        return draw(PADDING) + words + draw(PADDING), words.strip(), False
    if kind == "long":
        words = "因" * draw(st.integers(2001, 2600))
        return " " + words, words[:2000], False
    return "=" + draw(st.sampled_from(["B2", "A1&A2"])), "", True


@SLOW
@given(data=st.data(), year=st.sampled_from(form_years()))
def test_notes_explain_warnings_only(data, year):
    """A 说明 on a warning's row of 校验 is its explanation (stripped, cut to 2,000 characters); a formula there is
    FORMULA-IN-INPUT and not read; a note on an error's row is not an explanation."""
    form = form_for_year(year)
    warnings = formdata.of(form).warning_ids
    errors = {r.id for r in form.rules} - warnings
    wb = openpyxl.load_workbook(template(year))
    check = wb[layout.CHECK_SHEET]
    rows = [(c.row, c.value) for (c,) in check.iter_rows(min_col=layout.COL_ID + 1, max_col=layout.COL_ID + 1)]
    expected, formulas = {}, []
    for r, rule_id in rows:
        if rule_id in warnings:
            typed, reads, formula = data.draw(note_entry(), label=rule_id)
            if reads:
                expected[rule_id] = reads
            if formula:
                formulas.append((f"{col_letter(layout.COL_NOTE)}{r}", f"“{typed}”"))
        elif rule_id in errors and data.draw(st.booleans(), label=rule_id):
            typed = "这是一条错误的说明"
        else:
            continue
        check.cell(r, layout.COL_NOTE + 1).value = typed
    assert any(rule_id in warnings for _, rule_id in rows)
    path = scratch("notes.xlsx")
    wb.save(path)
    cache_formula_results(path)
    ret = read(path)
    assert list(ret.explanations.items()) == list(expected.items())
    assert CACHED not in repr(ret.explanations)
    found = [(p.cell, p.message) for p in ret.read_problems if p.code == Code.FORMULA_IN_INPUT]
    assert [f[0] for f in found] == [f[0] for f in formulas]
    assert all(words in message for (_, message), (_, words) in zip(found, formulas, strict=True))

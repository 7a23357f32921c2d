"""English renderings for `--lang en`: one sentence per problem code, followed by the structured details.

Chinese is the primary language (messages are written in Chinese where problems are raised); this table gives
English readers the same facts without translating free text such as unit names or clerks' explanations.
"""

from __future__ import annotations

import json

from xltool.problems import Problem

CODES = {
    # reading
    "EMPTY-FILE": "The file is empty (0 bytes).",
    "TOO-LARGE": "The file is too large to be a return.",
    "CORRUPT": "The file is damaged or truncated.",
    "ENCRYPTED": "The file is password-encrypted; remove the opening password and send it again.",
    "ZIP-BOMB": "The file decompresses to an absurd size (zip bomb); refused.",
    "XML-BOMB": "The file contains a DTD/entity declaration (XML bomb); refused.",
    "NOT-SPREADSHEET": "Not a spreadsheet file.",
    "NOT-A-RETURN": "No government-information-disclosure tables were found in this workbook.",
    "WRONG-FORM": "The workbook was made from an unknown template.",
    "UNREADABLE": "The file cannot be opened.",
    "YEAR-UNKNOWN": "The report year cannot be determined.",
    "LOCATED-BY-LABELS": "Not an xltool template (no metadata); the tables were located by their labels.",
    "FORM-YEAR-MISMATCH": "The file uses a form version that does not apply to its report year.",
    "ROWS-MOVED": "Rows or columns were inserted, deleted or moved; values were re-located by their labels.",
    "LABEL-CHANGED": "An official label was edited.",
    "SHEET-RENAMED": "A table's sheet was renamed; the table was found by its labels.",
    "TABLE-NOT-FOUND": "A table was not found or is incomplete; it is treated as not filled.",
    "PROTECTION-REMOVED": "Sheet protection was removed.",
    "FORMULA-OVERWRITTEN": "A total formula was overwritten with a typed number; the typed number is checked.",
    "VALUE-NORMALISED": "A value had to be tidied (spaces, full-width digits, separators) before reading.",
    "GUIDE-MISSING": "The 填报说明 sheet is missing; unit details cannot be read.",
    "UNIT-MISSING": "The reporting unit's name is not filled in.",
    "NOT-A-REPORT": "No annual-report statistical tables were found (or the file is not a text, HTML or .docx report).",
    "IMPORT-UNPLACED": "Text inside a table could not be matched to a row and column; it was not read.",
    "IMPORT-INCOMPLETE": "A table is missing or cut short, or a row has the wrong number of values; "
    "those cells are unknown, not zero.",
    "IMPORT-EXTRA-ROWS": "A row was split into local sub-rows; they were added into the official row and are listed here.",
    "NO-PREVIOUS": "Last year's figures for this unit were not found; cross-year rules were not checked.",
    # checking
    "NOT-FILLED": "Not filled: all three tables are blank. Enter 0 where nothing happened.",
    "TABLE-NOT-FILLED": "A whole table is blank; rules on it cannot be judged.",
    "NO-ITEMS-CONFLICT": "“No such items this year” was chosen, but the table has non-zero values.",
    "BLANK-CELL": "Blank cell, counted as 0; enter 0 where nothing happened.",
    "INVALID-VALUE": "Not a usable number (text, negative, fraction in a count, or absurd size).",
}

RULE = {"fail": "Rule failed", "explained": "Rule failed but explained", "undetermined": "Rule cannot be judged"}


def problem_text(p: Problem) -> str:
    if p.code in CODES:
        text = CODES[p.code]
    elif p.severity == "info":
        text = f"{RULE['explained']}: {p.code}."
    elif p.message.startswith("无法判断"):
        text = f"{RULE['undetermined']}: {p.code}."
    else:
        text = f"{RULE['fail']}: {p.code}."
    details = {k: v for k, v in p.values.items() if v is not None}
    return f"{text} {json.dumps(details, ensure_ascii=False)}" if details else text

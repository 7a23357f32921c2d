"""Formulas that reach outside the workbook or run something (other workbooks, DDE, web services, INDIRECT …):
never trusted, whatever they cache. One definition for every reader (xlsx, xls, ods) and the annotated copy."""

from __future__ import annotations

import re

UNSAFE_FUNCTIONS = re.compile(
    r"\b(?:_xlfn\.|_xludf\.)?(WEBSERVICE|FILTERXML|HYPERLINK|CALL|REGISTER(?:\.ID)?|INDIRECT|RTD|EXEC|DDE|DDEAUTO|"
    r"IMAGE|FOPEN|FWRITE|FREAD|URLDECODE|SHELL)\s*\(",
    re.IGNORECASE,
)
EXTERNAL_REFERENCE = re.compile(r"\[[^\]]+\][^!]*!|\[\d+\]")  # [1]Sheet1!A1, '[book.xlsx]Sheet'!A1
DDE = re.compile(r"[A-Za-z0-9_.\-]+\|")  # cmd|' /C calc'!A0


_UNSAFE = re.compile(f"{UNSAFE_FUNCTIONS.pattern}|{EXTERNAL_REFERENCE.pattern}|{DDE.pattern}", re.IGNORECASE)


_TRIGGERS = (
    "|",
    "[",
    "webservice",
    "filterxml",
    "hyperlink",
    "call",
    "register",
    "indirect",
    "rtd",
    "exec",
    "dde",
    "image",
    "fopen",
    "fwrite",
    "fread",
    "urldecode",
    "shell",
)  # nothing unsafe can match without one


def unsafe_formula(text: str) -> bool:
    """A formula that reaches outside the workbook or runs something: never trusted, whatever it caches."""
    low = text.lower()
    return any(t in low for t in _TRIGGERS) and bool(_UNSAFE.search(text))

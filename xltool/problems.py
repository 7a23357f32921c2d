"""Problems are values: each has a stable code, a severity, a location and the numbers involved."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITY_TEXT = {"error": "错误", "warning": "警告", "info": "提示"}
SEVERITY_EN = {"error": "error", "warning": "warning", "info": "note"}


@dataclass(frozen=True)
class Problem:
    severity: str  # error | warning | info
    code: str  # a rule id (T3-BAL-TOTAL) or a reader code (BLANK-CELL, NOT-FILLED, ...)
    message: str  # plain Chinese, starts with what is wrong and ends with what to do
    sheet: str | None = None
    cell: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    file: str | None = None

    @property
    def where(self) -> str:
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or ""

    def text(self, lang: str = "zh") -> str:
        if lang == "en":
            from xltool.english import problem_text

            return problem_text(self)
        return self.message

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        severity = SEVERITY_EN[self.severity] if lang == "en" else SEVERITY_TEXT[self.severity]
        return {**asdict(self), "message": self.text(lang), "severity_text": severity, "where": self.where}

"""Problems are values: each has a stable code, a severity, a location and the numbers involved."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from xltool.codes import CATALOGUE, Code
from xltool.outcomes import Outcome, Severity


@dataclass(frozen=True)
class Problem:
    severity: Severity
    code: str  # a rule id (T3-BAL-TOTAL) or a catalogued code (Code.BLANK_CELL, …)
    message: str  # plain Chinese, starts with what is wrong and ends with what to do
    sheet: str | None = None
    cell: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    file: str | None = None
    outcome: Outcome | None = None  # for a rule: fail, explained or undetermined

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))

    @classmethod
    def of(cls, code: Code, message: str, **where: Any) -> Problem:
        """A problem of a catalogued code, with the catalogue's severity."""
        return cls(CATALOGUE[code].severity, code, message, **where)

    def in_file(self, file: str) -> Problem:
        """This problem, placed in `file`."""
        return Problem(self.severity, self.code, self.message, self.sheet, self.cell, self.values, file, self.outcome)

    @property
    def located(self) -> str:
        """The message after its place in Chinese (“三、依申请公开”表 D6 格：…), as a person quotes an error; the
        message names the rule's title or the cell's labels, never the bare rule id."""
        if self.sheet and self.cell:
            return f"“{self.sheet}”表 {self.cell} 格：{self.message}"
        if self.sheet:
            return f"“{self.sheet}”表：{self.message}"
        return self.message

    @property
    def where(self) -> str:
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or ""

    def text(self, lang: str = "zh") -> str:
        if lang != "en":
            return self.message
        if self.code in Code.__members__.values():
            text = CATALOGUE[Code(self.code)].en
        else:
            text = f"Rule {(self.outcome or Outcome.FAIL).en}: {self.code}."
        details = {k: v for k, v in self.values.items() if v is not None}
        return f"{text} {json.dumps(details, ensure_ascii=False)}" if details else text

    def as_dict(self, lang: str = "zh") -> dict[str, Any]:
        out = {**asdict(self), "message": self.text(lang), "severity_text": self.severity.text(lang)}
        out["severity"], out["where"] = self.severity.value, self.where
        out["code"] = str(self.code)
        out.pop("outcome")
        return out

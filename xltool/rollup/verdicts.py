"""What the merge says about each file: merged (`Member`), left out (`Rejected`), or merged but worth a look
(`Notice`); and `MergeError` when the merge as a whole cannot go on.

A refusal or a notice is a `Problem` (xltool.problems: catalogued code and severity, the file as its place, the
values it is about), so the writers that show problems can show it too; the texts the roll-up and the command line
show are derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xltool.codes import Code, describe
from xltool.outcomes import MemberStatus
from xltool.problems import Problem

if TYPE_CHECKING:
    from xltool.rollup.inspected import Inspected


class MergeError(Exception):
    """The merge as a whole cannot go on (no usable input, or --strict with errors)."""


@dataclass(slots=True)
class Member:
    info: Inspected
    status: MemberStatus


@dataclass
class _Finding:
    """What the merge says about one file, as a Problem placed at it."""

    info: Inspected
    problem: Problem

    @property
    def code(self) -> str:
        return self.problem.code

    @property
    def reason(self) -> str:
        """The particulars, in Chinese."""
        return self.problem.message


@dataclass
class Rejected(_Finding):
    """A file left out of the roll-up: `problem` says why (its message is the particulars), `causes` are the file's
    own problems behind it (the read failure, the first error)."""

    causes: tuple[Problem, ...] = ()

    @classmethod
    def of(cls, info: Inspected, code: str, reason: str, *causes: Problem, **values: Any) -> Rejected:
        """A refusal of catalogued `code` for `reason`, placed at the file."""
        return cls(info, Problem.of(code, reason, file=info.path, values=values), causes)

    @property
    def superseded(self) -> bool:
        """A duplicate left out because a newer file of the same unit was merged (--prefer-newest)."""
        return self.code == Code.DUPLICATE and "kept" in self.problem.values

    @property
    def text(self) -> str:
        """The reason in Chinese: the catalogue's meaning of the code, then the particulars."""
        return f"{describe(self.code)}：{self.reason}"


@dataclass
class Notice(_Finding):
    """Something the county should look at about a merged return (it was still merged), e.g. COPIED_RETURN."""

    @classmethod
    def of(cls, info: Inspected, code: Code, reason: str, **values: Any) -> Notice:
        return cls(info, Problem.of(code, reason, file=info.path, values=values))

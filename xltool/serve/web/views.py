"""What the pages show of a version and its problems: the same problem values `check` lists, with the catalogue's
advice (or the rule's basis) beside each, in the order and words of the command line."""

from __future__ import annotations

from typing import Any

from xltool.serve.models import Version
from xltool.serve.uploads import problems_of
from xltool.serve.words import check_word


def explained(problem: dict[str, Any], form_id: str) -> dict[str, Any]:
    """The problem with `advice`: what to do (the catalogue's) or which rule of the form it is (its basis)."""
    from xltool.codes import CATALOGUE, Code
    from xltool.forms import form_by_id

    advice = ""
    if problem["code"] in Code.__members__.values():
        advice = CATALOGUE[Code(problem["code"])].action
    else:
        try:
            rule = form_by_id(form_id).rule.get(problem["code"])
        except (KeyError, ValueError):
            rule = None
        if rule is not None:
            advice = f"{rule.level}校验" + (f"，依据：{rule.basis}" if rule.basis else "")
    return {**problem, "advice": advice}


def version_view(version: Version, form_id: str) -> dict[str, Any]:
    return {
        "id": version.id,
        "number": version.number,
        "uploaded_at": version.uploaded_at,
        "original": version.original,
        "sha256": version.sha256,
        "size": version.size,
        "check": check_word(version.check),
        "status": version.check,
        "errors": version.errors,
        "warnings": version.warnings,
        "problems": [explained(p, form_id) for p in problems_of(version)],
    }

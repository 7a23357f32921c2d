"""xltool — 政府信息公开工作年度报告统计表工具：模板、校验、汇总。

import xltool
ret = xltool.read("某镇.xlsx")          # -> Return, read in an isolated worker (time and memory limits)
problems = ret.check()                   # -> list[Problem]
roll = xltool.merge(["县/乡镇/"])        # -> RollUp; roll.write("县.xlsx")
report = xltool.build_report(ret)        # -> AnnualReport (blocks); xltool.write_annual_report("某镇.xlsx", "报告.html")
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from xltool._version import __version__

if TYPE_CHECKING:
    from xltool.annual import build_report
    from xltool.forms import Form, all_forms, form_by_id, form_for_year
    from xltool.guarded import read
    from xltool.model import Invalid, Return, Unit
    from xltool.problems import Problem
    from xltool.publish import write_annual_report
    from xltool.rollup import merge

# The public names are imported on first use (PEP 562: `xltool.read`, `from xltool import merge`), so importing xltool,
# or one of its modules such as the command line, does not load every reader, writer and workflow. No public name is
# also the name of a module (the roll-up workflow is xltool.rollup), so the import system never replaces one.
_PUBLIC = {
    "Form": "xltool.forms",
    "Invalid": "xltool.model",
    "Problem": "xltool.problems",
    "Return": "xltool.model",
    "Unit": "xltool.model",
    "all_forms": "xltool.forms",
    "build_report": "xltool.annual",
    "form_by_id": "xltool.forms",
    "form_for_year": "xltool.forms",
    "merge": "xltool.rollup",
    "read": "xltool.guarded",  # the bounded path every command reads through (an isolated worker with limits)
    "write_annual_report": "xltool.publish",
}

__all__ = [
    "Form",
    "Invalid",
    "Problem",
    "Return",
    "Unit",
    "__version__",
    "all_forms",
    "build_report",
    "form_by_id",
    "form_for_year",
    "merge",
    "read",
    "write_annual_report",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

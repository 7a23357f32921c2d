"""xltool — 政府信息公开工作年度报告统计表工具：模板、校验、汇总。

import xltool
ret = xltool.read("某镇.xlsx")          # -> Return
problems = ret.check()                   # -> list[Problem]
roll = xltool.merge(["县/乡镇/"])        # -> RollUp; roll.write("县.xlsx")
report = xltool.build_report(ret)        # -> AnnualReport (blocks); xltool.write_annual_report("某镇.xlsx", "报告.html")
"""

from xltool._version import __version__
from xltool.annual import build_report
from xltool.assemble import read
from xltool.forms import Form, all_forms, form_by_id, form_for_year
from xltool.merge import merge
from xltool.model import Invalid, Return, Unit
from xltool.problems import Problem
from xltool.publish import write_annual_report

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

"""xltool — 政府信息公开工作年度报告统计表工具：模板、校验、汇总。

    import xltool
    ret = xltool.read("某镇.xlsx")          # -> Return
    problems = ret.check()                   # -> list[Problem]
    roll = xltool.merge(["县/乡镇/"])        # -> RollUp; roll.write("县.xlsx")
"""

__version__ = "0.1.0"

from xltool.forms import Form, all_forms, form_by_id, form_for_year  # noqa: E402
from xltool.model import Invalid, Return, Unit  # noqa: E402
from xltool.problems import Problem  # noqa: E402
from xltool.reader import read  # noqa: E402
from xltool.merge import merge  # noqa: E402  (the function shadows the submodule name on purpose: xltool.merge(...))

__all__ = ["Form", "Invalid", "Problem", "Return", "Unit", "__version__", "all_forms", "form_by_id", "form_for_year",
           "merge", "read"]

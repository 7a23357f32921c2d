"""xltool — 政府信息公开工作年度报告统计表工具：模板、校验、汇总。"""

__version__ = "0.1.0"

from xltool.forms import Form, all_forms, form_by_id, form_for_year  # noqa: E402
from xltool.model import Invalid, Return, Unit  # noqa: E402
from xltool.problems import Problem  # noqa: E402

__all__ = ["Form", "Invalid", "Problem", "Return", "Unit", "__version__", "all_forms", "form_by_id", "form_for_year"]

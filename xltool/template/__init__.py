"""Template writers: the official tables as a locked workbook."""

from xltool.template.xlsx import write_xlsx

__all__ = ["write_xlsx"]

"""The words of the portal, declared once: the review states, the check verdicts and the audit log's actions."""

from __future__ import annotations

from enum import StrEnum

from xltool.outcomes import FileStatus


class Review(StrEnum):
    """The county's review state of one unit (kept apart from the automatic check of its versions)."""

    MISSING = "missing"
    PENDING = "pending"
    ACCEPTED = "accepted"
    RETURNED = "returned"

    @property
    def zh(self) -> str:
        return REVIEW_WORDS[self]


REVIEW_WORDS = {
    Review.MISSING: "未报",
    Review.PENDING: "待审",
    Review.ACCEPTED: "已接收",
    Review.RETURNED: "已退回",
}

# The automatic check of a version, in the four words the county uses (a 未填报 return is an error to fix).
CHECK_WORDS = {
    FileStatus.PASSED: "通过",
    FileStatus.WARNINGS: "有警告",
    FileStatus.ERRORS: "有错误",
    FileStatus.NOT_FILLED: "有错误",
    FileStatus.UNREADABLE: "无法读取",
}
CHECKING = "检查中"  # stored, not yet checked (a restart checks it again)


def check_word(status: str | None) -> str:
    """The verdict of a stored check status ('' for none, 检查中 while the check runs)."""
    if not status:
        return ""
    if status == "checking":
        return CHECKING
    return CHECK_WORDS[FileStatus(status)]


# Who did what (the audit log): action key → what the county reads.
ACTIONS = {
    "task.create": "创建任务",
    "link.issue": "生成链接",
    "link.redeem": "打开链接",
    "unit.upload": "上传",
    "unit.check": "自动检查",
    "review.accept": "接收",
    "review.return": "退回",
    "rollup": "汇总",
    "report": "生成报告草稿",
    "user.add": "添加管理员",
    "login": "登录",
    "login.failed": "登录失败",
    "logout": "退出",
}

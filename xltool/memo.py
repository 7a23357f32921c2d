"""Memo tables for facts that recur byte for byte across a county's returns (learnt sheet skeletons, shared strings,
parts of one template, label texts): one kind of table, bounded, so a hostile file cannot grow it.

Returns made from one template share most of their parts byte for byte, so a few entries serve a whole county; when a
table is full it is emptied and refilled from the next files. What is derived from a form is not kept here: it lives
with the frozen form (xltool.formdata).
"""

from __future__ import annotations

from typing import TypeVar

V = TypeVar("V")


class Memo(dict):
    """A dict that holds at most `limit` entries (`get` and `in` as for any dict); `keep` stores a value and gives
    it back, emptying the table first when it is full."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: object, value: V) -> V:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value

"""Compile many returns into a roll-up in the same official layout, losing nothing and explaining every exclusion.

Pipeline (`merge`, xltool.rollup.pipeline): inspect every file (xltool.rollup.inspected, in isolated worker processes
through xltool.batch: read, re-validate, hash; a file that hangs, crashes or exhausts its worker costs only itself) →
decide year and form → reject unreadable, invalid, 未填报, mismatched, unauthorised roll-ups (with a roster),
double-counted, conflicting and duplicate inputs with a reason (xltool.rollup.policy; each refusal a Problem,
xltool.rollup.verdicts) → sum exactly (Decimal, xltool.rollup.summing) → flag copied returns → write the official tables
with the review sheets (xltool.rollup.outputs). A roll-up is itself a valid return, and the same inputs always give the
same bytes: nothing in it comes from the clock.
"""

from xltool.rollup.inspected import (
    COPY_MIN_NONZERO,
    HASH_LIMIT,
    MEMORY_LIMIT,
    SOURCE_HEADER,
    TIME_LIMIT,
    Inspected,
    inspect_all,
    inspect_file,
)
from xltool.rollup.outputs import RollUp, Rows
from xltool.rollup.pipeline import merge
from xltool.rollup.policy import ROLLUP_TYPE_WORD
from xltool.rollup.verdicts import Member, MergeError, Notice, Rejected

__all__ = [
    "COPY_MIN_NONZERO",
    "HASH_LIMIT",
    "MEMORY_LIMIT",
    "ROLLUP_TYPE_WORD",
    "SOURCE_HEADER",
    "TIME_LIMIT",
    "Inspected",
    "Member",
    "MergeError",
    "Notice",
    "Rejected",
    "RollUp",
    "Rows",
    "inspect_all",
    "inspect_file",
    "merge",
]

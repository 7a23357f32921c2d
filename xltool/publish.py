"""Write the annual report of a return or roll-up (`xltool report`): read, check, build, write."""

from __future__ import annotations

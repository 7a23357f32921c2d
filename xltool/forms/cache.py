"""A validated built-in form kept in the user's cache folder (xltool.system.cache_dir), so a command that reads one
return does not parse YAML and validate it with pydantic every time (~0.2 s): keyed by the file's bytes and name, its
origin, the Python and xltool versions, and the state of the modules that build forms (a changed module is a new key).
Forms from plugins and --form files are built each time (they come and go; the cache would only grow). Anything wrong
with the cache (unwritable, corrupt, another class) is ignored and the form built as usual."""

from __future__ import annotations

import os
from pathlib import Path

from xltool.forms.model import Form

_BUILDERS = ("forms/model.py", "forms/build.py", "formschema.py", "rules.py", "labels.py")


def _file(raw: bytes, path: Path, origin: str) -> Path | None:
    import hashlib
    import sys

    from xltool._version import __version__
    from xltool.system import cache_dir

    folder = cache_dir()
    if folder is None:
        return None
    key = hashlib.sha256(raw)
    here = Path(__file__).resolve().parent.parent
    for part in (str(path), origin, sys.version, __version__):
        key.update(b"\0" + part.encode("utf-8", "surrogatepass"))
    for name in _BUILDERS:
        info = os.stat(here / name)
        key.update(f"\0{name}:{info.st_mtime_ns}:{info.st_size}".encode())
    return Path(folder) / "forms" / f"{key.hexdigest()}.pickle"


def cached(raw: bytes, path: Path, origin: str) -> Form | None:
    import pickle

    try:
        file = _file(raw, path, origin)
        if file is None:
            return None
        with open(file, "rb") as fh:
            form = pickle.load(fh)
    except Exception:  # no cache yet, or one that cannot be used: build the form
        return None
    return form if isinstance(form, Form) else None


def store(form: Form, raw: bytes, origin: str) -> None:
    import pickle
    import tempfile

    try:
        file = _file(raw, form.path, origin)
        if file is None:
            return
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=file.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(form, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temp, file)  # whole or not at all, even with several processes writing at once
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
    except Exception:  # a cache that cannot be written (read-only home, disk full) only costs time
        return

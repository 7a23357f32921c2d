"""LibreOffice as a converter (xlsx → ods), run headless with a private profile that recalculates on load.

Facts this relies on (shared/spec/spreadsheet-engineering-notes.md): soffice exits 0 even when it fails, so the
output file is checked; concurrent runs need distinct profiles; recalculation on load needs OOXMLRecalcMode=0.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from xltool import safewrite
from xltool.oserrors import describe
from xltool.system import process_text

_RECALC = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""
_WINDOWS = [
    r"C:\Program Files\LibreOffice\program\soffice.exe",
    r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
]


class OfficeError(RuntimeError):
    """LibreOffice is missing or the conversion produced nothing."""


def soffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in _WINDOWS if os.path.exists(p)), None)


def convert(src: Path, fmt: str, timeout: float = 180) -> Path:
    """Convert `src` to `fmt` (e.g. "ods") next to it in a temporary folder; returns the new file's path."""
    exe = soffice()
    if exe is None:
        raise OfficeError(
            "生成 ODS 需要安装 LibreOffice（未找到 soffice）；也可先生成 .xlsx，用 LibreOffice 打开后另存为 .ods"
        )
    out_dir = Path(tempfile.mkdtemp(prefix="xltool-out-"))
    with tempfile.TemporaryDirectory(prefix="xltool-lo-") as profile:
        user = Path(profile) / "user"
        user.mkdir(parents=True)
        (user / "registrymodifications.xcu").write_text(_RECALC, encoding="utf-8")
        cmd = [
            exe,
            "--headless",
            "--norestore",
            "--nologo",
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--convert-to",
            fmt,
            "--outdir",
            str(out_dir),
            str(src),
        ]
        try:
            # bytes, decoded below: LibreOffice's messages follow the system's code page, not necessarily ours
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise OfficeError(f"LibreOffice 转换超时（{timeout:.0f} 秒）") from None
        except OSError as exc:  # found but cannot be started (permissions, a broken installation)
            raise OfficeError(f"无法启动 LibreOffice（{exe}）：{describe(exc)}") from None
    result = out_dir / f"{src.stem}.{fmt}"
    if not result.exists() or result.stat().st_size == 0:
        said = (process_text(proc.stderr) or process_text(proc.stdout)).strip()
        raise OfficeError(f"LibreOffice 转换失败：{said[-300:] or '没有生成文件'}")
    return result


_SPREADSHEET = re.compile(rb"<office:spreadsheet(?P<attrs>[^>]*)>")


def lock_ods_structure(path: Path) -> None:
    """LibreOffice does not carry xlsx structure protection over (notes 6.4); set it in the ODS directly."""
    with safewrite.replacing(path) as tmp, zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
        for item in src.infolist():  # mimetype must stay first and stored, as ODF requires
            data = src.read(item.filename)
            if item.filename == "content.xml":
                data = _SPREADSHEET.sub(
                    lambda m: (
                        m.group(0)
                        if b"structure-protected" in m.group("attrs")
                        else b'<office:spreadsheet table:structure-protected="true"' + m.group("attrs") + b">"
                    ),
                    data,
                    count=1,
                )
            dst.writestr(item, data, compress_type=item.compress_type)

"""Build the offline Windows kit of xltool: a folder to copy to a county office PC (Windows x64, no internet, no
administrator rights) holding the wheels of xltool and of every dependency for each supported Python, 安装.bat and a
short 使用说明.txt.

    python kit/build_windows_kit.py                       # → dist/xltool-windows-kit/ (every supported Python)
    python kit/build_windows_kit.py --out 安装包 --python 3.12 --extras parquet --python-installer python-3.12.10-amd64.exe

Runs on any machine that reaches the package registry (Linux or Windows). The supported Pythons are the ones
pyproject.toml's classifiers name. pip resolves for another platform (`--platform win_amd64 --only-binary=:all:`), but
it evaluates environment markers on the machine it runs on, so a dependency only Windows needs (click's colorama) would
be missed: each resolution is closed over the requirements whose markers hold on Windows, then the exact releases are
downloaded. The .bat files are written in the code page cmd.exe reads on Chinese Windows (GBK) with CRLF line ends.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pip carries its own copy
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = "win_amd64"
BAT_ENCODING = "gbk"  # cmd.exe reads a batch file in the console's code page: 936 on Chinese Windows
INSTALL_BAT = "安装.bat"
CONSOLE_BAT = "xltool命令行.bat"
GUIDE = "使用说明.txt"


class KitError(RuntimeError):
    """A kit that cannot be built (pip failed, a requirement has no Windows wheel); the message says which."""


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def supported_pythons() -> list[str]:
    """The Python versions pyproject.toml's classifiers name (`Programming Language :: Python :: 3.12`)."""
    found = [m.group(1) for c in project()["classifiers"] if (m := re.fullmatch(r".*Python :: (3\.\d+)", c))]
    return sorted(found, key=lambda v: tuple(map(int, v.split("."))))


def requirements(extras: list[str] = ()) -> list[str]:
    """xltool's dependencies and those of the named extras, as pyproject.toml declares them."""
    declared = project()
    out = list(declared["dependencies"])
    for extra in extras:
        out += declared["optional-dependencies"][extra]
    return out


def windows(python: str) -> dict[str, str]:
    """The marker environment of CPython `python` on 64-bit Windows."""
    return {
        "os_name": "nt",
        "sys_platform": "win32",
        "platform_system": "Windows",
        "platform_machine": "AMD64",
        "platform_release": "10",
        "platform_version": "10.0.19045",
        "platform_python_implementation": "CPython",
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "extra": "",
    }


def _holds(requirement: Requirement, env: dict[str, str], extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**env, "extra": extra}) for extra in ({""} | extras))


def _pip_target(python: str) -> list[str]:
    digits = python.replace(".", "")
    return [
        "--platform",
        PLATFORM,
        "--only-binary=:all:",
        "--python-version",
        python,
        "--implementation",
        "cp",
        *("--abi", f"cp{digits}", "--abi", "abi3", "--abi", "none"),
    ]


def resolve(python: str, wanted: list[str]) -> dict[str, dict]:
    """The releases pip would install on 64-bit Windows with CPython `python` for `wanted` (name → the report's
    item: metadata and download URL), closed over the requirements that hold on Windows. Raises KitError."""
    env = windows(python)
    top = [str(r) for r in map(Requirement, wanted) if _holds(r, env, set())]
    for _ in range(10):  # each round adds what only Windows needs; one round is usually enough
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
            command += [*_pip_target(python), "--target", str(Path(tmp) / "t"), "--report", str(report), *top]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise KitError(f"Python {python}：pip 无法为 Windows 解析依赖：\n{done.stderr.strip()}")
            items = json.loads(report.read_text(encoding="utf-8"))["install"]
        found = {canonicalize_name(i["metadata"]["name"]): i for i in items}
        missing = []
        for item in items:
            asked = set(item.get("requested_extras") or ())
            for text in item["metadata"].get("requires_dist") or ():
                requirement = Requirement(text)
                if _holds(requirement, env, asked) and canonicalize_name(requirement.name) not in found:
                    requirement.marker = None
                    missing.append(str(requirement))
        if not missing:
            return found
        top += missing
    raise KitError(f"Python {python}：依赖解析没有收敛")


def unsatisfied(python: str, resolved: dict[str, dict]) -> list[str]:
    """Requirements of the resolved releases that hold on Windows but that no resolved release satisfies."""
    env = windows(python)
    out = []
    for item in resolved.values():
        asked = set(item.get("requested_extras") or ())
        for text in item["metadata"].get("requires_dist") or ():
            requirement = Requirement(text)
            if not _holds(requirement, env, asked):
                continue
            got = resolved.get(canonicalize_name(requirement.name))
            if got is None or not requirement.specifier.contains(got["metadata"]["version"], prereleases=True):
                out.append(f"{item['metadata']['name']} → {requirement}")
    return out


def build(out: Path, pythons: list[str], extras: list[str], python_installer: Path | None = None) -> Path:
    """The kit in `out` (emptied first): wheels/, 安装.bat, xltool命令行.bat, 使用说明.txt."""
    if out.exists():
        shutil.rmtree(out)
    wheels = out / "wheels"
    wheels.mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise KitError(f"无法构建 xltool 的 wheel：\n{done.stderr.strip()}")
    for python in pythons:
        pinned = [
            f"{i['metadata']['name']}=={i['metadata']['version']}"
            for i in resolve(python, requirements(extras)).values()
        ]
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheels)]
        done = subprocess.run([*command, *_pip_target(python), *pinned], capture_output=True, text=True)
        if done.returncode != 0:
            raise KitError(f"Python {python}：无法下载 Windows 的 wheel：\n{done.stderr.strip()}")
    if python_installer is not None:
        shutil.copy2(python_installer, out / python_installer.name)
    target = "xltool" + (f"[{','.join(extras)}]" if extras else "")
    write_bat(out / INSTALL_BAT, install_bat(pythons, target))
    write_bat(out / CONSOLE_BAT, CONSOLE)
    (out / GUIDE).write_bytes(guide(pythons).replace("\n", "\r\n").encode("utf-8-sig"))  # Notepad reads it
    return out


def write_bat(path: Path, text: str) -> None:
    """A batch file as cmd.exe reads it: GBK, CRLF line ends, no byte-order mark."""
    path.write_bytes(text.replace("\r\n", "\n").replace("\n", "\r\n").encode(BAT_ENCODING))


def install_bat(pythons: list[str], target: str) -> str:
    """安装.bat: finds a supported Python (the py launcher, a per-user or PATH install; else runs a Python installer
    left in the kit for the current user), makes a virtual environment in %LOCALAPPDATA%\\xltool and installs from the
    kit's wheels only, then puts xltool命令行.bat there and on the desktop. No administrator rights are needed."""
    newest_first = sorted(pythons, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
    dotted = " ".join(newest_first)
    folders = " ".join(v.replace(".", "") for v in newest_first)
    low, high = (tuple(map(int, v.split("."))) for v in (newest_first[-1], newest_first[0]))
    return INSTALL.format(
        dotted=dotted, folders=folders, low=f"({low[0]},{low[1]})", high=f"({high[0]},{high[1]})",
        versions="、".join(reversed(newest_first)), target=target,
    )  # fmt: skip


INSTALL = r"""@echo off
chcp 936 >nul
setlocal EnableExtensions
rem xltool 离线安装：不需要管理员权限，不需要联网。
cd /d "%~dp0"
set "HOME_DIR=%LOCALAPPDATA%\xltool"
set "VENV=%HOME_DIR%\venv"
set "PYEXE="
set "TRIED="

:find
for %%V in ({dotted}) do (
  if not defined PYEXE (
    for /f "delims=" %%P in ('py -%%V -c "import sys;print(sys.executable)" 2^>nul') do set "PYEXE=%%P"
  )
)
for %%V in ({folders}) do (
  if not defined PYEXE if exist "%LOCALAPPDATA%\Programs\Python\Python%%V\python.exe" set "PYEXE=%LOCALAPPDATA%\Programs\Python\Python%%V\python.exe"
)
if not defined PYEXE (
  for /f "delims=" %%P in ('python -c "import sys;print(sys.executable)" 2^>nul') do set "PYEXE=%%P"
)
if defined PYEXE (
  "%PYEXE%" -c "import sys;sys.exit(0 if {low}<=sys.version_info[:2]<={high} else 1)" >nul 2>nul || set "PYEXE="
)
if defined PYEXE goto install
if defined TRIED goto nopython
set "TRIED=1"
for %%I in ("%~dp0python-3*-amd64.exe") do (
  echo 正在为当前用户安装 %%~nxI（不需要管理员权限）……
  "%%~fI" /passive InstallAllUsers=0 PrependPath=0 Include_launcher=0 InstallLauncherAllUsers=0 Include_test=0
)
goto find

:nopython
echo 没有找到 Python {versions}（64 位）。
echo 请把 Python 安装程序（如 python-3.12.10-amd64.exe）放在本文件夹中再运行本程序，
echo 或先安装 Python：安装时选择“Customize installation”，不要勾选“for all users”。
goto fail

:install
echo 使用 Python：%PYEXE%
echo 安装位置：%HOME_DIR%
if not exist "%VENV%\Scripts\python.exe" (
  "%PYEXE%" -m venv "%VENV%" || goto fail
)
"%VENV%\Scripts\python.exe" -m pip install --no-index --find-links "%~dp0wheels" --upgrade "{target}" || goto fail
copy /y "%~dp0xltool命令行.bat" "%HOME_DIR%\" >nul || goto fail
set "DESK="
for /f "usebackq delims=" %%D in (`powershell -NoProfile -Command "[Environment]::GetFolderPath('Desktop')" 2^>nul`) do set "DESK=%%D"
if not defined DESK set "DESK=%USERPROFILE%\Desktop"
if exist "%DESK%\" copy /y "%~dp0xltool命令行.bat" "%DESK%\" >nul
"%VENV%\Scripts\xltool.exe" --version || goto fail
echo.
echo 安装完成。双击桌面上的“xltool命令行”打开命令窗口，输入 xltool -h 查看用法。
pause
exit /b 0

:fail
echo.
echo 安装没有完成，请把上面的提示拍照或复制给技术支持人员。
pause
exit /b 1
"""

CONSOLE = r"""@echo off
chcp 936 >nul
rem 打开一个可以直接输入 xltool 命令的窗口（在“文档”文件夹中）。
set "PATH=%LOCALAPPDATA%\xltool\venv\Scripts;%PATH%"
cd /d "%USERPROFILE%\Documents"
title xltool 政府信息公开年度报表工具
xltool --help
echo.
echo 在下面输入命令，例如：xltool check 某某镇2025年统计表.xlsx
cmd /k
"""


def guide(pythons: list[str]) -> str:
    versions = "、".join(pythons)
    return f"""xltool 政府信息公开工作年度报告统计表工具 —— Windows 离线安装包

适用于 Windows 10、11（64 位）。安装不需要管理员权限，也不需要联网。

一、安装
1. 电脑上需要 Python {versions} 之一（64 位）。如果没有：把 Python 安装程序
   （如 python-3.12.10-amd64.exe）放在本文件夹中，安装.bat 会为当前用户安装它；
   或自行安装，安装时选择“Customize installation”，不要勾选“for all users”。
2. 双击“安装.bat”。程序装在 %LOCALAPPDATA%\\xltool 中，桌面上会出现“xltool命令行”。

二、使用
双击桌面上的“xltool命令行”，在打开的窗口中输入命令，例如：
  xltool template --year 2025 --unit 某某镇人民政府 -o 某某镇2025年统计表.xlsx
  xltool check 某某镇2025年统计表.xlsx
  xltool merge 乡镇报表 -o 某某县2025年汇总.xlsx --roster 单位名册.csv
输入 xltool -h 查看全部命令，xltool check -h 查看一个命令的说明。

三、更新与卸载
更新：用新的安装包再运行一次“安装.bat”。
卸载：删除文件夹 %LOCALAPPDATA%\\xltool 和桌面上的“xltool命令行”。
"""


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="生成 xltool 的 Windows 离线安装包（64 位，各个受支持的 Python 版本）")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "xltool-windows-kit", help="输出文件夹（会先清空）")
    parser.add_argument(
        "--python", action="append", help=f"只为这些 Python 版本下载（默认：{'、'.join(supported_pythons())}）"
    )
    parser.add_argument("--extras", action="append", default=[], help="一并安装的可选功能，如 parquet")
    parser.add_argument("--python-installer", type=Path, help="放进安装包的 Python 安装程序（python-3.x.y-amd64.exe）")
    args = parser.parse_args(argv)
    pythons = args.python or supported_pythons()
    unknown = sorted(set(pythons) - set(supported_pythons()))
    if unknown:
        parser.error(f"不受支持的 Python 版本：{'、'.join(unknown)}（受支持：{'、'.join(supported_pythons())}）")
    try:
        out = build(args.out, pythons, args.extras, args.python_installer)
    except KitError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    wheels = len(list((out / "wheels").glob("*.whl")))
    print(
        f"已生成 {out}：{wheels} 个 wheel，共 {size_of(out) / 1e6:.0f} MB（Python {'、'.join(pythons)}）",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

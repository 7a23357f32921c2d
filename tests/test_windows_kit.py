"""The offline Windows kit (kit/build_windows_kit.py): its batch files as cmd.exe reads them, and a resolution of
every dependency for 64-bit Windows and each supported Python."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging import tags
from packaging.utils import parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("build_windows_kit", ROOT / "kit" / "build_windows_kit.py")
kit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kit)


def _bats(tmp_path: Path) -> dict[str, bytes]:
    kit.write_bat(tmp_path / kit.INSTALL_BAT, kit.install_bat(kit.supported_pythons(), "xltool"))
    kit.write_bat(tmp_path / kit.CONSOLE_BAT, kit.CONSOLE)
    return {p.name: p.read_bytes() for p in tmp_path.glob("*.bat")}


def test_batch_files_are_crlf_in_the_code_page_cmd_reads(tmp_path):
    """安装.bat and xltool命令行.bat: CRLF line ends only, no byte-order mark, GBK (code page 936, what cmd.exe reads
    on Chinese Windows), ASCII until `chcp 936` has switched to it, and no line beyond cmd's 8191 characters."""
    bats = _bats(tmp_path)
    assert set(bats) == {kit.INSTALL_BAT, kit.CONSOLE_BAT}
    for name, raw in bats.items():
        assert not raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe")), name
        assert raw.count(b"\n") == raw.count(b"\r\n") and raw.count(b"\r") == raw.count(b"\r\n"), name
        text = raw.decode("cp936")  # strict: every byte is GBK
        lines = text.split("\r\n")
        assert lines[:2] == ["@echo off", "chcp 936 >nul"], name
        assert re.search(r"[^\x00-\x7f]", text), name  # the Chinese messages are there, in GBK
        assert max(len(line) for line in lines) < 8191


def test_install_batch_installs_from_the_kit_only_without_administrator_rights(tmp_path):
    """安装.bat installs from the kit's wheels with pip --no-index (nothing fetched), into a virtual environment under
    %LOCALAPPDATA% (no administrator rights), looks for every supported Python, installs Python per user only, and
    copies the console file the kit holds."""
    text = _bats(tmp_path)[kit.INSTALL_BAT].decode("cp936").replace("\r\n", "\n")
    assert '--no-index --find-links "%~dp0wheels"' in text
    assert 'set "HOME_DIR=%LOCALAPPDATA%\\xltool"' in text and '-m venv "%VENV%"' in text
    assert "InstallAllUsers=0" in text and "runas" not in text.lower()
    launcher, folders = re.findall(r"^for %%V in \(([^)]*)\) do", text, re.M)  # py -3.x, then PythonXY folders
    assert sorted(launcher.split()) == sorted(kit.supported_pythons())
    assert sorted(folders.split()) == sorted(v.replace(".", "") for v in kit.supported_pythons())
    assert f'"%~dp0{kit.CONSOLE_BAT}"' in text
    for label in re.findall(r"goto (\w+)", text):  # every jump has its label
        assert re.search(rf"^:{label}$", text, re.M), label


def test_guide_and_readme_name_the_supported_pythons():
    """The supported Pythons are declared once (pyproject.toml's classifiers, from requires-python's lower bound on):
    使用说明.txt and the README name each of them."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pythons = kit.supported_pythons()
    assert declared["requires-python"] == f">={pythons[0]}"
    guide = kit.guide(pythons)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for version in pythons:
        assert version in guide and version in readme


def _registry_reachable(tmp_path: Path) -> bool:
    """pip can fetch a small Windows wheel (the machine reaches the package registry)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(tmp_path)]
    command += ["--platform", "win_amd64", "--only-binary=:all:", "--python-version", "3.12", "colorama"]
    return subprocess.run(command, capture_output=True, timeout=120).returncode == 0


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    if not _registry_reachable(tmp_path_factory.mktemp("probe")):
        pytest.skip("the package registry is not reachable")


@pytest.mark.parametrize("python", kit.supported_pythons())
def test_kit_resolves_for_each_supported_python(python, registry):
    """pip resolves xltool's dependencies (and the parquet and serve extras: a county PC runs the portal) for 64-bit Windows and this Python from binary
    wheels only, closed over what only Windows needs (click's colorama, which pip on another system leaves out):
    every requirement that holds on Windows is met, and every wheel is one Windows with this Python can install."""
    resolved = kit.resolve(python, kit.requirements(["parquet", "serve"]))
    assert kit.unsatisfied(python, resolved) == []
    assert {"click", "pandas", "lxml", "openpyxl", "pyarrow", "colorama", "sqlalchemy", "argon2-cffi"} <= set(resolved)
    version = tuple(map(int, python.split(".")))
    windows = {
        *tags.cpython_tags(version, platforms=["win_amd64"]),
        *tags.compatible_tags(version, f"cp{version[0]}{version[1]}", platforms=["win_amd64"]),
    }
    for name, item in resolved.items():
        wheel = item["download_info"]["url"].rsplit("/", 1)[-1]
        assert wheel.endswith(".whl"), name
        assert parse_wheel_filename(wheel)[3] & windows, wheel

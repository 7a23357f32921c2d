"""Form providers for the plugin tests in tests/test_form_versions.py (what a package names in its entry point).

A real package declares, in its pyproject.toml:

    [project.entry-points."xltool.forms"]
    example-supplement = "plugin_demo:example_forms"

The tests build such entry points by hand (importlib.metadata.EntryPoint) instead of installing a package.
"""

from __future__ import annotations

from pathlib import Path

EXAMPLE_FORM = Path(__file__).resolve().parent.parent / "docs" / "example-form.yaml"


def example_forms() -> list[Path]:
    """The docs example form, as a plugin would ship it."""
    return [EXAMPLE_FORM]


def broken_forms() -> list[Path]:
    """A provider that fails: xltool must report it and carry on."""
    raise RuntimeError("插件演示：表单目录不存在")

"""Shared pytest fixtures.

Markers:
  libreoffice  needs real LibreOffice headless (soffice + python3-uno); skipped when
               missing, but a failure when CI=true. Skip locally: pytest -m "not libreoffice"
"""

import os

import pytest

pytest_plugins = ["tests.serve_portal"]  # the portal's fixtures (a portal on SQLite or a throwaway PostgreSQL)

try:  # tests/ is not a package today; keep working if it becomes one
    from tests.lo import LibreOffice, available
except ImportError:
    from lo import LibreOffice, available


def pytest_configure(config):
    config.addinivalue_line("markers", 'libreoffice: needs LibreOffice headless; deselect with -m "not libreoffice"')


def pytest_collection_modifyitems(config, items):
    # Any test using the `lo` fixture is a LibreOffice test, marked or not,
    # so -m "not libreoffice" reliably keeps soffice from starting.
    for item in items:
        if "lo" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.libreoffice)


@pytest.fixture(scope="session")
def lo():
    """One LibreOffice for the whole session (startup is about 1 s, each document about 0.1 s)."""
    if not available():
        msg = "LibreOffice headless unavailable: need `soffice` on PATH and python3-uno for /usr/bin/python3"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " (CI=true: LibreOffice tests must run)")
        pytest.skip(msg)
    office = LibreOffice().start()
    yield office
    office.close()

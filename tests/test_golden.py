"""The outputs of the commands on the committed examples do not change unless the manifest is regenerated."""

import json

import pytest

from tests.golden import MANIFEST, libraries, snapshot


def test_outputs_are_byte_identical_to_the_manifest(tmp_path):
    """Templates, roster sets, roll-ups and exports, annotated copies, renders, reports: every byte as recorded."""
    want = json.loads(MANIFEST.read_text(encoding="utf-8"))
    if want["libraries"] != libraries():
        pytest.skip(f"golden digests recorded with {want['libraries']}, installed {libraries()}")
    got = snapshot(tmp_path)
    assert got["exit_codes"] == want["exit_codes"]
    assert got["stdout"] == want["stdout"]
    changed = sorted(k for k in set(got["files"]) | set(want["files"]) if got["files"].get(k) != want["files"].get(k))
    assert changed == [], f"{len(changed)} outputs changed (regenerate with `python -m tests.golden` if intended)"

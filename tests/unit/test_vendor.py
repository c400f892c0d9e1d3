"""The vendored browser files are byte for byte the ones VENDOR.md names."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import api.web

VENDOR = Path(api.web.__file__).parent / "static" / "vendor"
ROW = re.compile(r"^\| (?P<file>[^ |]+) \| .* \| (?P<sha256>[0-9a-f]{64}) \|$", re.MULTILINE)


def test_every_vendored_file_matches_its_recorded_hash() -> None:
    recorded = {m["file"]: m["sha256"] for m in ROW.finditer((VENDOR / "VENDOR.md").read_text())}
    shipped = {p.name for p in VENDOR.iterdir() if p.suffix in {".js", ".css", ".png"}}
    assert shipped == set(recorded), "a vendored file without a row in VENDOR.md, or the reverse"
    for name, sha256 in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == sha256, name


def test_pages_load_only_vendored_files_that_exist() -> None:
    templates = Path(api.web.__file__).parent / "templates"
    named = set()
    for template in templates.rglob("*.html"):
        named |= set(re.findall(r"/static/vendor/([\w.-]+)", template.read_text()))
    assert named, "the base template loads uPlot"
    assert named <= {p.name for p in VENDOR.iterdir()}

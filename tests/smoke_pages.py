"""Run by ``make smoke`` with the installed wheel: the pages and their files are shipped.

Templates, vendored scripts and the API docs are package data; an install that misses
them would start and then answer 500s or blank pages.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.settings import Settings


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'smoke.db'}")
        with TestClient(create_app(settings, scheduler=False)) as client:
            for path, needle in (
                ("/ui/login", "Sign in"),
                ("/static/vendor/uPlot-1.6.32.iife.min.js", "uPlot"),
                ("/static/app/app.js", "countdown"),
                ("/docs", "swagger-ui-5.36.0-bundle.js"),
            ):
                answer = client.get(path)
                if answer.status_code != 200 or needle not in answer.text:
                    print(f"smoke: {path} answered {answer.status_code} without {needle!r}")
                    return 1
    print("smoke: the installed wheel serves the pages, their scripts and the API docs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

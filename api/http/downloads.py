"""Files served for download (CSV, XML, JSON documents) by the REST API and the pages.

A file is saved, never shown: a browser that rendered an invoice CSV or a nomination XML
as a page could be led to run what a bidder wrote into it, so every file answer says
``attachment`` with a safe name, forbids guessing its type (``nosniff``) and is not
cached (it may hold an organisation's money).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from starlette.responses import Response

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(name: str) -> str:
    """``name`` safe in a file name: ASCII letters, digits and ``.-_``, others as ``-``."""
    return _UNSAFE.sub("-", name).strip("-.") or "file"


def attachment(response: Response, filename: str) -> Response:
    """``response`` as a download saved under ``filename``.

    The plain ``filename`` is ASCII without quotes, slashes or control characters; a
    name that needed changing for that is also given in full as RFC 6266 ``filename*``
    (UTF-8), without path separators, quotes, control characters or leading dots.
    """
    plain = ".".join(file_stem(part) for part in filename.split(".") if part.strip()) or "file"
    value = f'attachment; filename="{plain}"'
    full = "".join(
        c for c in filename if c not in '/\\"' and not unicodedata.category(c).startswith("C")
    )
    full = full.strip().lstrip(".")  # no hidden file, no bare ".."
    if full and full != plain:
        value += f"; filename*=UTF-8''{quote(full, safe='')}"
    response.headers["Content-Disposition"] = value
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response

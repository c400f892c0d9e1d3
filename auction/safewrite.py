"""Writing an export's files without ever following a symbolic link.

``vba export DIR`` (and ``vba clear --out``, ``vba dispatch``) write into a directory
somebody else may be able to write to as well. A link planted there as ``bids.csv`` →
``~/.bashrc`` would make a plain ``open(..., "w")`` overwrite the link's target. So the
directory and every file are checked not to be links, and each file is written to a new
temporary file in the directory (created with ``O_EXCL | O_NOFOLLOW``) that is then
renamed over the name: a rename replaces a directory entry and never writes through a
link, so a link planted between the check and the write is replaced, not followed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from auction.errors import DomainError, Problem

_LINK_RULE = (
    "is a symbolic link; exports never follow links (one could point anywhere): "
    "remove it or choose another directory"
)


class UnsafePath(DomainError):
    """A directory or file an export would write is a symbolic link (or not a directory)."""


def _refuse(path: Path, rule: str = _LINK_RULE) -> UnsafePath:
    return UnsafePath([Problem(str(path), None, None, None, rule)])


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(path.lstat().st_mode)
    except FileNotFoundError:
        return False


def make_dir(path: Path) -> None:
    """Create the directory ``path`` (and its parents) unless it is there; refuse a link."""
    if _is_link(path):
        raise _refuse(path)
    path.mkdir(parents=True, exist_ok=True)
    if _is_link(path) or not path.is_dir():
        raise _refuse(path) if _is_link(path) else _refuse(path, "is not a directory")


def check_no_links(root: Path, subdirs: tuple[str, ...] = ()) -> None:
    """Refuse, before anything is written, if ``root``, one of its ``subdirs`` or any
    entry directly in them is a symbolic link: every link found is named."""
    found: list[Path] = []
    for directory in (root, *(root / name for name in subdirs)):
        if _is_link(directory):
            found.append(directory)
        elif directory.is_dir():
            found.extend(entry for entry in sorted(directory.iterdir()) if _is_link(entry))
    if found:
        raise UnsafePath([Problem(str(p), None, None, None, _LINK_RULE) for p in found])


def write_file(path: Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, without following a link
    at ``path`` or at its directory (both refused)."""
    body = data.encode() if isinstance(data, str) else data
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0)
    try:
        dir_fd = os.open(path.parent, flags)
    except OSError as exc:
        raise _refuse(path.parent, _LINK_RULE if _is_link(path.parent) else str(exc)) from exc
    try:
        try:
            mode = os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except FileNotFoundError:
            mode = 0
        if stat.S_ISLNK(mode):
            raise _refuse(path)
        temp = f".{path.name}.{secrets.token_hex(6)}.tmp"
        create = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(temp, create, 0o666, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(body)
            os.replace(temp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp, dir_fd=dir_fd)
            raise
    finally:
        os.close(dir_fd)

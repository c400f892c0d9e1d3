"""Hashes of a clearing's inputs and results, so anyone can tell two runs apart."""

from __future__ import annotations

import hashlib

import polars as pl

from auction.model import Archive

_KEYS = {
    "fleet": ["asset_id"],
    "availability": ["asset_id", "start", "end", "available_fraction"],
    "products": ["product_id"],
    "bids": ["bid_id"],
    "allocations": ["org_id", "product_id"],
}


def input_sha256(archive: Archive) -> str:
    """sha256 of the archive's content in a canonical form: row order does not matter."""
    h = hashlib.sha256(archive.config.model_dump_json().encode())
    for name, keys in _KEYS.items():
        frame: pl.DataFrame = getattr(archive, name)
        h.update(name.encode())
        h.update(frame.sort(keys).write_csv().encode())
    return h.hexdigest()


def results_sha256(tables: dict[str, bytes]) -> str:
    """sha256 of the result tables as written, in a fixed order of names."""
    h = hashlib.sha256()
    for name in sorted(tables):
        h.update(name.encode())
        h.update(tables[name])
    return h.hexdigest()

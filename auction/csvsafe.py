"""CSV that a spreadsheet opens as data, never as a formula, and that reads back exactly.

A spreadsheet takes a cell that starts with ``=``, ``+``, ``-`` or ``@`` (some also tab
or carriage return) as a formula: a bidder's ``exclusive_group`` of
``=cmd|' /C calc'!A0`` would run on the operator's machine when the exported bids.csv is
opened ("CSV injection", OWASP). Every CSV the engine writes goes through `write_csv`,
which puts an apostrophe before such a text cell, as OWASP recommends and as
spreadsheets themselves mark a text. A plain decimal such as ``-12.50`` is left as it is,
so amounts still read as numbers; numeric columns are never touched.

The archive is read back by the engine (``vba clear`` on an export, replays, uploads), so
`read_csv` takes that apostrophe off again: any text written and read gives the same
text. For that to hold for every text, one that already starts with an apostrophe
followed by a trigger or another apostrophe gets one more apostrophe too.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import polars as pl

# The characters that make a spreadsheet read a cell as a formula (OWASP's list).
TRIGGERS = "=+-@\t\r"
_TRIGGER_CLASS = r"[=+\-@\t\r]"
# A cell written with the mark: the mark, then a trigger or an apostrophe of the text.
_MARKED = rf"^'(?:{_TRIGGER_CLASS}|')"
# A text that needs the mark: a trigger first, or what would look like a marked cell.
_NEEDS_MARK = rf"^(?:{_TRIGGER_CLASS}|'(?:{_TRIGGER_CLASS}|'))"
# A negative amount as the engine writes one: a spreadsheet reads it as a number, harmless.
_PLAIN_NUMBER = r"^-[0-9]+(?:\.[0-9]+)?$"
_TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum)


def neutralise(column: pl.Expr) -> pl.Expr:
    """Text cells as a spreadsheet may safely open them: ``'`` before a formula trigger."""
    text = column.cast(pl.String)
    marked = text.str.contains(_NEEDS_MARK) & ~text.str.contains(_PLAIN_NUMBER)
    return pl.when(marked).then(pl.lit("'") + text).otherwise(text)


def restore(column: pl.Expr) -> pl.Expr:
    """Cells as they were before `neutralise`: the mark taken off again."""
    return pl.when(column.str.contains(_MARKED)).then(column.str.slice(1)).otherwise(column)


def text_columns(frame: pl.DataFrame) -> list[str]:
    """The columns of ``frame`` that hold text (the ones `neutralise` applies to)."""
    return [name for name, dtype in frame.schema.items() if isinstance(dtype, _TEXT_TYPES)]


def write_csv(
    frame: pl.DataFrame, *, text: Iterable[str] | None = None, null_value: str = ""
) -> str:
    """``frame`` as CSV text with every text cell neutralised.

    ``text`` names the columns to neutralise (default: every text column). A caller that
    has already turned numbers into text names only the columns that were text.
    """
    columns = text_columns(frame) if text is None else list(text)
    return frame.with_columns(neutralise(pl.col(c)).alias(c) for c in columns).write_csv(
        null_value=null_value
    )


def read_csv(source: Path | bytes, *, raise_if_empty: bool = False) -> pl.DataFrame:
    """A CSV file (a path or its bytes) as all-text columns, marks taken off.

    Every column is read as text so that numbers are judged as written; the caller parses.
    """
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    frame = pl.read_csv(data, infer_schema=False, raise_if_empty=raise_if_empty)
    return frame.with_columns(restore(pl.col(c)).alias(c) for c in frame.columns)

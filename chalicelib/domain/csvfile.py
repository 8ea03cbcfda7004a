"""CSV files for spreadsheets: UTF-8 with a byte-order mark (so Excel shows non-ASCII names) and
cells neutralised against formula injection (OWASP: a cell starting with = + - @ tab or CR is
prefixed with an apostrophe, so the spreadsheet shows it as text instead of running it).

Plain numbers such as an E.164 phone (+12125550100) or -5 cannot be formulas and stay as they
are, so the phone column remains usable.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

BOM = "\ufeff"
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralise(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class CsvWriter:
    """Rows in, bytes out; counts rows and size as it goes (to choose inline or S3)."""

    def __init__(self, header: Sequence[str]) -> None:
        self._buffer = io.StringIO()
        self._buffer.write(BOM)
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        self._writer.writerow(header)
        self.rows = 0

    def write(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])
        self.rows += 1

    @property
    def size(self) -> int:
        return self._buffer.tell()  # characters; bytes are close enough for a threshold

    def getvalue(self) -> bytes:
        return self._buffer.getvalue().encode("utf-8")

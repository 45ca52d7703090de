"""Reading the text files an instructor or a student hands in: a roster, a manual grading
sheet, an answers file.

Each is UTF-8 (a byte-order mark from Excel is fine). A byte that is not UTF-8 is named
by its line and column. A CSV file is read in strict mode and record by record, each
numbered by the line it starts on. csv cannot find its way again after a quote that is
never closed, so such a record ends the reading and is reported where it starts.
"""
from __future__ import annotations

import csv
import io
from typing import Iterator


def utf8_text(data: bytes, name: str) -> str:
    """`data` as text, or ValueError('NAME:LINE: not valid UTF-8 (byte 0x.. at column C)')."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ValueError(f"{name}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at "
                         f"column {col})") from None


def csv_records(text: str) -> Iterator[tuple[int, list[str] | None, str]]:
    """(line, cells, '') for each record of `text`, the header first. A record that cannot
    be read comes last, as (line, None, what is wrong)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        line = reader.line_num + 1                     # where the next record starts
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message = str(exc)
            if "quote" in message or "end of data" in message or "EOF" in message:
                message += " (a quote opened in this row is never closed)"
            yield line, None, message
            return
        yield line, row, ""

"""Which text encoding an uploaded file is in: spreadsheets save CSV as UTF-8 (with or without a
byte-order mark), as UTF-16 ("Unicode text", with a byte-order mark), or in the Windows code page of the
user's language: Windows-1258 for Vietnamese, GB18030 (GBK) for Chinese.

UTF-8 is checked over the whole file (a file that is UTF-8 only in its first lines is not); otherwise
charset-normalizer picks among the code pages shops use, from a sample.
"""

from __future__ import annotations

import codecs
from typing import BinaryIO

from charset_normalizer import from_bytes

SAMPLE_BYTES = 256 * 1024
# The code pages a shop's spreadsheet saves in when not told to save UTF-8.
CODE_PAGES = ["cp1258", "gb18030"]
SHOWN = {"utf_8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "cp1258": "Windows-1258", "gb18030": "GB18030"}
ADVICE = 'save it as "CSV UTF-8" (Excel: File > Save As > CSV UTF-8; Google Sheets: Download > CSV)'


class UnknownEncoding(ValueError):
    """The file is in no encoding we read; the message says what to do."""


def text_encoding(raw: BinaryIO) -> str:
    """The codec name to read ``raw`` with (``raw`` is left at its start)."""
    try:
        head = raw.read(SAMPLE_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if _all_utf8(raw, head):
            return "utf-8"
        best = from_bytes(head, cp_isolation=CODE_PAGES).best()
        if best is None:
            raise UnknownEncoding(f"the file is not text in UTF-8, UTF-16, Windows-1258 or GB18030: {ADVICE}")
        return best.encoding
    finally:
        raw.seek(0)


def shown(encoding: str) -> str:
    return SHOWN.get(encoding, encoding)


def _all_utf8(raw: BinaryIO, head: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head)
        while chunk := raw.read(SAMPLE_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True

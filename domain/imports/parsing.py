"""Reading the CSV files shops export from spreadsheets: UTF-8 with or without a byte-order mark, comma,
semicolon or tab between fields, and the dates and amounts of Vietnamese and Chinese spreadsheets.

Rows become the same raw rows the API takes, so the API's own validation decides what is valid.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

DELIMITERS = (",", ";", "\t")
LIST_SEPARATORS = re.compile(r"[|,;]")
# Currency words and symbols shops write next to amounts.
CURRENCY_MARKS = re.compile(r"(?i)\s*(vnd|vnđ|đồng|đ|₫|cny|rmb|元|¥|usd|us\$|\$)\s*")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y年%m月%d日")
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")


class BadValue(ValueError):
    """A cell that cannot be read as its column's kind (the message says what was expected)."""


def delimiter_of(header_line: str) -> str:
    """The separator the header line uses most (comma, semicolon or tab)."""
    return max(DELIMITERS, key=header_line.count)


def records(lines: Iterable[str], delimiter: str) -> Any:
    """A csv reader (its ``line_num`` counts physical lines, quoted cells may span several)."""
    return csv.reader(lines, delimiter=delimiter)


def column_key(name: str) -> str:
    """Header names compared whatever the case, spacing and accents: "External ID" -> external_id,
    "Họ và tên" -> ho_va_ten, "手机号" -> 手机号 (letters of every script are kept)."""
    plain = "".join(c for c in unicodedata.normalize("NFD", name.strip().lower()) if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "_", plain.replace("đ", "d")).strip("_")


def composed(cell: str) -> str:
    """Text as one form of each letter (NFC): Windows-1258 and some Mac exports write a Vietnamese tone
    as a separate mark, which would otherwise never equal the same word typed elsewhere."""
    return unicodedata.normalize("NFC", cell)


def amount(text: str) -> str:
    """ "1.500.000 đ", "1,500,000", "1 500 000", "¥1,200.50", "1.200,50" -> a plain decimal string."""
    value = CURRENCY_MARKS.sub("", text).replace("\u00a0", "").replace(" ", "")
    if not value:
        raise BadValue("an amount")
    if "," in value and "." in value:
        decimal_mark = "," if value.rfind(",") > value.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        value = value.replace(thousands, "").replace(decimal_mark, ".")
    elif value.count(".") > 1 or re.fullmatch(r"\d{1,3}(\.\d{3})+", value):
        value = value.replace(".", "")  # 1.500.000: Vietnamese thousands
    elif value.count(",") > 1 or re.fullmatch(r"\d{1,3}(,\d{3})+", value):
        value = value.replace(",", "")  # 1,500,000
    else:
        value = value.replace(",", ".")  # 12,5: a decimal comma
    if not re.fullmatch(r"-?\d+(\.\d+)?", value):
        raise BadValue("an amount such as 1500000, 1.500.000 or 1,500,000.50")
    return value


def day(text: str) -> str:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date().isoformat()
        except ValueError:
            continue
    raise BadValue("a date such as 2026-03-31 or 31/03/2026")


def moment(text: str) -> str:
    value = text.strip()
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        pass
    for pattern in DATETIME_FORMATS:
        try:
            return datetime.strptime(value, pattern).isoformat()
        except ValueError:
            continue
    return date.fromisoformat(day(value)).isoformat()


def text_list(text: str) -> list[str]:
    return [item.strip() for item in LIST_SEPARATORS.split(text) if item.strip()]


def column_mapping(pairs: list[str]) -> dict[str, str]:
    """ "Tên KH:name" pairs (a file's header, then our column after the last colon) as a mapping."""
    return {header: ours for header, _, ours in (pair.rpartition(":") for pair in pairs)}

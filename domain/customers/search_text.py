"""Accent-free, lower-case text so that "nguyen" finds "Nguyễn" and "dang" finds "Đặng"."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search_text(*parts: str | None) -> str:
    return " ".join(fold(part) for part in parts if part)

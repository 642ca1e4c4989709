"""Accent-free, lower-case words so that "nguyen" finds "Nguyễn" and "dang" finds "Đặng".

A customer stores the words of its name, company, email and phone; a search matches when every word of
the query begins one of them: an anchored prefix per word, which an index on the words serves (an
unanchored pattern over one long text would read every customer of the workspace).
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def words(text: str) -> list[str]:
    """Folded words; a Chinese name, written without spaces, is findable by any of its characters on."""
    found = []
    for word in _WORD.findall(fold(text)):
        found.append(word)
        if _CJK.search(word):
            found += [word[start:] for start in range(1, len(word))]
    return found


def search_words(*, name: str | None, company: str | None, email: str | None, phone: str | None) -> list[str]:
    """What a customer can be found by: the words of its name and company, its email whole and in parts,
    and its phone's digits in international and national form (``84912345678``, ``0912345678``)."""
    found: list[str] = []
    for text in (name, company):
        found += words(text or "")
    if email:
        found += [fold(email), *words(email)]
    if phone:
        digits = phone.lstrip("+")
        found += [digits]
        if digits.startswith("84"):  # the first shops are Vietnamese: 0 + national number
            found.append("0" + digits[2:])
    return list(dict.fromkeys(found))


_PHONE_LIKE = re.compile(r"[0-9\s+().-]+")


def query_words(text: str) -> list[str]:
    """The words of a search, folded like the stored ones; a phone number typed with spaces or dashes
    is one word of digits."""
    if _PHONE_LIKE.fullmatch(text):
        return ["".join(ch for ch in text if ch.isdigit())]
    return words(text)

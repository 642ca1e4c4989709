"""A shop's own words for order statuses in its files ("Khách đã nhận" -> delivered), read by its orders
imports over the platforms' built-in words. Replaced as a whole by an admin; anyone may read them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from domain.auth.principals import Permission, Principal
from domain.errors import ErrorCode, NotFound
from domain.imports.order_statuses import all_words
from domain.imports.parsing import column_key
from domain.orders.models import OrderStatus
from domain.validation import LabelText, validate
from domain.workspaces.repository import WorkspaceRepository

MAX_SHOP_WORDS = 200

type KnownWord = tuple[str, OrderStatus, bool]  # word, our status, the shop's own


class ShopWord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    word: LabelText
    status: OrderStatus


class ShopWords(BaseModel):
    model_config = ConfigDict(extra="forbid")

    words: Annotated[list[ShopWord], Field(max_length=MAX_SHOP_WORDS)]

    @model_validator(mode="after")
    def one_status_per_word(self) -> Self:
        seen: dict[str, ShopWord] = {}
        for word in self.words:
            earlier = seen.setdefault(column_key(word.word), word)
            if earlier.status != word.status:
                raise PydanticCustomError(
                    ErrorCode.DUPLICATE_WORD,
                    "'{first}' and '{second}' are one word to an import (case and accents aside) with two statuses",
                    {"first": earlier.word, "second": word.word},
                )
        return self


class StatusWordsService:
    def __init__(self, workspaces: WorkspaceRepository) -> None:
        self._workspaces = workspaces

    async def known(self, principal: Principal) -> list[KnownWord]:
        principal.require(Permission.READ)
        return all_words(await self._shop_words(principal))

    async def replace(self, principal: Principal, words: Sequence[dict[str, Any]]) -> list[KnownWord]:
        """The shop's words, all at once (an empty list: the built-in words only)."""
        principal.require(Permission.MANAGE_SETTINGS)
        given = validate(ShopWords, {"words": list(words)})
        unique = list(dict.fromkeys((word.word, word.status.value) for word in given.words))
        if not await self._workspaces.set_order_status_words(principal.workspace_id, unique):
            raise NotFound("workspace no longer exists")
        return all_words(unique)

    async def _shop_words(self, principal: Principal) -> tuple[tuple[str, str], ...]:
        workspace = await self._workspaces.get(principal.workspace_id)
        if workspace is None:
            raise NotFound("workspace no longer exists")
        return workspace.order_status_words

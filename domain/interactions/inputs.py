from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from domain.errors import ErrorCode
from domain.interactions.models import InteractionKind
from domain.validation import NoteText, PastTimestamp, ShortText


class InteractionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: ShortText
    kind: InteractionKind
    external_id: ShortText | None = None
    at: PastTimestamp | None = None
    rating: Annotated[int | None, Field(ge=1, le=5, validate_default=True)] = None
    note: NoteText | None = None

    @field_validator("rating")
    @classmethod
    def rating_only_for_ratings(cls, rating: int | None, info: ValidationInfo) -> int | None:
        is_rating = info.data.get("kind") == InteractionKind.SERVICE_RATING
        if is_rating and rating is None:
            raise PydanticCustomError(ErrorCode.RATING_REQUIRED, "a SERVICE_RATING needs a rating from 1 to 5")
        if not is_rating and rating is not None:
            raise PydanticCustomError(ErrorCode.RATING_NOT_ALLOWED, "only a SERVICE_RATING carries a rating")
        return rating

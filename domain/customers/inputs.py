"""Validation of customer input: every rule a field must meet, with a stable error code per rule."""

from __future__ import annotations

import re
from typing import Annotated

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from domain.customers.models import Gender, IncomeBand, LegalType
from domain.errors import ErrorCode
from domain.validation import AnyText, LabelText, NameText, PastDate, ShortText

MAX_LIST_ITEMS = 50
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_VALUE = 1000
# Keys become MongoDB field names under ``attributes``: no ``$`` prefix and no ``.`` can get through.
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
TAX_ID = re.compile(r"^[0-9A-Za-z-]{5,20}$")


def normalise_email(value: str) -> str:
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError as error:
        reason = {"reason": str(error)}
        raise PydanticCustomError(ErrorCode.INVALID_EMAIL, "not a valid email address: {reason}", reason) from None


def normalise_phone(value: str, info: ValidationInfo) -> str:
    """Phones are stored in E.164; numbers without a country code use the workspace's country."""
    region = (info.context or {}).get("country", "VN")
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise PydanticCustomError(
            ErrorCode.INVALID_PHONE, "not a valid phone number for region {region}", {"region": region}
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def known_country(value: str) -> str:
    code = value.upper()
    # phonenumbers' regions: the real countries and territories (babel's list also has ZZ, EU, UN...).
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise PydanticCustomError(ErrorCode.UNKNOWN_COUNTRY, "not an ISO 3166 alpha-2 country code")
    return code


def valid_tax_id(value: str) -> str:
    if not TAX_ID.match(value):
        raise PydanticCustomError(ErrorCode.INVALID_FORMAT, "tax id must be 5 to 20 letters, digits or dashes")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(normalise_email)]
Phone = Annotated[str, Field(max_length=32), AfterValidator(normalise_phone)]
Country = Annotated[str, AfterValidator(known_country)]
TaxId = Annotated[str, AfterValidator(valid_tax_id)]
Labels = Annotated[list[LabelText], Field(max_length=MAX_LIST_ITEMS)]


def valid_attribute_key(key: str) -> str:
    if not ATTRIBUTE_KEY.match(key):
        raise PydanticCustomError(
            ErrorCode.INVALID_ATTRIBUTE_KEY,
            "attribute key '{key}' must start with a letter and hold only letters, digits and _ (at most 64)",
            {"key": key},
        )
    return key


class AttributePair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, AfterValidator(valid_attribute_key)]
    value: AnyText
    sensitive: bool = False


class CustomerFields(BaseModel):
    """Every editable field; all optional here so create and update share one set of rules."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: NameText | None = None
    external_id: ShortText | None = None
    email: Email | None = None
    phone: Phone | None = None
    legal_type: LegalType | None = None
    company_name: NameText | None = None
    tax_id: TaxId | None = None
    birth_date: PastDate | None = None
    # When the shop first had this customer (before it used this CRM): tenure and silence count from it.
    customer_since: PastDate | None = None
    gender: Gender | None = None
    city: ShortText | None = None
    region: ShortText | None = None
    country: Country | None = None
    income_band: IncomeBand | None = None
    occupation: ShortText | None = None
    interests: Labels | None = None
    lifestyle: Labels | None = None
    tags: Labels | None = None
    needs: Labels | None = None
    personality_type: Annotated[int, Field(ge=1, le=9)] | None = None
    owner_id: ShortText | None = None
    attributes: list[AttributePair] | None = None

    @field_validator("interests", "lifestyle", "tags", "needs")
    @classmethod
    def distinct(cls, values: list[str] | None) -> list[str] | None:
        return list(dict.fromkeys(values)) if values is not None else None

    @field_validator("attributes")
    @classmethod
    def bounded_attributes(cls, pairs: list[AttributePair] | None) -> list[AttributePair] | None:
        if pairs is None:
            return None
        if len(pairs) > MAX_ATTRIBUTES:
            raise PydanticCustomError(ErrorCode.TOO_MANY_ITEMS, "at most {n} custom attributes", {"n": MAX_ATTRIBUTES})
        seen: set[str] = set()
        for pair in pairs:
            if pair.key in seen:
                raise PydanticCustomError(
                    ErrorCode.DUPLICATE_KEY, "attribute '{key}' is given twice", {"key": pair.key}
                )
            seen.add(pair.key)
        return pairs

    def attribute_map(self) -> dict[str, str] | None:
        return None if self.attributes is None else {pair.key: pair.value for pair in self.attributes}

    def sensitive_attribute_keys(self) -> list[str] | None:
        return None if self.attributes is None else [pair.key for pair in self.attributes if pair.sensitive]


class CustomerCreate(CustomerFields):
    name: NameText

"""Field types shared by the API's input schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, Field

# Text from the address (a query or path parameter): anything but NUL, which no request may carry (the
# middleware refuses it with 400 before any view; the document says so, so a client is never surprised).
AddressText = Annotated[str, Field(pattern=r"^[^\x00]*$")]

# A primary key: positive and within a 64-bit column, so a fuzzed id is a 422, never an overflow.
ObjectId = Annotated[int, Field(gt=0, le=2**63 - 1)]


def _text_only(value: object) -> object:
    # JSON has no date type: a number is not a time (pydantic would read it as seconds since 1970).
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date-time string, such as 2026-12-24T10:00:00Z")
    return value


# A date-time sent as JSON: ISO 8601 text with its UTC offset, as the OpenAPI document says (`format: date-time`).
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_text_only)]

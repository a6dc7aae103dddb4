"""Field types shared by the API's input schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# A primary key: positive and within a 64-bit column, so a fuzzed id is a 422, never an overflow.
ObjectId = Annotated[int, Field(gt=0, le=2**63 - 1)]

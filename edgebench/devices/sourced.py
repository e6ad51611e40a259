"""Numbers with their provenance, and the strict base every profile record parses with."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """A record parsed strictly: an unknown field is an error, and it is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(Strict):
    """A number together with where it came from."""

    value: float = Field(ge=0, allow_inf_nan=False)
    source: str = Field(min_length=1)
    note: str = ""


def _positive_sourced(v: Sourced) -> Sourced:
    if v.value <= 0:
        raise ValueError(f"must be > 0, not {v.value}")
    return v


#: A sourced size or rate, which must be positive.
PositiveSourced = Annotated[Sourced, AfterValidator(_positive_sourced)]

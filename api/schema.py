"""Base classes of the API's pydantic models: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Input(BaseModel):
    """A request body or query string: unknown fields are refused (422), not ignored."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, validate_by_name=True)


class Output(BaseModel):
    """A response payload."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)

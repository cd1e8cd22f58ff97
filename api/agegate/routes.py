"""Age-gate rules (admins), viewers' 18+ declarations and gate status, creators' geo-blocks.

``/api/v1/admin/age-gate/rules``: list and set what each jurisdiction requires before adult
streams play (`system.config_limited`, audited). ``/api/v1/me/age-declaration``: a signed-in
viewer declares 18+ (append-only). ``/api/v1/me/age-gate``: where the caller is, what that
place requires and what the caller has. ``/api/v1/streams/{id}/geo-blocks``: the creator's
(or an admin's) list of countries and regions the stream is not available in.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from api.agegate import places, store
from api.agegate.gate import AGE_GATE
from api.auth import audit
from api.auth.rbac import Permission
from api.keys import POOL
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.streams.errors import STREAM_ID
from api.streams.ownership import owned_stream
from hls.gate import meets, split_place

api = Api("age gate")
Requirement = Literal["none", "self_declared", "verified"]
DECLARATION = "I confirm that I am 18 years of age or older."


class RuleIn(Input):
    country: str = Field(
        min_length=1, max_length=2, description="ISO 3166-1 alpha-2, or `*` for the default rule"
    )
    region: str | None = Field(
        default=None, max_length=3, description="the ISO 3166-2 subdivision after the dash"
    )
    requirement: Requirement


class RuleOut(Output):
    country: str
    region: str | None
    requirement: Requirement
    updated_at: datetime


class RulesQuery(Input):
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=100_000)


class DeclarationIn(Input):
    confirm: Literal[True] = Field(description=f"`true`: {DECLARATION}")


class DeclarationOut(Output):
    level: Literal["self_declared", "verified"]
    declared_at: datetime
    statement: str


class GateStatus(Output):
    enabled: bool
    country: str | None = Field(description="the caller's jurisdiction; null when unknown")
    region: str | None
    requirement: Requirement = Field(description="what adult streams need here")
    level: Literal["none", "self_declared", "verified"] = Field(description="what the caller has")
    allowed: bool = Field(description="may the caller watch adult streams here")


class GeoBlocksIn(Input):
    places: list[str] = Field(
        max_length=300,
        description="ISO 3166-1 countries (`NL`) and ISO 3166-2 regions (`US-TX`)",
    )


class GeoBlocksOut(Output):
    stream_id: uuid.UUID
    places: list[str]


def _rule_out(rule: store.Rule) -> RuleOut:
    return RuleOut(
        country=rule.country,
        region=rule.region or None,
        requirement=rule.requirement,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        updated_at=rule.updated_at,
    )


@api.route(
    "GET",
    "/api/v1/admin/age-gate/rules",
    summary="Age-gate rules per jurisdiction (default row first; nextCursor is the next offset)",
    query=RulesQuery,
    response=RuleOut,
    paginated=True,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
)
async def list_age_rules(call: Call[None, RulesQuery]) -> Page[RuleOut]:
    q = call.query
    rules = await store.list_rules(call.app[POOL], limit=q.limit, offset=q.offset)
    nxt = str(q.offset + q.limit) if len(rules) == q.limit else None
    return Page([_rule_out(r) for r in rules], nxt)


@api.route(
    "PUT",
    "/api/v1/admin/age-gate/rules",
    summary="Set what a country, a region or the default requires before adult streams play",
    body=RuleIn,
    response=RuleOut,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
)
async def set_age_rule(call: Call[RuleIn, None]) -> RuleOut:
    """Unknown countries (`UNKNOWN_COUNTRY`) and regions (`INVALID_REGION`, `UNKNOWN_REGION`)
    are refused with 422; the default row (`*`) has no region. Applies on this node at once,
    on others within seconds; written to the audit log."""
    b = call.body
    if b.country == "*":
        if b.region:
            raise places.MalformedRegion(
                "the default rule has no region", meta={"region": b.region}
            )
        country, region = "*", ""
    else:
        country = places.country_code(b.country)
        region = places.region_code(country, b.region) if b.region else ""
    rule = await store.set_rule(
        call.app[POOL], country, region, b.requirement, call.principal.user_id
    )
    call.app[AGE_GATE].forget_rules()
    await audit.record(
        call.app[POOL],
        "admin.age_gate.rule_set",
        actor_id=call.principal.user_id,
        target=f"age_gate:{country}-{region}" if region else f"age_gate:{country}",
        ip=call.ip,
        meta={"requirement": b.requirement},
    )
    return _rule_out(rule)


@api.route(
    "POST",
    "/api/v1/me/age-declaration",
    summary="Declare that I am 18 or older (recorded, never changed; enough where the rule is "
    "self_declared)",
    status=201,
    body=DeclarationIn,
    response=DeclarationOut,
    auth=True,
)
async def declare_age(call: Call[DeclarationIn, None]) -> DeclarationOut:
    p = call.principal
    assert p.user_id is not None
    gate = call.app[AGE_GATE]
    at = await store.declare_adult(
        call.app[POOL], p.user_id, ip=call.ip, place=gate.place(call.request), statement=DECLARATION
    )
    level = await store.age_level(call.app[POOL], p.user_id)
    return DeclarationOut(level=level, declared_at=at, statement=DECLARATION)  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values


@api.route(
    "GET",
    "/api/v1/me/age-gate",
    summary="Where I am, what adult streams need here, and what I have",
    response=GateStatus,
)
async def age_gate_status(call: Call[None, None]) -> GateStatus:
    gate = call.app[AGE_GATE]
    place = gate.place(call.request)
    rules = await gate.rules()
    requirement = rules.requirement(place) if rules is not None else "none"
    level = await store.age_level(call.app[POOL], call.principal.user_id)
    country, region = split_place(place)
    return GateStatus(
        enabled=rules is not None,
        country=country or None,
        region=region or None,
        requirement=requirement,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        level=level,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        allowed=meets(level, requirement),
    )


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/geo-blocks",
    summary="Where my stream is not available",
    response=GeoBlocksOut,
    permission=Permission.STREAM,
    path_formats={"stream_id": STREAM_ID},
)
async def get_geo_blocks(call: Call[None, None]) -> GeoBlocksOut:
    """The stream's creator or an admin (audited): a creator's blocks can say where they
    live, so nobody else reads them."""
    row = await owned_stream(call, "geo_blocks_read")
    return GeoBlocksOut(stream_id=row.id, places=await store.geo_blocks(call.app[POOL], row.id))


@api.route(
    "PUT",
    "/api/v1/streams/{stream_id}/geo-blocks",
    summary="Replace where my stream is not available (countries and regions, ISO 3166)",
    body=GeoBlocksIn,
    response=GeoBlocksOut,
    permission=Permission.STREAM,
    path_formats={"stream_id": STREAM_ID},
)
async def set_geo_blocks(call: Call[GeoBlocksIn, None]) -> GeoBlocksOut:
    """Viewers in a blocked place get 451 `GEO_BLOCKED` from the API and the media servers
    (within seconds, including those holding a playback token). Unknown places: 422
    `UNKNOWN_COUNTRY`, `INVALID_REGION` or `UNKNOWN_REGION` with the offending entry."""
    row = await owned_stream(call, "geo_blocks_set")
    codes = [places.place_code(raw) for raw in call.body.places]
    saved = await store.replace_geo_blocks(call.app[POOL], row.id, codes)
    return GeoBlocksOut(stream_id=row.id, places=saved)

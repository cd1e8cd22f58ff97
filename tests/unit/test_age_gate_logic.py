"""The age gate's pure pieces: token claims, rule lookup, geo-block matching, places, GeoIP."""

from __future__ import annotations

import time
from types import MappingProxyType

import pytest

from api.agegate.errors import MalformedRegion, UnknownCountry, UnknownRegion
from api.agegate.geoip import CidrRanges, LayeredGeoIp, RegistryCountries, ViewerLocator
from api.agegate.places import parse_place, place_code
from hls.access import TokenInvalid, sign_playback_token, verify_playback_token
from hls.gate import (
    AgeRules,
    AgeVerificationRequired,
    GeoBlocked,
    StreamAccess,
    check_viewer,
    is_blocked,
    meets,
)
from hls.origin import PlaybackPolicy

KEY = b"k" * 32
SID = "0b7e9a52-55c4-4f2e-9d7e-2f7e1c1d9a10"
RULES = AgeRules(
    MappingProxyType(
        {
            ("*", ""): "self_declared",
            ("GB", ""): "verified",
            ("US", "TX"): "verified",
            ("SE", ""): "none",
        }  # fmt: skip
    )
)


@pytest.mark.parametrize(
    ("place", "requirement"),
    [
        ("", "self_declared"),
        ("NL", "self_declared"),
        ("GB", "verified"),
        ("GB-ENG", "verified"),
        ("US-TX", "verified"),
        ("US-NY", "self_declared"),
        ("US", "verified"),  # region unknown: the strictest of the country's regions
        ("SE", "none"),
    ],  # fmt: skip
)
def test_rule_lookup_falls_back_region_country_default(place, requirement):
    assert RULES.requirement(place) == requirement


def test_no_rules_at_all_means_none():
    assert AgeRules().requirement("GB") == "none"


def test_levels_order():
    assert meets("verified", "self_declared") and meets("self_declared", "self_declared")
    assert not meets("self_declared", "verified") and not meets("none", "self_declared")
    assert meets("none", "none") and meets("exempt", "verified")
    assert not meets("bogus", "self_declared")


@pytest.mark.parametrize(
    ("blocked", "place", "expected"),
    [
        ({"DE"}, "DE", True),
        ({"DE"}, "DE-BY", True),
        ({"US-TX"}, "US-TX", True),
        ({"US-TX"}, "US", False),
        ({"US-TX"}, "US-CA", False),
        ({"DE"}, "", False),
        (set(), "DE", False),
    ],  # fmt: skip
)
def test_geo_block_matching(blocked, place, expected):
    assert is_blocked(frozenset(blocked), place) is expected


def test_check_viewer_geo_first_then_age():
    access = StreamAccess("public", adult=True, blocked=frozenset({"DE"}), rules=RULES)
    with pytest.raises(GeoBlocked) as geo:
        check_viewer(access, level="verified", place="DE")
    assert geo.value.status == 451 and geo.value.meta == {"country": "DE", "region": None}
    with pytest.raises(AgeVerificationRequired) as age:
        check_viewer(access, level="self_declared", place="US-TX")
    assert age.value.meta["requirement"] == "verified"
    assert age.value.meta["region"] == "TX"
    check_viewer(access, level="self_declared", place="NL")
    check_viewer(access, level="exempt", place="DE")  # the creator and staff
    check_viewer(StreamAccess("public", rules=RULES), level="none", place="GB")  # not adult


@pytest.mark.parametrize(
    ("age", "place", "claims"),
    [
        ("none", "", "n"),
        ("self_declared", "NL", "sNL"),
        ("verified", "US-TX", "vUS-TX"),
        ("exempt", "GB", "xGB"),
    ],  # fmt: skip
)
def test_token_claims_round_trip(age, place, claims):
    token = sign_playback_token(
        KEY, SID, "v1", int(time.time()) + 60, epoch=0, age=age, place=place
    )
    assert token.split(".")[3] == claims
    grant = verify_playback_token(KEY, token, SID, time.time())
    assert (grant.age, grant.place, grant.viewer_id) == (age, place, "v1")


def test_token_claims_are_signed_and_well_formed():
    token = sign_playback_token(
        KEY, SID, "v1", int(time.time()) + 60, epoch=0, age="none", place="NL"
    )
    for edited in (token.replace(".nNL.", ".vNL."), token.replace(".nNL.", ".nGB.")):
        with pytest.raises(TokenInvalid, match="signature"):
            verify_playback_token(KEY, edited, SID, time.time())
    for malformed in (token.replace(".nNL.", ".qNL."), token.replace(".nNL.", ".nnl."),
                      token.replace(".nNL.", ".nNL-TOOLONG."), "a.b.²³.c"):  # fmt: skip
        with pytest.raises(TokenInvalid, match="malformed"):
            verify_playback_token(KEY, malformed, SID, time.time())
    with pytest.raises(ValueError):
        sign_playback_token(KEY, SID, "v1", 1, epoch=0, age="none", place="Netherlands")
    plain = sign_playback_token(KEY, SID, "v", int(time.time()) + 60, epoch=3)
    grant = verify_playback_token(KEY, plain, SID, time.time())
    assert (grant.age, grant.place, grant.epoch) == ("none", "", 3)


SOON = int(time.time()) + 3000


def test_policy_decides_from_claims_rules_and_the_requesters_place():
    policy = PlaybackPolicy(KEY, None)  # type: ignore[arg-type]
    gated = StreamAccess("public", adult=True, rules=RULES)
    assert policy.decide(SID, StreamAccess("public", rules=RULES), None) is None  # open
    declared_nl = sign_playback_token(KEY, SID, "v", SOON, epoch=0, age="self_declared", place="NL")
    assert policy.decide(SID, gated, declared_nl) == declared_nl
    declared_gb = sign_playback_token(KEY, SID, "v", SOON, epoch=0, age="self_declared", place="GB")
    with pytest.raises(AgeVerificationRequired):
        policy.decide(SID, gated, declared_gb)
    blocked = StreamAccess("public", blocked=frozenset({"DE"}), rules=RULES)
    assert policy.decide(SID, blocked, declared_nl, lambda: "NL") == declared_nl
    with pytest.raises(GeoBlocked):
        policy.decide(SID, blocked, declared_nl, lambda: "DE")
    asked = []
    policy.decide(SID, gated, declared_nl, lambda: asked.append(1) or "DE")  # type: ignore[func-returns-value]
    assert asked == []  # no geo-blocks: the requester is not located at all


@pytest.mark.parametrize(
    ("raw", "code"),
    [("nl", "NL"), (" us-tx ", "US-TX"), ("GB-ENG", "GB-ENG"), ("fr-75c", "FR-75C")],
)
def test_place_codes(raw, code):
    assert place_code(raw) == code


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("XX", UnknownCountry),
        ("NLD", UnknownCountry),
        ("", UnknownCountry),
        ("US-TEXAS", MalformedRegion),
        ("US-", MalformedRegion),
        ("US-T*", MalformedRegion),
        ("NL-ZZ", UnknownRegion),
    ],  # fmt: skip
)
def test_bad_places(raw, error):
    with pytest.raises(error):
        place_code(raw)
    assert parse_place(raw) == ""


def test_cidr_ranges_longest_prefix_and_locator_trust():
    geo = CidrRanges({"10.0.0.0/8": "NL", "10.1.0.0/16": "US-TX", "2001:db8::/32": "GB"})
    assert geo.lookup("10.2.3.4") == "NL"
    assert geo.lookup("10.1.3.4") == "US-TX"
    assert geo.lookup("2001:db8::1") == "GB"
    assert geo.lookup("192.0.2.1") == "" and geo.lookup("not an ip") == ""
    with pytest.raises(ValueError):
        CidrRanges({"10.0.0.0/8": "Neverland"})
    untrusting = ViewerLocator(geo)
    assert untrusting.locate("10.1.0.1", "SE") == "US-TX"  # no trusted proxies: header ignored
    locator = ViewerLocator(geo, ["10.9.0.0/16"])
    assert locator.locate("10.9.0.1", "se") == "SE"
    assert locator.locate("10.9.0.1", "garbage") == ""
    assert locator.locate("10.9.0.1", None) == "NL"
    assert locator.locate("10.2.0.1", "SE") == "NL"
    assert locator.locate(None, "SE") == ""


@pytest.mark.parametrize(
    ("ip", "place"),
    [
        ("8.8.8.8", "US"),  # registered to Google in the US
        ("81.2.69.160", "GB"),
        ("2a00:1450:4001:80b::200e", "IE"),
        ("145.97.0.1", "NL"),
        ("10.2.3.4", "NL"),  # the configured range, asked first
        ("10.1.3.4", "US-TX"),  # a range may name a region; the database never does
        ("192.168.1.1", ""),  # private: no country
        ("127.0.0.1", ""),
        ("not an ip", ""),
    ],  # fmt: skip
)
def test_the_offline_database_answers_countries_after_the_configured_ranges(ip, place):
    geo = LayeredGeoIp(
        CidrRanges({"10.0.0.0/8": "NL", "10.1.0.0/16": "US-TX"}), RegistryCountries()
    )
    assert geo.lookup(ip) == place
    only_ranges = LayeredGeoIp(CidrRanges({"10.0.0.0/8": "NL", "10.1.0.0/16": "US-TX"}), None)
    assert only_ranges.lookup(ip) == (place if ip.startswith("10.") else "")


def test_an_exempt_token_holds_only_where_it_was_issued():
    """The creator's (or staff's) own token: past the age gate and their geo-blocks at home;
    handed to someone elsewhere it counts as a token of level none there."""
    policy = PlaybackPolicy(KEY, None)  # type: ignore[arg-type]
    creator_nl = sign_playback_token(KEY, SID, "c", SOON, epoch=0, age="exempt", place="NL")
    gated_blocked = StreamAccess("public", adult=True, blocked=frozenset({"NL", "DE"}), rules=RULES)
    assert policy.decide(SID, gated_blocked, creator_nl, lambda: "NL") == creator_nl
    with pytest.raises(GeoBlocked):
        policy.decide(SID, gated_blocked, creator_nl, lambda: "DE")
    with pytest.raises(AgeVerificationRequired) as exc:
        policy.decide(SID, gated_blocked, creator_nl, lambda: "FR")
    assert exc.value.meta["current"] == "none"
    # Not age-gated, not blocked: a plain token (the visibility is what it opens).
    followers = StreamAccess("followers", rules=RULES)
    assert policy.decide(SID, followers, creator_nl, lambda: "FR") == creator_nl


@pytest.mark.parametrize(("database", "place"), [("iptocc", "GB"), ("none", "")])
def test_the_nodes_age_gate_locates_with_the_configured_database(tmp_path, database, place):
    from api.agegate.gate import AgeGate
    from teezu.settings import Settings

    gate = AgeGate(Settings(var_dir=tmp_path, geoip_database=database), lambda: None)
    assert gate.locator.locate("81.2.69.160", None) == place

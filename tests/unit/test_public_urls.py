"""Absolute URLs from configured URLs and allowed hosts only; the request id rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teezu.public_urls import configured_host, host_name, trusted_host
from teezu.request_id import request_id
from teezu.settings import Settings

ALLOWED = frozenset({"localhost", "127.0.0.1", "live.example.org", "[::1]"})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("live.example.org", "live.example.org"),
        ("LIVE.example.org:8443", "live.example.org"),
        ("[::1]:8080", "[::1]"),
        ("evil.example", "localhost"),
        ("live.example.org.evil.example", "localhost"),
        ("live.example.org@evil.example", "localhost"),
        ("live.example.org/x", "localhost"),
        ("", "localhost"),
        (None, "localhost"),
    ],
)
def test_only_allowed_hosts_are_taken_from_the_header(header, expected):
    assert trusted_host(header, ALLOWED, "http://localhost:8080") == expected


@given(st.text(max_size=300))
def test_no_header_yields_a_host_outside_the_allow_list(header):
    assert trusted_host(header, ALLOWED, "https://live.example.org") in ALLOWED


def test_host_parsing():
    assert host_name("a.b:1") == "a.b" and host_name("a b") is None
    assert configured_host("https://u@live.example.org:8443/x") == "live.example.org"
    assert configured_host("http://[::1]:8080") == "[::1]"


def test_allowed_hosts_follow_the_configured_urls():
    assert Settings().hosts == {"localhost", "127.0.0.1"}
    s = Settings(public_url="https://live.example.org", edge_public_url="https://e.example.org")
    assert s.hosts == {"live.example.org", "e.example.org"}
    assert Settings(allowed_hosts=["A.example"]).hosts == {"a.example"}


@pytest.mark.parametrize(
    "given_id", ["trace-42", "0c7b5a1e-1111-4222-8333-444455556666", "a.b:c_d", "x" * 64]
)
def test_token_like_request_ids_are_kept(given_id):
    assert request_id(given_id) == given_id


@given(st.text(max_size=7000))
def test_any_other_request_id_is_replaced_by_a_short_token(given_id):
    rid = request_id(given_id)
    assert 0 < len(rid) <= 64 and rid.isascii() and rid.isprintable() and " " not in rid
    if rid == given_id:
        assert len(given_id) <= 64 and given_id[0].isalnum()

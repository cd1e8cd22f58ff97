from ingest.tokens import bearer_token, hash_token, new_publish_token, token_matches


def test_token_round_trip():
    token, digest = new_publish_token()
    assert len(token) >= 40 and digest == hash_token(token)
    assert token_matches(token, digest)
    assert not token_matches(token + "x", digest)
    assert not token_matches("", digest) and not token_matches(None, digest)
    assert new_publish_token()[0] != token


def test_bearer_parsing():
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None

"""API keys and rate limits: issue, parse, verify, revoke; token buckets on a fake clock."""

from __future__ import annotations

import pytest

from events.keys import KeyRevoked, decode_key_event, encode_key_event
from projections import keys as key_fold
from services.auth import keys
from services.auth.ratelimit import RateLimiter, retry_after_header


def test_an_issued_key_verifies_and_its_secret_is_not_in_the_event() -> None:
    plaintext, event = keys.issue("alice laptop", admin=False, created_by="cli")
    parsed = keys.parse(plaintext)
    assert parsed is not None and parsed[0] == event.key_id
    view = key_fold.apply(None, event)
    assert keys.verify(view, parsed[1])
    assert parsed[1] not in encode_key_event(event).decode()
    assert decode_key_event(encode_key_event(event)) == event


def test_two_keys_with_one_name_have_different_ids_salts_and_digests() -> None:
    _, a = keys.issue("same", admin=False, created_by="cli")
    _, b = keys.issue("same", admin=False, created_by="cli")
    assert (a.key_id, a.salt, a.digest) != (b.key_id, b.salt, b.digest)


def test_wrong_secret_revoked_key_and_garbage_do_not_verify() -> None:
    plaintext, event = keys.issue("k", admin=True, created_by="cli")
    key_id, secret = keys.parse(plaintext) or ("", "")
    view = key_fold.apply(None, event)
    assert not keys.verify(view, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    revoked = key_fold.apply(view, KeyRevoked(key_id=key_id, by="cli"))
    assert revoked is not None and not revoked.active
    assert not keys.verify(revoked, secret)
    assert not keys.verify(None, secret)
    for bad in (
        "",
        "fpk_",
        plaintext + "x",
        plaintext.replace("fpk_", "fpx_"),
        "Bearer " + plaintext,
    ):
        assert keys.parse(bad) is None


@pytest.mark.parametrize("name", ["", " lead", "x" * 65, "semi;colon", "new\nline"])
def test_bad_key_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        keys.issue(name, admin=False, created_by="cli")


def test_revocation_is_final() -> None:
    _, event = keys.issue("k", admin=False, created_by="cli")
    view = key_fold.apply(None, event)
    revoked = key_fold.apply(view, KeyRevoked(key_id=event.key_id, by="a"))
    again = key_fold.apply(revoked, KeyRevoked(key_id=event.key_id, by="b"))
    assert again == revoked
    assert key_fold.apply(revoked, event) == revoked  # a replayed creation does not revive it


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a")
    assert wait == pytest.approx(0.5)
    assert retry_after_header(wait) == "1"
    assert limiter.take("b") == 0.0  # buckets are per caller
    now[0] += 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0


def test_rate_zero_means_no_limit() -> None:
    limiter = RateLimiter(rate=0, burst=0)
    assert all(limiter.take("a") == 0.0 for _ in range(1000))


def test_rotation_keeps_the_id_and_replaces_the_secret() -> None:
    old, event = keys.issue("local", admin=False, created_by="up")
    view = key_fold.apply(None, event)
    new, rotated = keys.rotate(event.key_id, by="up")
    after = key_fold.apply(view, rotated)
    assert after is not None and after.key_id == event.key_id and after.active
    old_secret, new_secret = keys.parse(old)[1], keys.parse(new)[1]  # type: ignore[index]
    assert keys.verify(after, new_secret) and not keys.verify(after, old_secret)
    revoked = key_fold.apply(after, KeyRevoked(key_id=event.key_id, by="x"))
    assert key_fold.apply(revoked, keys.rotate(event.key_id, by="up")[1]) == revoked

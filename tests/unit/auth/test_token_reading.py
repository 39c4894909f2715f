"""Reading a bearer token (auth.security.read_token): its signature is checked once and
kept, but a kept token still expires, and nothing but the exact token under the same key
is ever taken from what was kept."""

from __future__ import annotations

import pytest

from mutua.auth import security
from mutua.auth.roles import Role
from mutua.auth.security import Principal, issue_token, read_token
from mutua.errors import Unauthorized

KEY = "k" * 48
MEMBER = Principal(user_id=7, username="M000000007", role=Role.MEMBER, member_id=7)


def _token(minutes: int = 30, key: str = KEY) -> str:
    return issue_token(MEMBER, secret=key, minutes=minutes, stamp="s" * 32)


def test_a_token_is_verified_once_and_read_again_from_what_was_kept(monkeypatch):
    token = _token()
    assert read_token(token, secret=KEY).principal == MEMBER
    decoded = []
    monkeypatch.setattr(security.jwt, "decode", lambda *a, **k: decoded.append(a))
    assert read_token(token, secret=KEY).principal == MEMBER
    assert decoded == []  # not decoded again


def test_a_kept_token_still_expires(monkeypatch):
    token = _token(minutes=1)
    assert read_token(token, secret=KEY).stamp == "s" * 32
    later = security.time.time() + 61
    monkeypatch.setattr(security.time, "time", lambda: later)
    with pytest.raises(Unauthorized, match="expired"):
        read_token(token, secret=KEY)


def test_another_key_or_a_changed_token_is_checked_in_full():
    token = _token()
    read_token(token, secret=KEY)  # kept under this key
    with pytest.raises(Unauthorized, match="invalid"):
        read_token(token, secret="another key of the same length...............")
    head, body, signature = token.split(".")
    forged = ".".join([head, body, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    with pytest.raises(Unauthorized, match="invalid"):
        read_token(forged, secret=KEY)
    with pytest.raises(Unauthorized, match="invalid"):
        read_token(forged, secret=KEY)  # a refusal is not kept as a pass either


def test_an_expired_token_is_refused_before_it_is_ever_kept():
    with pytest.raises(Unauthorized, match="expired"):
        read_token(_token(minutes=-1), secret=KEY)

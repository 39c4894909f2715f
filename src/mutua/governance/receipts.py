"""Ballot receipts (投票回执): proof that a ballot was counted, known only to its voter.

When a member votes they get back, once, a random 32-byte *secret*. The receipt is

    receipt = SHA-256("mutua-ballot-v1" | proposal id | choice | secret)

and only the receipt is stored, next to the choice, in a ballots table that holds no
member id. After the vote closes the list of (receipt, choice) pairs is published to the
members in scope: a member recomputes their receipt from the secret they kept and finds
it in the list with the choice they made, and anyone can recount the list. Without a
secret a receipt says nothing about who cast it, and 2^256 secrets make guessing hopeless.

>>> s = bytes(32)
>>> r = receipt_for(proposal_id=7, choice=("yes",), secret=s)
>>> len(r), verify(proposal_id=7, choice=("yes",), secret=s, receipt=r)
(64, True)
>>> verify(proposal_id=7, choice=("no",), secret=s, receipt=r)
False
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

DOMAIN_TAG = b"mutua-ballot-v1"
OWNER_TAG = b"mutua-ballot-owner-v1"
SECRET_BYTES = 32
OPTION_CODE = re.compile(r"^[a-z0-9_]{1,32}$")


def new_secret() -> bytes:
    """A fresh secret from the operating system's CSPRNG."""
    return secrets.token_bytes(SECRET_BYTES)


def encode_choice(choice: Iterable[str]) -> str:
    """A canonical choice as stored: option codes joined by commas (codes hold no comma).

    >>> encode_choice(("c1", "c3")), decode_choice("c1,c3")
    ('c1,c3', ('c1', 'c3'))
    """
    return ",".join(choice)


def decode_choice(text: str) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


def receipt_for(*, proposal_id: int, choice: Iterable[str], secret: bytes) -> str:
    """The hex SHA-256 receipt of one ballot."""
    if len(secret) != SECRET_BYTES:
        raise ValueError("a ballot secret is 32 bytes")
    h = hashlib.sha256()
    for part in (DOMAIN_TAG, str(int(proposal_id)).encode(), encode_choice(choice).encode(),
                 secret):
        # length-prefixed so no two different inputs give the same byte string
        h.update(len(part).to_bytes(4, "big"))
        h.update(part)
    return h.hexdigest()


def owner_tag(*, proposal_id: int, member_id: int, secret: bytes) -> str:
    """The hex SHA-256 tag kept on the elector's row: proves a secret was handed to them.

    A different domain tag from receipts, so a tag and a receipt of the same secret share
    nothing a reader could match without the secret.

    >>> s = bytes(32)
    >>> owner_tag(proposal_id=7, member_id=1, secret=s) != owner_tag(proposal_id=7,
    ...                                                              member_id=2, secret=s)
    True
    """
    if len(secret) != SECRET_BYTES:
        raise ValueError("a ballot secret is 32 bytes")
    h = hashlib.sha256()
    for part in (OWNER_TAG, str(int(proposal_id)).encode(), str(int(member_id)).encode(),
                 secret):
        h.update(len(part).to_bytes(4, "big"))
        h.update(part)
    return h.hexdigest()


def verify(*, proposal_id: int, choice: Iterable[str], secret: bytes, receipt: str) -> bool:
    return hmac.compare_digest(receipt_for(proposal_id=proposal_id, choice=choice,
                                           secret=secret), receipt)


def secret_to_text(secret: bytes) -> str:
    return secret.hex()


def secret_from_text(text: str) -> bytes | None:
    """The secret a member pasted back, or None if it is not 64 hex digits."""
    try:
        raw = bytes.fromhex(text.strip())
    except (ValueError, AttributeError):
        return None
    return raw if len(raw) == SECRET_BYTES else None

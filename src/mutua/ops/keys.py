"""The signing key of a demo: made at random on the first `mutua demo`, kept in var/.

Production sets MUTUA_SECRET_KEY. A demo needs no set-up, yet must not sign with a key
anyone can read in the source: `mutua demo` writes 48 random bytes to
``settings.demo_key_file`` (mode 0600, only its owner reads it) unless the file is already
there, and `mutua serve` uses that key when MUTUA_SECRET_KEY is unset. Rebuilding the demo
keeps the key, so signed-in browsers stay signed in.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from mutua.settings import SecretKeyRefused

KEY_BYTES = 48


def make_demo_key(path: Path) -> bool:
    """Write a new random key to ``path`` unless one is there; True when one was written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two demos started at once cannot both write; 0600 from the first byte.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(KEY_BYTES) + "\n")
    return True


def read_demo_key(path: Path) -> str:
    """The demo's key, refused if others could read the file (as ssh refuses such a key)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SecretKeyRefused(
            "MUTUA_SECRET_KEY is not set and there is no demo key at "
            f"{path}: set MUTUA_SECRET_KEY to a long random value, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))' "
            "(or run `mutua demo` first, which makes a key of its own)") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretKeyRefused(f"the demo key {path} may be read by others "
                               f"(mode {stat.S_IMODE(mode):04o}): chmod 600 {path}")
    return path.read_text(encoding="ascii").strip()


def demo_payment_secret(demo_key: str) -> str:
    """The fake payment provider's callback secret for a demo, derived from its own key.

    The demo's members pay through the fake provider, whose callbacks are signed; a served
    demo has no MUTUA_PAYMENT_CALLBACK_SECRET, so it takes one no one can read in the source
    and that differs from the signing key itself (HMAC-SHA256 of a label under the key)."""
    return hmac.new(demo_key.encode("ascii"), b"mutua demo payment callbacks",
                    hashlib.sha256).hexdigest()

"""Unit link tokens (≥ 128 bits, only their SHA-256 kept) and admin passwords (Argon2id, OWASP parameters)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

TOKEN_BYTES = 32  # 256 bits in the link; the database keeps only the hash


def new_token() -> str:
    """A fresh random token for a link or a session cookie (URL-safe text)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored for a token: its SHA-256 in hex (a database copy cannot be turned back into links)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(a.encode(), b.encode())


@cache
def _hasher():
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    # OWASP password storage: Argon2id, m = 19 MiB, t = 2, p = 1
    return PasswordHash((Argon2Hasher(memory_cost=19456, time_cost=2, parallelism=1),))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, stored: str) -> bool:
    try:
        return _hasher().verify(password, stored)
    except Exception:  # a malformed stored hash is a failed login, never a crash
        return False


DUMMY_HASH_INPUT = "xltool-no-such-user"


def waste_time_like_a_login() -> None:
    """Hash once for an unknown user name, so a login's timing does not tell which names exist."""
    _hasher().verify(DUMMY_HASH_INPUT, _dummy_hash())


@cache
def _dummy_hash() -> str:
    return _hasher().hash(DUMMY_HASH_INPUT)

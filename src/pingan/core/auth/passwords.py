"""Password hashing with Argon2id (argon2-cffi, RFC 9106 parameters).

Hashes carry their own parameters, so raising the cost later needs no migration:
:func:`needs_rehash` says when a stored hash was made with other parameters, and
the login path rehashes it while it holds the plain password.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher(type=Type.ID)


def configure_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Use ``hasher`` from now on (e.g. other costs); returns the previous one."""
    global _hasher
    previous, _hasher = _hasher, hasher
    _dummy_hash.cache_clear()
    return previous


def current_hasher() -> PasswordHasher:
    """The hasher in force."""
    return _hasher


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (PHC string with salt and parameters)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a malformed hash)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether ``password_hash`` was made with other parameters than the hasher in force."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("pingan-timing-equaliser")


def burn_verification_time(password: str) -> None:
    """Spend as long as a real check, so an unknown username is not told apart by timing."""
    verify_password(_dummy_hash(), password)


def password_problem(password: str) -> str | None:
    """The catalogue key of what is wrong with ``password`` as a new password, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "auth.error.password_too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "auth.error.password_too_long"
    if not password.strip():
        return "auth.error.password_blank"
    return None

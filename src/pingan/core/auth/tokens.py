"""Short-lived access tokens: JWT (HS256) signed with ``settings.auth.secret_key``.

Claims: ``sub`` (username), ``uid`` (user id), ``roles``, ``jur`` (jurisdiction ids,
already expanded to descendants), ``jall`` (sees every jurisdiction), ``lang``,
``iat``, ``exp`` and ``jti``. Roles and jurisdictions are read from the token, so a
change to them takes effect at the next login (at most ``token_ttl_s`` later);
deactivating a user takes effect at once because each request checks the user is
still active (:func:`pingan.core.auth.deps.get_principal`).

Expiry is judged on the **wall clock**, not :mod:`pingan.core.clock`: the demo
simulator replaces the process clock with one running 60 times faster (which would
expire a 15-minute token in 15 real seconds) or a frozen one (which would never
expire it). Tests pass ``now=`` explicitly instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from pingan.core.auth.permissions import Principal
from pingan.core.errors import NotAuthenticated
from pingan.core.settings import Settings

ALGORITHM = "HS256"
ISSUER = "pingan"
_REQUIRED_CLAIMS = ("sub", "uid", "roles", "jur", "exp", "iat", "jti", "iss")
_CLOCK_SKEW = timedelta(seconds=30)
"""Tolerated skew between the clocks of the processes behind one load balancer."""


def wall_now() -> datetime:
    """The real current time (tokens outlive any simulated clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class IssuedToken:
    """An access token and when it expires."""

    access_token: str
    expires_in: int
    expires_at: datetime
    jti: str


def create_access_token(
    principal: Principal, settings: Settings, *, now: datetime | None = None
) -> IssuedToken:
    """A signed access token for a signed-in user's ``principal``."""
    if principal.user_id is None:
        raise ValueError("principal: access tokens are for users, not API keys")
    issued = (now or wall_now()).replace(microsecond=0)
    ttl = settings.auth.token_ttl_s
    expires = issued + timedelta(seconds=ttl)
    jti = uuid.uuid4().hex
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": principal.username,
        "uid": principal.user_id,
        "roles": sorted(principal.roles),
        "jur": sorted(principal.jurisdiction_ids),
        "jall": principal.all_jurisdictions,
        "lang": principal.language,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": jti,
    }
    token = jwt.encode(claims, settings.auth.secret_key, algorithm=ALGORITHM)
    return IssuedToken(access_token=token, expires_in=ttl, expires_at=expires, jti=jti)


def decode_access_token(
    token: str, settings: Settings, *, now: datetime | None = None
) -> Principal:
    """The principal of a valid, unexpired ``token``; raises NotAuthenticated otherwise."""
    try:
        claims = jwt.decode(
            token,
            settings.auth.secret_key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            # Time claims are checked below against the wall clock (or ``now``).
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": list(_REQUIRED_CLAIMS),
            },
        )
    except jwt.PyJWTError:
        raise NotAuthenticated("core.error.not_authenticated") from None
    try:
        exp = int(claims["exp"])
        iat = int(claims["iat"])
        uid = int(claims["uid"])
        roles = frozenset(str(r) for r in claims["roles"])
        jur = frozenset(int(j) for j in claims["jur"])
        username = str(claims["sub"])
    except (TypeError, ValueError):
        raise NotAuthenticated("core.error.not_authenticated") from None
    current = (now or wall_now()).timestamp()
    if current >= exp:
        raise NotAuthenticated("core.error.token_expired")
    if iat > current + _CLOCK_SKEW.total_seconds():
        raise NotAuthenticated("core.error.not_authenticated")
    return Principal(
        username=username,
        user_id=uid,
        roles=roles,
        jurisdiction_ids=jur,
        all_jurisdictions=bool(claims.get("jall", False)),
        language=str(claims.get("lang") or "zh-CN"),
    )

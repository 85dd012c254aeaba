"""FastAPI dependencies of access control: who is calling, may they, and where.

Routes declare what they need with :func:`require`::

    @router.get("/incidents")
    def list_incidents(db: DbSession, who: Annotated[Principal, require("incidents.read")]):
        stmt = scope_to_jurisdictions(select(Incident), Incident.jurisdiction_id, who)

The caller is identified by ``Authorization: Bearer <access token>`` (users) or
``X-API-Key: <prefix>.<secret>`` (partner systems). No credentials, bad or expired
ones, a deactivated user or a revoked key get 401; valid credentials without the
permission get 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, params
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select, or_
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from pingan.core.auth.models import User
from pingan.core.auth.permissions import Principal, roles_for
from pingan.core.auth.service import authenticate_api_key, principal_for_api_key
from pingan.core.auth.tokens import decode_access_token
from pingan.core.deps import DbSession, get_context
from pingan.core.errors import NotAuthenticated, PermissionDenied

__all__ = [
    "CurrentPrincipal",
    "PermissionGate",
    "Principal",
    "ensure_in_jurisdiction",
    "get_principal",
    "require",
    "scope_to_jurisdictions",
]

T = TypeVar("T", bound=tuple[Any, ...])


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AccessToken",
    description="An access token from `POST /api/auth/login`.",
)
_api_key = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="PartnerApiKey",
    description="A partner system's key, `<prefix>.<secret>`.",
)


def get_principal(
    request: Request,
    db: DbSession,
    _bearer_doc: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    _api_key_doc: Annotated[str | None, Depends(_api_key)] = None,
) -> Principal:
    """The authenticated caller of this request (401 when there is none).

    Callable directly (``get_principal(request, session)``) as well as a dependency
    (tests override it). The two security parameters only declare the schemes in
    OpenAPI (Swagger's "Authorize" button); the headers are read here.
    """
    authorization = request.headers.get("authorization")
    api_key = request.headers.get("x-api-key")
    ip = _client_ip(request)
    if authorization:
        # Any Authorization header must carry a valid bearer token; another scheme is a 401.
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated()
        principal = decode_access_token(token.strip(), get_context(request).settings)
        user = db.get(User, principal.user_id) if principal.user_id is not None else None
        if user is None or not user.active or user.username != principal.username:
            raise NotAuthenticated()
        return replace(principal, ip=ip)
    if api_key:
        key = authenticate_api_key(db=db, presented=api_key)
        if key is None:
            raise NotAuthenticated("auth.error.bad_api_key")
        return principal_for_api_key(db=db, key=key, ip=ip)
    raise NotAuthenticated()


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def _check(principal: Principal, permissions: tuple[str, ...]) -> Principal:
    for permission in permissions:
        if not principal.can(permission):
            raise PermissionDenied()
    return principal


@dataclass(frozen=True)
class PermissionGate(params.Depends):
    """A ``Depends`` marker that admits callers holding every one of ``permissions``.

    It is also callable as a dependency itself, so both ``Annotated[Principal,
    require("x")]`` and ``Annotated[Principal, Depends(require("x"))]`` work.
    """

    permissions: tuple[str, ...] = field(default=(), kw_only=True)

    def __call__(self, principal: CurrentPrincipal) -> Principal:
        """The caller, when they hold every permission of this gate."""
        return _check(principal, self.permissions)


def require(*permissions: str) -> PermissionGate:
    """A dependency giving the caller when they hold every one of ``permissions`` (else 403).

    Use as ``who: Annotated[Principal, require("x.read")]`` or in a route's
    ``dependencies=[require(...)]``. Permissions are checked against the registry at
    request time, so an unregistered one fails loudly (500) rather than quietly.
    """
    if not permissions:
        raise ValueError("permissions: name at least one")

    def dependency(principal: CurrentPrincipal) -> Principal:
        return _check(principal, permissions)

    dependency.__name__ = "require_" + "_".join(p.replace(".", "_") for p in permissions)
    return PermissionGate(dependency=dependency, permissions=permissions)


def required_roles(*permissions: str) -> frozenset[str]:
    """The roles holding every one of ``permissions``."""
    roles: frozenset[str] | None = None
    for permission in permissions:
        granted = roles_for(permission)
        roles = granted if roles is None else roles & granted
    return roles or frozenset()


def scope_to_jurisdictions(
    stmt: Select[T],
    column: InstrumentedAttribute[int] | InstrumentedAttribute[int | None] | ColumnElement[Any],
    principal: Principal,
    *,
    include_unassigned: bool = False,
) -> Select[T]:
    """``stmt`` limited to rows whose ``column`` is in the caller's jurisdictions.

    Administrators (``all_jurisdictions``) see every row. ``include_unassigned`` also
    lets everyone see rows whose jurisdiction is NULL (city-wide records).
    """
    if principal.all_jurisdictions:
        return stmt
    condition: ColumnElement[bool] = column.in_(sorted(principal.jurisdiction_ids))
    if include_unassigned:
        condition = or_(condition, column.is_(None))
    return stmt.where(condition)


def ensure_in_jurisdiction(principal: Principal, jurisdiction_id: int | None) -> None:
    """Raise 403 (``core.error.out_of_jurisdiction``) unless ``principal`` sees it."""
    if not principal.sees(jurisdiction_id):
        raise PermissionDenied("core.error.out_of_jurisdiction")

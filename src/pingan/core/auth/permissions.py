"""Who may do what: the permission registry and the :class:`Principal` of a request.

Each module declares ``{permission: roles}`` (``Module.permissions``); the app merges
them here at start-up with :func:`register_permissions`. Routes then ask for a
permission by name (``require("users.manage")``), never for a role, so which roles get
a power is decided in one table per module.

Asking about a permission nobody registered is a programming error
(:class:`UnknownPermission`), not a silent "no": a typo must not lock everyone out
quietly, nor let anyone in.

:class:`Principal` lives here rather than in :mod:`pingan.core.auth.deps` so that the
token codec, the service layer and the audit trail can use it without importing
FastAPI's dependency machinery (``deps`` re-exports it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pingan.core.auth.roles import ADMIN, ALL_ROLES

_registry: dict[str, frozenset[str]] = {}


class UnknownPermission(LookupError):
    """A permission that no module registered (a programming error)."""


def register_permissions(mapping: Mapping[str, Iterable[str]]) -> None:
    """Merge ``mapping`` (permission -> roles granted it) into the registry."""
    for permission, roles in mapping.items():
        granted = frozenset(roles)
        unknown = granted - ALL_ROLES
        if unknown:
            raise ValueError(f"{permission}: unknown roles {sorted(unknown)}")
        _registry[permission] = _registry.get(permission, frozenset()) | granted


def roles_for(permission: str) -> frozenset[str]:
    """The roles granted ``permission``."""
    try:
        return _registry[permission]
    except KeyError:
        raise UnknownPermission(permission) from None


def is_registered(permission: str) -> bool:
    """Whether some module registered ``permission``."""
    return permission in _registry


def registered_permissions() -> dict[str, frozenset[str]]:
    """A copy of the whole registry (for docs and tests)."""
    return dict(_registry)


def has_permission(roles: Iterable[str], permission: str) -> bool:
    """Whether any of ``roles`` is granted ``permission``."""
    return bool(roles_for(permission) & frozenset(roles))


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user or a partner system's API key.

    ``jurisdiction_ids`` holds the assigned jurisdictions *expanded to every
    descendant* (a district's user also holds its stations). ``all_jurisdictions`` is
    true for administrators only: they see every row, including rows of jurisdictions
    created after they signed in and rows with no jurisdiction. Everyone else — a
    commander assigned to the city included — sees exactly the expanded set, so a
    deployment with several cities keeps them apart. A user with no assignment sees no
    jurisdiction-scoped rows at all (fail closed).

    ``scopes``, when set (API keys created with scopes), further limits the key to
    those permissions whatever its roles grant.
    """

    username: str
    roles: frozenset[str]
    user_id: int | None = None
    api_key_id: int | None = None
    jurisdiction_ids: frozenset[int] = field(default_factory=frozenset)
    all_jurisdictions: bool = False
    scopes: frozenset[str] | None = None
    language: str = "zh-CN"
    ip: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Principal:
        """The platform itself or an operator at the console (``pingan`` CLI)."""
        return cls(username=name, roles=frozenset({ADMIN}), all_jurisdictions=True)

    def can(self, permission: str) -> bool:
        """Whether this caller holds ``permission``."""
        if self.scopes is not None and permission not in self.scopes:
            # Still raise for unknown permissions, so scopes cannot hide a typo.
            roles_for(permission)
            return False
        return has_permission(self.roles, permission)

    def sees(self, jurisdiction_id: int | None) -> bool:
        """Whether a row of ``jurisdiction_id`` (None: city-wide) is within reach."""
        if self.all_jurisdictions:
            return True
        return jurisdiction_id is not None and jurisdiction_id in self.jurisdiction_ids


def actor_name(actor: Principal | str) -> str:
    """The name a row records for whoever acted: a principal's username, or the given name
    of the platform or a console operator (``"sim"``, ``"system"``)."""
    return actor.username if isinstance(actor, Principal) else str(actor)

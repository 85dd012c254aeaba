"""Domain errors that the web layer maps to HTTP statuses with translated messages.

Service functions raise these; routes do not catch them one by one. Each carries a
catalogue key and parameters so the message reaches the caller in their language,
and the field it concerns when there is one.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PinganError(Exception):
    """Base of every error a user may see."""

    status_code: ClassVar[int] = 400
    default_key: ClassVar[str] = "core.error.bad_request"

    def __init__(
        self,
        key: str | None = None,
        *,
        field: str | None = None,
        **params: Any,
    ) -> None:
        self.key = key or self.default_key
        self.field = field
        self.params = params
        super().__init__(self.key if not field else f"{field}: {self.key}")

    def message(self, lang: str | None = None) -> str:
        """The error's message in ``lang``."""
        from pingan.core.i18n import translate

        return translate(self.key, lang, field=self.field or "", **self.params)


class ValidationFailed(PinganError):
    """Input that breaks a rule (422)."""

    status_code = 422
    default_key = "core.error.invalid"


class NotFound(PinganError):
    """A thing that does not exist, or that the caller may not see (404)."""

    status_code = 404
    default_key = "core.error.not_found"


class Conflict(PinganError):
    """A change that clashes with the current state (409)."""

    status_code = 409
    default_key = "core.error.conflict"


class NotAuthenticated(PinganError):
    """No valid credentials (401)."""

    status_code = 401
    default_key = "core.error.not_authenticated"


class PermissionDenied(PinganError):
    """Valid credentials without the role or jurisdiction for this (403)."""

    status_code = 403
    default_key = "core.error.forbidden"

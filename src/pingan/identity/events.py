"""Events of the digital ID desk: past-tense facts, without personal data or claim values."""

from __future__ import annotations

from typing import ClassVar

from pingan.core.events import Event


class CredentialIssued(Event):
    """The bureau issued a resident credential (no name, no ID number)."""

    subject: ClassVar[str] = "identity.credential.issued"

    credential_id: int
    kid: str
    status_list_id: int
    jurisdiction_id: int | None = None


class CredentialStatusChanged(Event):
    """A credential was revoked, suspended or reinstated (the status list changed)."""

    subject: ClassVar[str] = "identity.credential.status_changed"

    credential_id: int
    from_status: str
    to_status: str
    status_list_id: int


class IssuerKeyRotated(Event):
    """A new issuer key became active; the previous one stays published until it expires."""

    subject: ClassVar[str] = "identity.key.rotated"

    kid: str
    retired_kid: str | None = None


class RelyingPartyRegistered(Event):
    """An enterprise was registered as a relying party with its scenarios."""

    subject: ClassVar[str] = "identity.relying_party.registered"

    id: int
    code: str
    scenarios: list[str]


class PresentationVerified(Event):
    """A presentation was checked for a relying party: the verdict, never the claim values."""

    subject: ClassVar[str] = "identity.presentation.verified"

    request_ref: str
    scenario_id: str
    relying_party_id: int
    accepted: bool
    reason: str


class KioskRegistered(Event):
    """A self-service issuance kiosk was registered in a district (its key made with it)."""

    subject: ClassVar[str] = "identity.kiosk.registered"

    id: int
    code: str
    jurisdiction_id: int


class IdentityChecked(Event):
    """A person was checked before self-service issuance (window or kiosk): passed or refused."""

    subject: ClassVar[str] = "identity.issuance.checked"

    check_id: int
    channel: str
    kiosk_id: int | None = None
    passed: bool
    reason: str
    jurisdiction_id: int | None = None

"""Pydantic models of the public-warning API (CAP 1.2 alerts out)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from pingan.core.privacy import PersonName

AlertKind = Literal["missing_person", "dangerous_person", "public_safety"]
AlertStatus = Literal["draft", "issued", "updated", "cancelled"]
CapStatus = Literal["Actual", "Exercise", "Test"]
Category = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
    "Infra", "CBRNE", "Other",
]  # fmt: skip
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class LangText(BaseModel):
    """One text in both languages of the platform (each non-empty after stripping)."""

    zh: str = Field(min_length=1, max_length=2000, alias="zh-CN")
    en: str = Field(min_length=1, max_length=2000)

    model_config = ConfigDict(populate_by_name=True, str_strip_whitespace=True)


class CircleIn(BaseModel):
    """A circle: centre (WGS 84) and radius in kilometres."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: float = Field(gt=0, le=100)


class AreaIn(BaseModel):
    """Where the warning applies: a description and a circle and/or a polygon.

    ``polygon`` is a list of ``[lat, lon]`` points (CAP's order); it is closed for
    you when the last point differs from the first.
    """

    description: str = Field(min_length=1, max_length=300)
    circle: CircleIn | None = None
    polygon: list[tuple[float, float]] | None = Field(default=None, min_length=3, max_length=500)

    model_config = ConfigDict(str_strip_whitespace=True)


class MissingPerson(BaseModel):
    """The missing-person template (寻人). ``name`` is personal data: masked in lists.

    The public broadcast states what the public needs to recognise the person —
    name, age, appearance and clothing, where and when last seen — because that is
    the purpose of the broadcast. The photo is referenced by its SHA-256 only.
    """

    name: PersonName
    age: int = Field(ge=0, le=130)
    appearance: str = Field(min_length=1, max_length=500, description="Clothing and features")
    last_seen_place: str = Field(min_length=1, max_length=300)
    last_seen_at: AwareDatetime
    photo_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    model_config = ConfigDict(str_strip_whitespace=True)


class AlertCreate(BaseModel):
    """A draft warning. A missing-person alert gets its headline and description from
    the template (``person``); other kinds need ``headline`` and ``description``."""

    city_id: int = Field(ge=1, le=2**31 - 1)
    kind: AlertKind
    incident_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    cap_status: CapStatus = "Actual"
    category: Category | None = None
    urgency: Urgency = "Immediate"
    severity: Severity = "Moderate"
    certainty: Certainty = "Observed"
    headline: LangText | None = None
    description: LangText | None = None
    instruction: LangText | None = None
    contact: str = Field(min_length=1, max_length=100, description="The station's number")
    web: str | None = Field(default=None, max_length=300, pattern=r"^https?://\S+$")
    area: AreaIn
    person: MissingPerson | None = None
    effective_at: AwareDatetime | None = None
    expires_at: AwareDatetime

    @field_validator("contact")
    @classmethod
    def _contact(cls, value: str) -> str:
        stripped = _stripped(value) or ""
        if not stripped:
            raise ValueError("contact must not be blank")
        return stripped


class AlertUpdate(BaseModel):
    """Changes to a warning; an issued one is re-broadcast as a CAP Update."""

    headline: LangText | None = None
    description: LangText | None = None
    instruction: LangText | None = None
    urgency: Urgency | None = None
    severity: Severity | None = None
    certainty: Certainty | None = None
    contact: str | None = Field(default=None, min_length=1, max_length=100)
    area: AreaIn | None = None
    person: MissingPerson | None = None
    expires_at: AwareDatetime | None = None


class AlertCancel(BaseModel):
    """Why a warning is withdrawn (e.g. the person was found)."""

    reason: LangText


class AlertRead(BaseModel):
    """A warning as the staff API shows it (the person's name masked unless revealed)."""

    id: int
    city_id: int
    jurisdiction_id: int | None
    incident_id: int | None
    identifier: str
    kind: AlertKind
    status: AlertStatus
    cap_status: CapStatus
    msg_type: str
    category: str
    urgency: str
    severity: str
    certainty: str
    headline: dict[str, str]
    description: dict[str, str]
    instruction: dict[str, str]
    contact: str
    web: str | None
    area: AreaIn
    person: MissingPerson | None
    effective_at: datetime | None
    sent_at: datetime | None
    expires_at: datetime
    created_at: datetime
    created_by: str
    issued_by: str | None
    references: list[str]

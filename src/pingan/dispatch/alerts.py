"""Public warnings (公共预警) out as OASIS CAP 1.2: draft, issue, update, cancel, feed.

Keyword-only service functions over the caller's session; nothing here commits.
Every write appends an audit record and, when something is broadcast, an outbox
event (:class:`AlertIssued`, :class:`AlertCancelled`) in the same transaction.

- A **draft** is written by a dispatcher or a commander; only a commander
  **issues** it (a public broadcast needs a commander). Issuing sends a CAP
  ``Alert``; changing an issued warning sends an ``Update`` and cancelling it a
  ``Cancel``, each a new message (new identifier) whose ``references`` name every
  earlier one as ``sender,identifier,sent``.
- Each message has one ``<info>`` per language (zh-CN and en) and one ``<area>``
  (circle and/or polygon, CAP's ``lat,lon`` order) that must lie inside the city.
- **Missing persons** (寻人): the headline and description are generated from the
  template. The broadcast deliberately includes what the public needs to recognise
  the person — name, age, appearance, where and when last seen — since that is its
  purpose; the staff API masks the name in lists and reveals it (audited) only to
  the roles that run the broadcast. Once issued, the CAP document is public.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, Final
from xml.sax.saxutils import escape

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pingan.city.models import City
from pingan.city.service import get_city
from pingan.core import audit, clock
from pingan.core.auth.deps import scope_to_jurisdictions
from pingan.core.auth.permissions import Principal
from pingan.core.errors import Conflict, NotFound, ValidationFailed
from pingan.core.outbox import record
from pingan.core.privacy import mask_name
from pingan.dispatch import cap
from pingan.dispatch.alert_schemas import (
    AlertCancel,
    AlertCreate,
    AlertRead,
    AlertUpdate,
    AreaIn,
    LangText,
    MissingPerson,
)
from pingan.dispatch.events import AlertCancelled, AlertIssued
from pingan.dispatch.models import Alert, Incident

LANGUAGES: Final = ("zh-CN", "en")
DEFAULT_CATEGORY: Final = {
    "missing_person": "Rescue",
    "dangerous_person": "Security",
    "public_safety": "Safety",
}
EVENT_NAMES: Final = {
    "missing_person": {"zh-CN": "寻人", "en": "Missing person"},
    "dangerous_person": {"zh-CN": "危险人员预警", "en": "Dangerous person"},
    "public_safety": {"zh-CN": "公共安全预警", "en": "Public safety warning"},
}
SENDER_NAME: Final = {"zh-CN": "{city}公安局指挥中心", "en": "{city} Police Command Centre"}
BROADCAST: Final = ("issued", "updated")


def sender_of(city: City) -> str:
    """The CAP sender of a city's command centre (no spaces or commas)."""
    slug = re.sub(r"[^0-9A-Za-z.-]+", "-", city.name).strip("-").lower() or f"city{city.id}"
    return f"command-centre@{slug}.pingan"


# ---------------------------------------------------------------------------- texts


def _lang(text: LangText | None) -> dict[str, str]:
    return {} if text is None else {"zh-CN": text.zh, "en": text.en}


def _person_texts(person: dict[str, Any], *, reveal: bool) -> dict[str, dict[str, str]]:
    """Headline and description of a missing-person alert (name masked unless ``reveal``)."""
    name = person["name"] if reveal else mask_name(person["name"])
    seen = datetime.fromisoformat(person["last_seen_at"]).astimezone(cap.CHINA_TZ)
    when = seen.strftime("%Y-%m-%d %H:%M")
    return {
        "headline": {
            "zh-CN": f"寻人：{name}，{person['age']}岁，{when}在{person['last_seen_place']}走失",
            "en": f"Missing: {name}, {person['age']}, last seen {when} at "
            f"{person['last_seen_place']}",
        },
        "description": {
            "zh-CN": f"{name}，{person['age']}岁。体貌衣着：{person['appearance']}。"
            f"最后出现：{when}，{person['last_seen_place']}。",
            "en": f"{name}, aged {person['age']}. Appearance and clothing: "
            f"{person['appearance']}. Last seen {when} (China time) at "
            f"{person['last_seen_place']}.",
        },
    }


def texts_of(alert: Alert, *, reveal: bool) -> dict[str, dict[str, str]]:
    """Headline, description and instruction per language, as the alert would say them."""
    texts: dict[str, dict[str, str]] = {
        key: dict(alert.texts.get(key) or {}) for key in ("headline", "description", "instruction")
    }
    if alert.person is not None:
        generated = _person_texts(alert.person, reveal=reveal)
        texts["headline"] = generated["headline"]
        extra = texts["description"]
        texts["description"] = {
            lang: (generated["description"][lang] + (" " + extra[lang] if extra.get(lang) else ""))
            for lang in LANGUAGES
        }
    return texts


# ---------------------------------------------------------------------------- validation


def _inside(city: City, lat: float, lon: float) -> bool:
    min_lon, min_lat, max_lon, max_lat = city.bbox
    return bool(min_lon <= lon <= max_lon and min_lat <= lat <= max_lat)


def _area(city: City, area: AreaIn) -> dict[str, Any]:
    if area.circle is None and not area.polygon:
        raise ValidationFailed("dispatch.alerts.error.area_shape", field="area")
    points: list[tuple[float, float]] = []
    if area.circle is not None:
        points.append((area.circle.lat, area.circle.lon))
    ring = list(area.polygon or [])
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    if ring and len(ring) < 4:
        raise ValidationFailed("dispatch.alerts.error.polygon", field="area.polygon")
    points.extend(ring)
    for lat, lon in points:
        if not _inside(city, lat, lon):
            raise ValidationFailed(
                "dispatch.alerts.error.outside_city", field="area", lat=lat, lon=lon, city=city.name
            )
    return {
        "description": area.description,
        "circle": area.circle.model_dump() if area.circle is not None else None,
        "polygon": [list(p) for p in ring] if ring else None,
    }


def _check_expiry(expires_at: datetime, effective_at: datetime | None) -> None:
    now = clock.now()
    if expires_at <= now:
        raise ValidationFailed("dispatch.alerts.error.expired", field="expires_at")
    if effective_at is not None and expires_at <= effective_at:
        raise ValidationFailed("dispatch.alerts.error.expires_before", field="expires_at")


def _person(person: MissingPerson) -> dict[str, Any]:
    return person.model_dump(mode="python") | {"last_seen_at": person.last_seen_at.isoformat()}


# ---------------------------------------------------------------------------- writes


def create_alert(*, db: Session, alert_in: AlertCreate, actor: Principal) -> Alert:
    """A draft warning (validated: area in the city, incident visible, expiry in the future)."""
    city = get_city(session=db, city_id=alert_in.city_id)
    jurisdiction_id = city.jurisdiction_id
    if alert_in.incident_id is not None:
        incident = db.get(Incident, alert_in.incident_id)
        if (
            incident is None
            or incident.city_id != city.id
            or not actor.sees(incident.jurisdiction_id)
        ):
            raise NotFound(
                "dispatch.error.incident_not_found",
                field="incident_id",
                incident=alert_in.incident_id,
            )
        jurisdiction_id = incident.jurisdiction_id
    elif not actor.sees(city.jurisdiction_id):
        raise NotFound("dispatch.alerts.error.city_not_found", field="city_id", city=city.id)
    if alert_in.kind == "missing_person":
        if alert_in.person is None:
            raise ValidationFailed("dispatch.alerts.error.person_required", field="person")
    else:
        if alert_in.person is not None:
            raise ValidationFailed("dispatch.alerts.error.person_only_missing", field="person")
        if alert_in.headline is None:
            raise ValidationFailed("dispatch.alerts.error.headline_required", field="headline")
        if alert_in.description is None:
            raise ValidationFailed(
                "dispatch.alerts.error.description_required", field="description"
            )
    area = _area(city, alert_in.area)
    _check_expiry(alert_in.expires_at, alert_in.effective_at)
    alert = Alert(
        city_id=city.id,
        jurisdiction_id=jurisdiction_id,
        incident_id=alert_in.incident_id,
        identifier=f"PINGAN-{city.id}-{uuid.uuid4().hex[:16]}",
        kind=alert_in.kind,
        status="draft",
        cap_status=alert_in.cap_status,
        msg_type="Alert",
        category=alert_in.category or DEFAULT_CATEGORY[alert_in.kind],
        urgency=alert_in.urgency,
        severity=alert_in.severity,
        certainty=alert_in.certainty,
        texts={
            "headline": _lang(alert_in.headline),
            "description": _lang(alert_in.description),
            "instruction": _lang(alert_in.instruction),
        },
        contact=alert_in.contact,
        web=alert_in.web,
        area=area,
        person=_person(alert_in.person) if alert_in.person is not None else None,
        effective_at=alert_in.effective_at,
        sent_at=None,
        expires_at=alert_in.expires_at.astimezone(UTC),
        created_at=clock.now(),
        created_by=actor.username,
        issued_by=None,
        references=[],
        cap_xml=None,
    )
    db.add(alert)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=audit.CREATE,
        entity="dispatch_alert",
        entity_id=alert.id,
        detail={"kind": alert.kind, "city_id": city.id, "incident_id": alert.incident_id},
    )
    return alert


def get_alert(*, db: Session, alert_id: int, principal: Principal | None = None) -> Alert:
    """A warning by id (NotFound when there is none or the caller may not see it)."""
    alert = db.get(Alert, alert_id)
    if alert is None or (principal is not None and not principal.sees(alert.jurisdiction_id)):
        raise NotFound("dispatch.alerts.error.not_found", field="alert_id", alert=alert_id)
    return alert


def list_alerts(
    *, db: Session, principal: Principal, status: str | None = None, limit: int = 100
) -> list[Alert]:
    """The warnings the caller may see, newest first."""
    base: Select[Any] = select(Alert)
    stmt = scope_to_jurisdictions(base, Alert.jurisdiction_id, principal)
    if status is not None:
        stmt = stmt.where(Alert.status == status)
    return list(db.scalars(stmt.order_by(Alert.id.desc()).limit(limit)))


def _broadcast(db: Session, alert: Alert, msg_type: str, actor: Principal) -> None:
    """Send the alert as a new CAP message of ``msg_type`` (new identifier, references)."""
    city = get_city(session=db, city_id=alert.city_id)
    now = clock.now()
    if alert.sent_at is not None:
        # An Update or Cancel: a new message naming every earlier one.
        alert.references = [
            *alert.references,
            cap.reference(sender_of(city), alert.identifier, alert.sent_at),
        ]
        suffix = "C" if msg_type == "Cancel" else f"U{len(alert.references)}"
        base = alert.identifier.split("~", 1)[0]
        alert.identifier = f"{base}~{suffix}"
    alert.msg_type = msg_type
    alert.sent_at = now
    alert.issued_by = actor.username
    document = build_cap(db=db, alert=alert, reveal=True)
    problems = cap.validate_alert(document)
    if problems:  # a bug, never the caller's input: refuse to broadcast an invalid document
        raise ValidationFailed(
            "dispatch.alerts.error.invalid_cap", field=problems[0].element, reason=problems[0]
        )
    alert.cap_xml = document


def issue_alert(*, db: Session, alert_id: int, actor: Principal) -> Alert:
    """Broadcast a draft as a CAP ``Alert`` (409 when it was already issued)."""
    alert = get_alert(db=db, alert_id=alert_id, principal=actor)
    if alert.status != "draft":
        raise Conflict(
            "dispatch.alerts.error.not_draft", field="status", alert=alert.id, status=alert.status
        )
    _check_expiry(alert.expires_at, alert.effective_at)
    _broadcast(db, alert, "Alert", actor)
    alert.status = "issued"
    db.flush()
    _written(db, alert, actor, "issue")
    record(
        db,
        AlertIssued(
            id=alert.id,
            identifier=alert.identifier,
            kind=alert.kind,
            msg_type=alert.msg_type,
            city_id=alert.city_id,
        ),
    )
    return alert


def update_alert(*, db: Session, alert_id: int, update_in: AlertUpdate, actor: Principal) -> Alert:
    """Change a warning: a draft in place, an issued one re-broadcast as a CAP ``Update``."""
    alert = get_alert(db=db, alert_id=alert_id, principal=actor)
    if alert.status == "cancelled":
        raise Conflict("dispatch.alerts.error.cancelled", field="status", alert=alert.id)
    changes = update_in.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        raise ValidationFailed("dispatch.alerts.error.no_changes", field="body")
    if update_in.person is not None and alert.kind != "missing_person":
        raise ValidationFailed("dispatch.alerts.error.person_only_missing", field="person")
    if update_in.area is not None:
        city = get_city(session=db, city_id=alert.city_id)
        alert.area = _area(city, update_in.area)
    if update_in.expires_at is not None:
        _check_expiry(update_in.expires_at, alert.effective_at)
        alert.expires_at = update_in.expires_at.astimezone(UTC)
    texts = {k: dict(v) for k, v in alert.texts.items()}
    for key in ("headline", "description", "instruction"):
        value = getattr(update_in, key)
        if value is not None:
            texts[key] = _lang(value)
    alert.texts = texts
    for key in ("urgency", "severity", "certainty", "contact"):
        value = getattr(update_in, key)
        if value is not None:
            setattr(alert, key, value)
    if update_in.person is not None:
        alert.person = _person(update_in.person)
    if alert.status in BROADCAST:
        _broadcast(db, alert, "Update", actor)
        alert.status = "updated"
    db.flush()
    _written(db, alert, actor, "update", fields=sorted(changes))
    if alert.status == "updated":
        record(
            db,
            AlertIssued(
                id=alert.id,
                identifier=alert.identifier,
                kind=alert.kind,
                msg_type=alert.msg_type,
                city_id=alert.city_id,
            ),
        )
    return alert


def cancel_alert(*, db: Session, alert_id: int, cancel_in: AlertCancel, actor: Principal) -> Alert:
    """Withdraw an issued warning with a CAP ``Cancel`` referencing the earlier messages."""
    alert = get_alert(db=db, alert_id=alert_id, principal=actor)
    if alert.status not in BROADCAST:
        raise Conflict(
            "dispatch.alerts.error.not_broadcast",
            field="status",
            alert=alert.id,
            status=alert.status,
        )
    texts = {k: dict(v) for k, v in alert.texts.items()}
    texts["note"] = _lang(cancel_in.reason)
    alert.texts = texts
    _broadcast(db, alert, "Cancel", actor)
    alert.status = "cancelled"
    db.flush()
    _written(db, alert, actor, "cancel")
    record(
        db,
        AlertCancelled(
            id=alert.id, identifier=alert.identifier, kind=alert.kind, city_id=alert.city_id
        ),
    )
    return alert


def _written(
    db: Session, alert: Alert, actor: Principal, step: str, fields: list[str] | None = None
) -> None:
    detail: dict[str, Any] = {
        "step": step,
        "status": alert.status,
        "identifier": alert.identifier,
        "msg_type": alert.msg_type,
    }
    if fields:
        detail["fields"] = fields
    audit.record(
        db,
        actor=actor,
        action=audit.UPDATE,
        entity="dispatch_alert",
        entity_id=alert.id,
        detail=detail,
    )


# ---------------------------------------------------------------------------- reading


def alert_read(alert: Alert, *, reveal: bool) -> AlertRead:
    """The warning as the staff API shows it (JSON dumps mask the name unless revealed)."""
    texts = texts_of(alert, reveal=True)
    area = alert.area
    return AlertRead(
        id=alert.id,
        city_id=alert.city_id,
        jurisdiction_id=alert.jurisdiction_id,
        incident_id=alert.incident_id,
        identifier=alert.identifier,
        kind=alert.kind,
        status=alert.status,
        cap_status=alert.cap_status,
        msg_type=alert.msg_type,
        category=alert.category,
        urgency=alert.urgency,
        severity=alert.severity,
        certainty=alert.certainty,
        headline=texts_of(alert, reveal=reveal)["headline"],
        description=texts_of(alert, reveal=reveal)["description"],
        instruction=texts["instruction"],
        contact=alert.contact,
        web=alert.web,
        area=AreaIn(
            description=area["description"],
            circle=area.get("circle"),
            polygon=[tuple(p) for p in area["polygon"]] if area.get("polygon") else None,
        ),
        person=MissingPerson.model_validate(alert.person) if alert.person is not None else None,
        effective_at=alert.effective_at,
        sent_at=alert.sent_at,
        expires_at=alert.expires_at,
        created_at=alert.created_at,
        created_by=alert.created_by,
        issued_by=alert.issued_by,
        references=list(alert.references),
    )


def build_cap(*, db: Session, alert: Alert, reveal: bool) -> str:
    """The alert as a CAP 1.2 document now (a draft's preview masks the name unless ``reveal``)."""
    city = get_city(session=db, city_id=alert.city_id)
    texts = texts_of(alert, reveal=reveal)
    area = alert.area
    circle = area.get("circle")
    shape = cap.Area(
        area_desc=area["description"],
        polygons=(tuple((p[0], p[1]) for p in area["polygon"]),) if area.get("polygon") else (),
        circles=(cap.Circle(circle["lat"], circle["lon"], circle["radius_km"]),) if circle else (),
    )
    parameters: list[tuple[str, str]] = [("pingan:kind", alert.kind)]
    if alert.person is not None and alert.person.get("photo_sha256"):
        parameters.append(("pingan:photo_sha256", alert.person["photo_sha256"]))
    sent = alert.sent_at or clock.now()
    note = " / ".join((alert.texts.get("note") or {}).values()) or None
    infos = tuple(
        cap.Info(
            language=lang,
            categories=(alert.category,),
            event=EVENT_NAMES[alert.kind][lang],
            urgency=alert.urgency,
            severity=alert.severity,
            certainty=alert.certainty,
            effective=alert.effective_at or sent,
            expires=alert.expires_at,
            sender_name=SENDER_NAME[lang].format(city=city.name),
            headline=texts["headline"].get(lang),
            description=texts["description"].get(lang),
            instruction=texts["instruction"].get(lang) or None,
            web=alert.web,
            contact=alert.contact,
            parameters=tuple(parameters),
            areas=(shape,),
        )
        for lang in LANGUAGES
    )
    return cap.build_alert(
        cap.Alert(
            identifier=alert.identifier,
            sender=sender_of(city),
            sent=sent,
            status=alert.cap_status,
            msg_type=alert.msg_type,
            scope="Public",
            note=note,
            references=tuple(alert.references),
            infos=infos,
        )
    )


def public_feed(*, db: Session) -> str:
    """An Atom feed of the warnings in force: issued or updated, not expired.

    Each entry carries the last broadcast CAP document; cancelled, expired and draft
    warnings never appear.
    """
    now = clock.now()
    rows = db.scalars(
        select(Alert)
        .where(Alert.status.in_(BROADCAST), Alert.expires_at > now)
        .order_by(Alert.sent_at.desc(), Alert.id.desc())
    )
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        "<id>urn:pingan:public-alerts</id>",
        "<title>Pingan public alerts</title>",
        f"<updated>{cap.cap_datetime(now)}</updated>",
    ]
    for alert in rows:
        if alert.cap_xml is None or alert.sent_at is None:
            continue
        parsed = cap.parse_alert(alert.cap_xml)
        body = alert.cap_xml.split("?>", 1)[1].strip()
        parts += [
            "<entry>",
            f"<id>urn:cap:{escape(alert.identifier)}</id>",
            f"<title>{escape(parsed.infos[0].headline or '')}</title>",
            f"<updated>{cap.cap_datetime(alert.sent_at)}</updated>",
            f'<content type="{cap.MEDIA_TYPE}">{body}</content>',
            "</entry>",
        ]
    parts.append("</feed>")
    return "\n".join(parts) + "\n"

"""Subscribers of the dispatch desk to other desks' events.

The anti-fraud desk asks for an in-person dissuasion visit (``antifraud.visit.requested``)
when a potential victim cannot be reached or is still at risk; the dispatch desk turns it
into an incident of type ``fraud`` with a community-police run card, so a patrol unit is
recommended and the visit runs through the usual dispatch, status and statistics. The
event carries the place and the urgency, never the person's number: the officer gets the
warning id and reads the rest on the anti-fraud desk with their own rights.

Handlers run inside the consumer's transaction (:func:`pingan.core.outbox.idempotent_handler`)
and never commit; a redelivered event finds its processed mark and does nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final, Literal

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from pingan.city.models import District
from pingan.core.auth.models import Jurisdiction
from pingan.core.errors import PinganError
from pingan.core.events import Event
from pingan.core.module import Context
from pingan.dispatch import service
from pingan.dispatch.schemas import CallCreate, IncidentClassify

log = logging.getLogger(__name__)

VISIT_SUBJECT: Final = "antifraud.visit.requested"
ACTOR: Final = "antifraud-desk"
VISIT_PRIORITY: Final[dict[str, Literal["P1", "P2", "P3", "P4"]]] = {
    "immediate": "P1",
    "urgent": "P2",
}
"""Visit urgency → task priority; a "normal" visit keeps the fraud type's own priority."""


def _place(db: Session, payload: dict[str, Any]) -> tuple[float, float] | None:
    """Where to go: the person's coordinates, else a point inside their district."""
    lon, lat = payload.get("lon"), payload.get("lat")
    if isinstance(lon, int | float) and isinstance(lat, int | float):
        return float(lon), float(lat)
    code = payload.get("jurisdiction")
    if not code:
        return None
    district = db.scalars(
        select(District)
        .join(Jurisdiction, Jurisdiction.id == District.jurisdiction_id)
        .where(Jurisdiction.code == code)
    ).first()
    if district is None:
        return None
    point = shape(json.loads(district.geometry)).representative_point()
    return float(point.x), float(point.y)


def on_fraud_visit(db: Session, event: Event, ctx: Context) -> None:
    """An anti-fraud visit request becomes a dispatch incident (反诈上门劝阻)."""
    payload = event.model_dump(mode="json")
    place = _place(db, payload)
    warning = payload.get("warning_id")
    if place is None:
        log.warning("fraud visit for warning %s has no place; not turned into a task", warning)
        return
    text = (
        f"反诈上门劝阻：预警 {warning}（{payload.get('level', '')}，"
        f"{payload.get('typology', '')}）{payload.get('note') or ''}"
    ).strip()
    try:
        incident = service.report_call(
            db=db,
            settings=ctx.settings,
            call_in=CallCreate(text=text[:2000], lon=place[0], lat=place[1], source="api"),
            actor=ACTOR,
        )
        priority = VISIT_PRIORITY.get(str(payload.get("urgency", "")).lower())
        if incident.call_type != "fraud" or (priority and incident.priority != priority):
            service.classify_incident(
                db=db,
                settings=ctx.settings,
                incident_id=incident.id,
                classify_in=IncidentClassify(
                    call_type="fraud",
                    priority=priority,
                    reason=f"anti-fraud warning {warning}: in-person dissuasion",
                ),
                actor=ACTOR,
            )
    except PinganError as exc:  # outside every city, off the network: said, not retried
        log.warning("fraud visit for warning %s not turned into a task: %s", warning, exc)

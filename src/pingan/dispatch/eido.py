"""NENA EIDO JSON (NENA-STA-021, Emergency Incident Data Object) import and export.

:func:`parse_eido` extracts what the dispatch desk needs — incident id, type and priority,
calls and their times, locations (``$ref`` resolved to ``locationComponent`` entries, with
coordinates from PIDF-LO ``gml:pos`` / ``geo:`` URIs and the civic address as text), persons
and callbacks (as references), and notes — and raises :class:`EidoError` naming the field for
malformed input, so nothing is half-imported. :func:`export_eido` writes an incident back as
a document that validates against the EIDO schema (``openapi.yaml``). Pure: no DB, no HTTP.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, cast
from xml.sax.saxutils import escape

from pingan.core.errors import ValidationFailed

EIDO_VERSION: Final = "1.0"
DIRECTIONS: Final = ("incoming", "outgoing", "internal")
_CIVIC_ORDER: Final = ("country", "A1", "A2", "A3", "A4", "A5", "A6", "PRD", "RD", "STS", "POD")
_CIVIC_TAIL: Final = ("HNO", "HNS", "LMK", "LOC", "NAM", "PC", "BLD", "UNIT", "FLR", "ROOM")
_GEO_URI = re.compile(r"geo:\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)")


class EidoError(ValidationFailed):
    """A malformed EIDO document; ``field`` is the JSON path of the problem."""

    def __init__(self, *, field: str, reason: str) -> None:
        super().__init__("core.validation.value_error", field=field, reason=reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


@dataclass(frozen=True, slots=True)
class EidoLocation:
    """A location component: type, coordinates and/or civic address text, or a URL."""

    id: str
    kind: str
    lat: float | None = None
    lon: float | None = None
    civic_text: str | None = None
    description: str | None = None
    reference_url: str | None = None


@dataclass(frozen=True, slots=True)
class EidoCall:
    """A call component with its times and references."""

    id: str
    start: datetime
    answered: datetime | None
    direction: str
    primary_type: str
    state: str
    location_refs: tuple[str, ...] = ()
    person_refs: tuple[str, ...] = ()
    callback_ref: str | None = None


@dataclass(frozen=True, slots=True)
class EidoPerson:
    """A person component, by reference: roles and callback."""

    id: str
    roles: tuple[str, ...]
    callback_ref: str | None = None


@dataclass(frozen=True, slots=True)
class EidoCallback:
    """A callback component: how to call someone back (URIs, kept as given)."""

    id: str
    uris: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EidoIncident:
    """What dispatch takes from (and gives to) an EIDO document."""

    id: str
    updated_at: datetime
    agency_id: str
    issuing_element: str
    incident_type: str | None = None
    priority: int | None = None
    calls: tuple[EidoCall, ...] = ()
    locations: tuple[EidoLocation, ...] = ()
    persons: tuple[EidoPerson, ...] = ()
    callbacks: tuple[EidoCallback, ...] = ()
    notes: tuple[str, ...] = ()
    agent_id: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def location(self, ref: str) -> EidoLocation | None:
        """The location component a ``$ref`` points at."""
        return next((loc for loc in self.locations if loc.id == ref), None)


# ----------------------------------------------------------------------------- parse


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EidoError(field=path, reason="must be an object")
    return cast(dict[str, Any], value)


def _str(obj: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
    where = f"{path}.{key}" if path else key
    if key not in obj:
        if required:
            raise EidoError(field=where, reason="is required")
        return None
    value = obj[key]
    if not isinstance(value, str) or not value.strip():
        raise EidoError(field=where, reason="must be a non-empty string")
    return value


def _req(obj: Mapping[str, Any], key: str, path: str) -> str:
    return cast(str, _str(obj, key, path))


def _time(obj: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> datetime | None:
    text = _str(obj, key, path, required=required)
    if text is None:
        return None
    where = f"{path}.{key}" if path else key
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise EidoError(field=where, reason="must be an RFC 3339 date-time") from None
    if "T" not in text.upper() or value.tzinfo is None:
        raise EidoError(field=where, reason="must be an RFC 3339 date-time with a UTC offset")
    return value


def _ref(value: Any, path: str) -> str:
    obj = _obj(value, path)
    return _req(obj, "$ref", path)


def _refs(obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    if key not in obj:
        return ()
    value = obj[key]
    if not isinstance(value, list):
        raise EidoError(field=f"{path}.{key}", reason="must be a list")
    return tuple(_ref(v, f"{path}.{key}[{i}]") for i, v in enumerate(value))


def _list(obj: Mapping[str, Any], key: str, *, required: bool = False) -> list[Any]:
    if key not in obj:
        if required:
            raise EidoError(field=key, reason="is required")
        return []
    value = obj[key]
    if not isinstance(value, list):
        raise EidoError(field=key, reason="must be a list")
    return value


def _strings(obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EidoError(field=f"{path}.{key}", reason="must be a list of strings")
    return tuple(value)


def _coordinates(lat: float, lon: float, path: str) -> tuple[float, float]:
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise EidoError(field=path, reason=f"latitude {lat} is out of range [-90, 90]")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise EidoError(field=path, reason=f"longitude {lon} is out of range [-180, 180]")
    return lat, lon


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _pidf(xml: str, path: str) -> tuple[float | None, float | None, str | None]:
    """Coordinates and civic address text from a PIDF-LO document."""
    if "<!DOCTYPE" in xml.upper() or "<!ENTITY" in xml.upper():
        raise EidoError(field=path, reason="DTDs and entities are not accepted in PIDF-LO")
    try:
        root = ET.fromstring(xml.strip())
    except ET.ParseError as exc:
        raise EidoError(field=path, reason=f"is not well-formed XML: {exc}") from None
    lat = lon = None
    civic: dict[str, str] = {}
    for el in root.iter():
        name = _local(el.tag)
        if name == "pos" and el.text:
            parts = el.text.split()
            try:
                la, lo = float(parts[0]), float(parts[1])
            except (IndexError, ValueError):
                raise EidoError(field=path, reason="gml:pos must be 'latitude longitude'") from None
            lat, lon = _coordinates(la, lo, path)
        elif name == "civicAddress":
            for part in el:
                if part.text and part.text.strip():
                    civic[_local(part.tag)] = part.text.strip()
    text = None
    if civic:
        ordered = [civic[k] for k in (*_CIVIC_ORDER, *_CIVIC_TAIL) if k in civic]
        ordered += [v for k, v in civic.items() if k not in _CIVIC_ORDER + _CIVIC_TAIL]
        text = " ".join(ordered)
    if lat is None:
        m = _GEO_URI.search(xml)
        if m:
            lat, lon = _coordinates(float(m.group(1)), float(m.group(2)), path)
    return lat, lon, text


def _location(raw: Any, path: str) -> EidoLocation:
    obj = _obj(raw, path)
    loc_id = _req(obj, "$id", path)
    kind = _req(obj, "locationTypeDescriptionRegistryText", path)
    lat = lon = None
    civic = None
    by_value = _str(obj, "locationByValue", path, required=False)
    if by_value is not None:
        lat, lon, civic = _pidf(by_value, f"{path}.locationByValue")
    url = _str(obj, "locationByReferenceUrl", path, required=False)
    if url is not None and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:\S+$", url):
        raise EidoError(field=f"{path}.locationByReferenceUrl", reason="must be a URI")
    return EidoLocation(
        id=loc_id,
        kind=kind,
        lat=lat,
        lon=lon,
        civic_text=civic,
        description=_str(obj, "locationDescriptionText", path, required=False),
        reference_url=url,
    )


def _call(raw: Any, path: str) -> EidoCall:
    obj = _obj(raw, path)
    direction = _req(obj, "direction", path)
    if direction not in DIRECTIONS:
        raise EidoError(field=f"{path}.direction", reason=f"must be one of {', '.join(DIRECTIONS)}")
    return EidoCall(
        id=_req(obj, "$id", path),
        start=cast(datetime, _time(obj, "callStartTimestamp", path)),
        answered=_time(obj, "answerDate", path, required=False),
        direction=direction,
        primary_type=_req(obj, "standardPrimaryCallType", path),
        state=_req(obj, "callStateRegistryText", path),
        location_refs=_refs(obj, "locationReference", path),
        person_refs=_refs(obj, "personReference", path),
        callback_ref=(
            _ref(obj["callBackReference"], f"{path}.callBackReference")
            if "callBackReference" in obj
            else None
        ),
    )


def parse_eido(doc: dict[str, Any] | str | bytes) -> EidoIncident:
    """Extract an :class:`EidoIncident` from an EIDO JSON document; raise EidoError if malformed."""
    if isinstance(doc, str | bytes | bytearray):
        try:
            data: Any = json.loads(doc)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EidoError(field="document", reason=f"is not valid JSON: {exc}") from None
    else:
        data = doc
    root = _obj(data, "document")
    inc_id = _req(root, "$id", "")
    updated = cast(datetime, _time(root, "lastUpdateTimeStamp", ""))
    if "updatedByAgencyReference" not in root:
        raise EidoError(field="updatedByAgencyReference", reason="is required")
    agency = _ref(root["updatedByAgencyReference"], "updatedByAgencyReference")
    agent = (
        _ref(root["updatedByAgentReference"], "updatedByAgentReference")
        if "updatedByAgentReference" in root
        else None
    )
    version = _req(root, "eidoVersion", "")
    if version != EIDO_VERSION:
        raise EidoError(field="eidoVersion", reason=f"must be {EIDO_VERSION!r}")
    issuer = _req(root, "issuingElementIdentification", "")
    agencies = _list(root, "agencyComponent", required=True)
    for i, a in enumerate(agencies):
        _req(_obj(a, f"agencyComponent[{i}]"), "$id", f"agencyComponent[{i}]")

    incident_type = None
    priority = None
    if "incidentComponent" in root:
        inc = _obj(root["incidentComponent"], "incidentComponent")
        incident_type = _req(inc, "incidentTypeCommonRegistryText", "incidentComponent")
        if "incidentCommonPriorityNumber" in inc:
            p = inc["incidentCommonPriorityNumber"]
            if isinstance(p, bool) or not isinstance(p, int):
                raise EidoError(
                    field="incidentComponent.incidentCommonPriorityNumber",
                    reason="must be an integer",
                )
            priority = p

    locations = tuple(
        _location(raw, f"locationComponent[{i}]")
        for i, raw in enumerate(_list(root, "locationComponent"))
    )
    calls = tuple(
        _call(raw, f"callComponent[{i}]") for i, raw in enumerate(_list(root, "callComponent"))
    )
    known = {loc.id for loc in locations}
    for i, call in enumerate(calls):
        for j, ref in enumerate(call.location_refs):
            if ref not in known:
                raise EidoError(
                    field=f"callComponent[{i}].locationReference[{j}]",
                    reason=f"{ref!r} is not a locationComponent $id",
                )
    persons: list[EidoPerson] = []
    for i, raw in enumerate(_list(root, "personComponent")):
        path = f"personComponent[{i}]"
        obj = _obj(raw, path)
        if "personIncidentRoleRegistryText" not in obj:
            raise EidoError(field=f"{path}.personIncidentRoleRegistryText", reason="is required")
        persons.append(
            EidoPerson(
                id=_req(obj, "$id", path),
                roles=_strings(obj, "personIncidentRoleRegistryText", path),
                callback_ref=(
                    _ref(obj["callBackReference"], f"{path}.callBackReference")
                    if "callBackReference" in obj
                    else None
                ),
            )
        )
    callbacks: list[EidoCallback] = []
    for i, raw in enumerate(_list(root, "callbackComponent")):
        path = f"callbackComponent[{i}]"
        obj = _obj(raw, path)
        callbacks.append(
            EidoCallback(
                id=_req(obj, "$id", path), uris=_strings(obj, "callBackInformationUri", path)
            )
        )
    notes: list[str] = []
    for i, raw in enumerate(_list(root, "notesComponent")):
        path = f"notesComponent[{i}]"
        notes.append(_req(_obj(raw, path), "notesActionComments", path))
    return EidoIncident(
        id=inc_id,
        updated_at=updated,
        agency_id=agency,
        issuing_element=issuer,
        incident_type=incident_type,
        priority=priority,
        calls=calls,
        locations=locations,
        persons=tuple(persons),
        callbacks=tuple(callbacks),
        notes=tuple(notes),
        agent_id=agent,
    )


# ---------------------------------------------------------------------------- export


def _ts(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.isoformat()


def _pidf_xml(loc: EidoLocation) -> str:
    parts = [
        '<presence xmlns="urn:ietf:params:xml:ns:pidf"'
        ' xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"'
        ' xmlns:gml="http://www.opengis.net/gml" entity="pres:pingan">'
        "<gp:geopriv><gp:location-info>"
    ]
    if loc.lat is not None and loc.lon is not None:
        parts.append(
            f'<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{loc.lat} {loc.lon}</gml:pos></gml:Point>'  # noqa: E501
        )
    if loc.civic_text:
        parts.append(
            '<civicAddress xmlns="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr">'
            f"<LOC>{escape(loc.civic_text)}</LOC></civicAddress>"
        )
    parts.append("</gp:location-info></gp:geopriv></presence>")
    return "".join(parts)


def export_eido(incident: EidoIncident) -> dict[str, Any]:
    """An EIDO JSON document for ``incident`` (validates against the NENA schema)."""
    stamp = _ts(incident.updated_at)
    agency = {"$ref": incident.agency_id}

    def prologue(item_id: str) -> dict[str, Any]:
        return {"$id": item_id, "lastUpdateTimeStamp": stamp, "updatedByAgencyReference": agency}

    doc: dict[str, Any] = {
        **prologue(incident.id),
        "eidoVersion": EIDO_VERSION,
        "issuingElementIdentification": incident.issuing_element,
        "agencyComponent": [
            {
                **prologue(incident.agency_id),
                "agencyRoleDescriptionRegistryText": ["CallReceiving"],
                "agencyType": ["psap"],
            }
        ],
    }
    if incident.incident_type is not None:
        inc: dict[str, Any] = {
            **prologue(f"{incident.id}:incident"),
            "incidentTypeCommonRegistryText": incident.incident_type,
            "locationReference": [{"$ref": loc.id} for loc in incident.locations],
        }
        if incident.priority is not None:
            inc["incidentCommonPriorityNumber"] = incident.priority
        doc["incidentComponent"] = inc
    if incident.calls:
        calls = []
        for c in incident.calls:
            call: dict[str, Any] = {
                **prologue(c.id),
                "standardPrimaryCallType": c.primary_type,
                "direction": c.direction,
                "callStartTimestamp": _ts(c.start),
                "callStateRegistryText": c.state,
            }
            if c.answered is not None:
                call["answerDate"] = _ts(c.answered)
            if c.location_refs:
                call["locationReference"] = [{"$ref": r} for r in c.location_refs]
            if c.person_refs:
                call["personReference"] = [{"$ref": r} for r in c.person_refs]
            if c.callback_ref:
                call["callBackReference"] = {"$ref": c.callback_ref}
            calls.append(call)
        doc["callComponent"] = calls
    if incident.locations:
        locs = []
        for loc in incident.locations:
            item: dict[str, Any] = {
                **prologue(loc.id),
                "locationTypeDescriptionRegistryText": loc.kind,
            }
            if loc.lat is not None or loc.civic_text:
                item["locationByValue"] = _pidf_xml(loc)
            if loc.description:
                item["locationDescriptionText"] = loc.description
            if loc.reference_url:
                item["locationByReferenceUrl"] = loc.reference_url
            locs.append(item)
        doc["locationComponent"] = locs
    if incident.persons:
        doc["personComponent"] = [
            {
                **prologue(p.id),
                "personIncidentRoleRegistryText": list(p.roles),
                **({"callBackReference": {"$ref": p.callback_ref}} if p.callback_ref else {}),
            }
            for p in incident.persons
        ]
    if incident.callbacks:
        doc["callbackComponent"] = [
            {**prologue(cb.id), "callBackInformationUri": list(cb.uris)}
            for cb in incident.callbacks
        ]
    if incident.notes:
        doc["notesComponent"] = [
            {**prologue(f"{incident.id}:note:{i}"), "notesActionComments": text}
            for i, text in enumerate(incident.notes)
        ]
    return doc

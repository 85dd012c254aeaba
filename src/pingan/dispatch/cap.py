"""OASIS Common Alerting Protocol 1.2 (CAP): build, parse and validate ``<alert>`` documents.

Pure functions over dataclasses, no database or HTTP. What the module holds to:

- **Namespace** ``urn:oasis:names:tc:emergency:cap:1.2``; every element is in it.
- **Order**: the elements of ``alert``, ``info``, ``area``, ``parameter`` and
  ``resource`` follow the sequences of the CAP 1.2 XML schema (an ``xs:sequence``,
  so order matters): e.g. in ``info`` ``web`` comes before ``contact``, and in
  ``area`` every ``polygon`` before any ``circle``. :func:`validate_alert` reports
  the first element out of place or missing, naming it.
- **dateTime** (``sent``, ``effective``, ``onset``, ``expires``): the schema's
  pattern ``YYYY-MM-DDThh:mm:ss±hh:mm`` — a numeric offset, no ``Z``, no fractional
  seconds. :func:`cap_datetime` writes China time (``+08:00``) by default.
- **Enumerations** of status, msgType, scope, category, responseType, urgency,
  severity and certainty are checked as the spec lists them.
- **Geometry** uses CAP's ``lat,lon`` order (WGS 84). A ``polygon`` is a closed
  ring of at least four ``lat,lon`` pairs (first = last); a ``circle`` is
  ``lat,lon radius`` with the radius in kilometres.
- **references** (required here for ``Update`` and ``Cancel``) is a space-separated
  list of ``sender,identifier,sent`` triples of earlier messages.
- ``identifier`` and ``sender`` may not contain spaces, commas, ``<`` or ``&``.

Parsing refuses documents with a DOCTYPE (no entity expansion is ever needed for
CAP), so hostile input cannot expand entities through :mod:`xml.etree`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Final

NS: Final = "urn:oasis:names:tc:emergency:cap:1.2"
MEDIA_TYPE: Final = "application/cap+xml"
CHINA_TZ: Final = timezone(timedelta(hours=8))

STATUSES: Final = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES: Final = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES: Final = ("Public", "Restricted", "Private")
CATEGORIES: Final = (
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
    "Infra", "CBRNE", "Other",
)  # fmt: skip
RESPONSE_TYPES: Final = (
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear",
    "None",
)  # fmt: skip
URGENCIES: Final = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES: Final = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES: Final = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

UNBOUNDED: Final = 10**9

# (element, min occurs, max occurs) in schema order.
Sequence_ = tuple[tuple[str, int, int], ...]
ALERT_SEQUENCE: Final[Sequence_] = (
    ("identifier", 1, 1),
    ("sender", 1, 1),
    ("sent", 1, 1),
    ("status", 1, 1),
    ("msgType", 1, 1),
    ("source", 0, 1),
    ("scope", 1, 1),
    ("restriction", 0, 1),
    ("addresses", 0, 1),
    ("code", 0, UNBOUNDED),
    ("note", 0, 1),
    ("references", 0, 1),
    ("incidents", 0, 1),
    ("info", 0, UNBOUNDED),
)
INFO_SEQUENCE: Final[Sequence_] = (
    ("language", 0, 1),
    ("category", 1, UNBOUNDED),
    ("event", 1, 1),
    ("responseType", 0, UNBOUNDED),
    ("urgency", 1, 1),
    ("severity", 1, 1),
    ("certainty", 1, 1),
    ("audience", 0, 1),
    ("eventCode", 0, UNBOUNDED),
    ("effective", 0, 1),
    ("onset", 0, 1),
    ("expires", 0, 1),
    ("senderName", 0, 1),
    ("headline", 0, 1),
    ("description", 0, 1),
    ("instruction", 0, 1),
    ("web", 0, 1),
    ("contact", 0, 1),
    ("parameter", 0, UNBOUNDED),
    ("resource", 0, UNBOUNDED),
    ("area", 0, UNBOUNDED),
)
AREA_SEQUENCE: Final[Sequence_] = (
    ("areaDesc", 1, 1),
    ("polygon", 0, UNBOUNDED),
    ("circle", 0, UNBOUNDED),
    ("geocode", 0, UNBOUNDED),
    ("altitude", 0, 1),
    ("ceiling", 0, 1),
)
NAME_VALUE_SEQUENCE: Final[Sequence_] = (("valueName", 1, 1), ("value", 1, 1))
RESOURCE_SEQUENCE: Final[Sequence_] = (
    ("resourceDesc", 1, 1),
    ("mimeType", 1, 1),
    ("size", 0, 1),
    ("uri", 0, 1),
    ("derefUri", 0, 1),
    ("digest", 0, 1),
)

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
_FORBIDDEN_ID = re.compile(r"[\s,<&]")
_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_POINT = re.compile(rf"^({_NUMBER}),({_NUMBER})$")
_CIRCLE = re.compile(rf"^({_NUMBER}),({_NUMBER})\s+({_NUMBER})$")


class CapError(ValueError):
    """A CAP document that cannot be read at all (not XML, not a CAP 1.2 alert)."""

    def __init__(self, element: str, message: str) -> None:
        self.element = element
        self.reason = message
        super().__init__(f"{element}: {message}")


@dataclass(frozen=True)
class CapProblem:
    """One rule a CAP document breaks: the element (a path such as ``info[1]/area[1]/polygon``)."""

    element: str
    message: str

    def __str__(self) -> str:
        return f"{self.element}: {self.message}"


# ---------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Circle:
    """A circle in WGS 84: centre latitude, longitude and radius in kilometres."""

    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True)
class Area:
    """An ``<area>``: its description and its circles and polygons (rings of (lat, lon))."""

    area_desc: str
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    circles: tuple[Circle, ...] = ()


@dataclass(frozen=True)
class Info:
    """One ``<info>`` block (one per language)."""

    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    response_types: tuple[str, ...] = ()
    effective: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[Area, ...] = ()


@dataclass(frozen=True)
class Alert:
    """A CAP 1.2 ``<alert>``; ``references`` holds ``sender,identifier,sent`` triples."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str = "Public"
    note: str | None = None
    references: tuple[str, ...] = ()
    infos: tuple[Info, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------- formatting


def cap_datetime(value: datetime, tz: timezone = CHINA_TZ) -> str:
    """``value`` as a CAP dateTime: seconds precision and a numeric offset (``+08:00``)."""
    if value.tzinfo is None:
        raise ValueError("a CAP time needs a timezone")
    local = value.astimezone(tz).replace(microsecond=0)
    text = local.isoformat()
    if text.endswith("+00:00"):
        # CAP 1.2 §3.3.2: UTC is written "-00:00".
        text = text[:-6] + "-00:00"
    return text


def parse_cap_datetime(text: str) -> datetime:
    """A CAP dateTime string as an aware datetime (ValueError when it breaks the pattern)."""
    value = text.strip()
    if not _DATETIME.match(value):
        raise ValueError("not YYYY-MM-DDThh:mm:ss±hh:mm")
    return datetime.fromisoformat(value)


def reference(sender: str, identifier: str, sent: datetime) -> str:
    """The ``sender,identifier,sent`` triple by which a later message references one."""
    return f"{sender},{identifier},{cap_datetime(sent)}"


def _fmt(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def polygon_text(ring: Sequence[tuple[float, float]]) -> str:
    """A ring of (lat, lon) as CAP polygon text, closed when it is not already."""
    points = list(ring)
    if points and points[0] != points[-1]:
        points.append(points[0])
    return " ".join(f"{_fmt(lat)},{_fmt(lon)}" for lat, lon in points)


def circle_text(circle: Circle) -> str:
    """A circle as CAP text: ``lat,lon radius_km``."""
    return f"{_fmt(circle.lat)},{_fmt(circle.lon)} {_fmt(circle.radius_km)}"


# ---------------------------------------------------------------------------- building


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _sub(parent: ET.Element, name: str, text: str | None) -> None:
    if text is None:
        return
    child = ET.SubElement(parent, _q(name))
    child.text = text


def build_alert(alert: Alert) -> str:
    """The alert as a CAP 1.2 XML document (UTF-8 declaration, schema element order)."""
    root = ET.Element(_q("alert"))
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", cap_datetime(alert.sent))
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "scope", alert.scope)
    _sub(root, "note", alert.note)
    if alert.references:
        _sub(root, "references", " ".join(alert.references))
    for info in alert.infos:
        block = ET.SubElement(root, _q("info"))
        _sub(block, "language", info.language)
        for category in info.categories:
            _sub(block, "category", category)
        _sub(block, "event", info.event)
        for response in info.response_types:
            _sub(block, "responseType", response)
        _sub(block, "urgency", info.urgency)
        _sub(block, "severity", info.severity)
        _sub(block, "certainty", info.certainty)
        if info.effective is not None:
            _sub(block, "effective", cap_datetime(info.effective))
        if info.expires is not None:
            _sub(block, "expires", cap_datetime(info.expires))
        _sub(block, "senderName", info.sender_name)
        _sub(block, "headline", info.headline)
        _sub(block, "description", info.description)
        _sub(block, "instruction", info.instruction)
        _sub(block, "web", info.web)
        _sub(block, "contact", info.contact)
        for name, value in info.parameters:
            parameter = ET.SubElement(block, _q("parameter"))
            _sub(parameter, "valueName", name)
            _sub(parameter, "value", value)
        for area in info.areas:
            element = ET.SubElement(block, _q("area"))
            _sub(element, "areaDesc", area.area_desc)
            for ring in area.polygons:
                _sub(element, "polygon", polygon_text(ring))
            for circle in area.circles:
                _sub(element, "circle", circle_text(circle))
    body = ET.tostring(root, encoding="unicode", default_namespace=NS)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


# ---------------------------------------------------------------------------- reading


def _root(document: str | bytes) -> ET.Element:
    raw = document.encode("utf-8") if isinstance(document, str) else document
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise CapError("alert", "a DOCTYPE or entity declaration is not allowed")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise CapError("alert", f"not well-formed XML ({exc})") from None
    if root.tag != _q("alert"):
        raise CapError("alert", f"the root element must be <alert> in the {NS} namespace")
    return root


def _local(tag: str) -> str:
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def _text(parent: ET.Element, name: str) -> str | None:
    child = parent.find(_q(name))
    return None if child is None else (child.text or "").strip()


def _texts(parent: ET.Element, name: str) -> tuple[str, ...]:
    return tuple((c.text or "").strip() for c in parent.findall(_q(name)))


def _when(text: str | None) -> datetime | None:
    return parse_cap_datetime(text) if text else None


def _ring(text: str) -> tuple[tuple[float, float], ...]:
    points = []
    for pair in text.split():
        match = _POINT.match(pair)
        if match is None:
            raise ValueError(f"{pair!r} is not lat,lon")
        points.append((float(match.group(1)), float(match.group(2))))
    return tuple(points)


def _circle(text: str) -> Circle:
    match = _CIRCLE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not 'lat,lon radius'")
    return Circle(float(match.group(1)), float(match.group(2)), float(match.group(3)))


def parse_alert(document: str | bytes) -> Alert:
    """A CAP 1.2 document as an :class:`Alert` (CapError naming the element when it is invalid)."""
    problems = validate_alert(document)
    if problems:
        raise CapError(problems[0].element, problems[0].message)
    root = _root(document)
    infos = []
    for block in root.findall(_q("info")):
        areas = []
        for area in block.findall(_q("area")):
            areas.append(
                Area(
                    area_desc=_text(area, "areaDesc") or "",
                    polygons=tuple(_ring(t) for t in _texts(area, "polygon")),
                    circles=tuple(_circle(t) for t in _texts(area, "circle")),
                )
            )
        infos.append(
            Info(
                language=_text(block, "language") or "en-US",
                categories=_texts(block, "category"),
                event=_text(block, "event") or "",
                urgency=_text(block, "urgency") or "",
                severity=_text(block, "severity") or "",
                certainty=_text(block, "certainty") or "",
                response_types=_texts(block, "responseType"),
                effective=_when(_text(block, "effective")),
                expires=_when(_text(block, "expires")),
                sender_name=_text(block, "senderName"),
                headline=_text(block, "headline"),
                description=_text(block, "description"),
                instruction=_text(block, "instruction"),
                web=_text(block, "web"),
                contact=_text(block, "contact"),
                parameters=tuple(
                    (_text(p, "valueName") or "", _text(p, "value") or "")
                    for p in block.findall(_q("parameter"))
                ),
                areas=tuple(areas),
            )
        )
    references = _text(root, "references")
    sent = _when(_text(root, "sent"))
    assert sent is not None  # validated above
    return Alert(
        identifier=_text(root, "identifier") or "",
        sender=_text(root, "sender") or "",
        sent=sent,
        status=_text(root, "status") or "",
        msg_type=_text(root, "msgType") or "",
        scope=_text(root, "scope") or "",
        note=_text(root, "note"),
        references=tuple(references.split()) if references else (),
        infos=tuple(infos),
    )


# ---------------------------------------------------------------------------- validating


def _check_sequence(
    element: ET.Element, sequence: Sequence_, path: str, problems: list[CapProblem]
) -> bool:
    """Whether the children of ``element`` follow ``sequence`` (problems appended if not)."""
    names = [s[0] for s in sequence]
    counts = dict.fromkeys(names, 0)
    position = 0
    ok = True
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        name = _local(child.tag)
        if not child.tag.startswith(f"{{{NS}}}"):
            problems.append(CapProblem(f"{path}/{name}", f"not in the {NS} namespace"))
            ok = False
            continue
        if name not in counts:
            problems.append(CapProblem(f"{path}/{name}", f"<{name}> is not allowed here"))
            ok = False
            continue
        index = names.index(name)
        if index < position:
            problems.append(
                CapProblem(
                    f"{path}/{name}",
                    f"<{name}> is out of order: it must come before <{names[position]}>",
                )
            )
            ok = False
            continue
        for skipped in sequence[position:index]:
            if counts[skipped[0]] < skipped[1]:
                problems.append(
                    CapProblem(f"{path}/{skipped[0]}", f"required <{skipped[0]}> is missing")
                )
                ok = False
        position = index
        counts[name] += 1
        if counts[name] > sequence[index][2]:
            problems.append(CapProblem(f"{path}/{name}", f"<{name}> may appear only once"))
            ok = False
    for name, low, _high in sequence[position:]:
        if counts[name] < low:
            problems.append(CapProblem(f"{path}/{name}", f"required <{name}> is missing"))
            ok = False
    return ok


def _enum(
    parent: ET.Element, name: str, allowed: Sequence[str], path: str, problems: list[CapProblem]
) -> None:
    for value in _texts(parent, name):
        if value not in allowed:
            problems.append(
                CapProblem(f"{path}/{name}", f"{value!r} is not one of {', '.join(allowed)}")
            )


def _datetime(parent: ET.Element, name: str, path: str, problems: list[CapProblem]) -> None:
    value = _text(parent, name)
    if value is None:
        return
    try:
        parse_cap_datetime(value)
    except ValueError:
        problems.append(
            CapProblem(
                f"{path}/{name}",
                f"{value!r} is not a CAP dateTime (YYYY-MM-DDThh:mm:ss±hh:mm, no Z, "
                "no fractional seconds)",
            )
        )


def _nonempty(parent: ET.Element, name: str, path: str, problems: list[CapProblem]) -> None:
    for value in _texts(parent, name):
        if not value:
            problems.append(CapProblem(f"{path}/{name}", f"<{name}> is empty"))


def _check_area(area: ET.Element, path: str, problems: list[CapProblem]) -> None:
    if not _check_sequence(area, AREA_SEQUENCE, path, problems):
        return
    _nonempty(area, "areaDesc", path, problems)
    for i, text in enumerate(_texts(area, "polygon"), start=1):
        where = f"{path}/polygon[{i}]"
        try:
            ring = _ring(text)
        except ValueError as exc:
            problems.append(CapProblem(where, str(exc)))
            continue
        if len(ring) < 4:
            problems.append(
                CapProblem(where, f"a polygon needs at least 4 points, has {len(ring)}")
            )
        elif ring[0] != ring[-1]:
            problems.append(CapProblem(where, "the polygon is not closed (first point ≠ last)"))
        for lat, lon in ring:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                problems.append(CapProblem(where, f"({lat},{lon}) is not a WGS 84 lat,lon"))
                break
    for i, text in enumerate(_texts(area, "circle"), start=1):
        where = f"{path}/circle[{i}]"
        try:
            circle = _circle(text)
        except ValueError as exc:
            problems.append(CapProblem(where, str(exc)))
            continue
        if not (-90 <= circle.lat <= 90 and -180 <= circle.lon <= 180):
            problems.append(CapProblem(where, f"({circle.lat},{circle.lon}) is not lat,lon"))
        if circle.radius_km < 0:
            problems.append(CapProblem(where, "the radius must not be negative"))


def _check_info(block: ET.Element, path: str, problems: list[CapProblem]) -> None:
    if not _check_sequence(block, INFO_SEQUENCE, path, problems):
        return
    _enum(block, "category", CATEGORIES, path, problems)
    _enum(block, "responseType", RESPONSE_TYPES, path, problems)
    _enum(block, "urgency", URGENCIES, path, problems)
    _enum(block, "severity", SEVERITIES, path, problems)
    _enum(block, "certainty", CERTAINTIES, path, problems)
    _nonempty(block, "event", path, problems)
    for name in ("effective", "onset", "expires"):
        _datetime(block, name, path, problems)
    effective, expires = _text(block, "effective"), _text(block, "expires")
    if (
        effective
        and expires
        and _DATETIME.match(effective)
        and _DATETIME.match(expires)
        and parse_cap_datetime(expires) <= parse_cap_datetime(effective)
    ):
        problems.append(CapProblem(f"{path}/expires", "expires must be after effective"))
    for i, parameter in enumerate(block.findall(_q("parameter")), start=1):
        _check_sequence(parameter, NAME_VALUE_SEQUENCE, f"{path}/parameter[{i}]", problems)
    for i, resource in enumerate(block.findall(_q("resource")), start=1):
        _check_sequence(resource, RESOURCE_SEQUENCE, f"{path}/resource[{i}]", problems)
    for i, area in enumerate(block.findall(_q("area")), start=1):
        _check_area(area, f"{path}/area[{i}]", problems)


def validate_alert(document: str | bytes) -> list[CapProblem]:
    """Every CAP 1.2 rule ``document`` breaks (empty when it is a valid CAP 1.2 alert)."""
    try:
        root = _root(document)
    except CapError as exc:
        return [CapProblem(exc.element, exc.reason)]
    problems: list[CapProblem] = []
    if not _check_sequence(root, ALERT_SEQUENCE, "alert", problems):
        return problems
    for name in ("identifier", "sender"):
        value = _text(root, name) or ""
        if not value:
            problems.append(CapProblem(f"alert/{name}", f"<{name}> is empty"))
        elif _FORBIDDEN_ID.search(value):
            problems.append(
                CapProblem(f"alert/{name}", f"<{name}> must not contain spaces, commas, < or &")
            )
    _datetime(root, "sent", "alert", problems)
    _enum(root, "status", STATUSES, "alert", problems)
    _enum(root, "msgType", MSG_TYPES, "alert", problems)
    _enum(root, "scope", SCOPES, "alert", problems)
    scope = _text(root, "scope")
    if scope == "Restricted" and not _text(root, "restriction"):
        problems.append(CapProblem("alert/restriction", "scope Restricted needs <restriction>"))
    if scope == "Private" and not _text(root, "addresses"):
        problems.append(CapProblem("alert/addresses", "scope Private needs <addresses>"))
    references = _text(root, "references")
    if _text(root, "msgType") in ("Update", "Cancel") and not references:
        problems.append(
            CapProblem("alert/references", "an Update or Cancel must reference the earlier alert")
        )
    for triple in (references or "").split():
        parts = triple.split(",")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            problems.append(
                CapProblem("alert/references", f"{triple!r} is not sender,identifier,sent")
            )
            continue
        try:
            parse_cap_datetime(parts[2])
        except ValueError:
            problems.append(
                CapProblem("alert/references", f"{parts[2]!r} in {triple!r} is not a CAP dateTime")
            )
    for i, block in enumerate(root.findall(_q("info")), start=1):
        _check_info(block, f"alert/info[{i}]", problems)
    return problems

"""CAP 1.2: the builder's documents pass the validator; broken ones are refused by element."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pingan.dispatch import cap

SENT = datetime(2026, 11, 29, 3, 4, 5, 678_000, tzinfo=UTC)


def _alert(**changes: object) -> cap.Alert:
    info = cap.Info(
        language="zh-CN",
        categories=("Rescue",),
        event="寻人",
        urgency="Immediate",
        severity="Moderate",
        certainty="Observed",
        effective=SENT,
        expires=SENT + timedelta(hours=12),
        sender_name="某市公安局指挥中心",
        headline="寻人：张*，8岁",
        description="身穿红色外套",
        instruction="如发现请拨打 110",
        web="https://example.org/a",
        contact="0755-110",
        parameters=(("pingan:kind", "missing_person"),),
        areas=(
            cap.Area(
                area_desc="中心区",
                polygons=(((60.16, 24.93), (60.17, 24.93), (60.17, 24.95), (60.16, 24.95)),),
                circles=(cap.Circle(60.165, 24.94, 1.5),),
            ),
        ),
    )
    base = cap.Alert(
        identifier="PINGAN-1-abc",
        sender="command-centre@helsinki.pingan",
        sent=SENT,
        status="Actual",
        msg_type="Alert",
        scope="Public",
        infos=(info, cap.Info(**{**info.__dict__, "language": "en", "event": "Missing person"})),
    )
    return cap.Alert(**{**base.__dict__, **changes})


def test_built_document_is_valid_and_round_trips() -> None:
    document = cap.build_alert(_alert())
    assert cap.validate_alert(document) == []
    assert f'xmlns="{cap.NS}"' in document
    assert "<sent>2026-11-29T11:04:05+08:00</sent>" in document  # offset, no fraction
    assert "<polygon>60.16,24.93 60.17,24.93 60.17,24.95 60.16,24.95 60.16,24.93</polygon>" in (
        document
    )
    assert "<circle>60.165,24.94 1.5</circle>" in document
    # web comes before contact in the schema's sequence
    assert document.index("<web>") < document.index("<contact>")
    parsed = cap.parse_alert(document)
    assert parsed.identifier == "PINGAN-1-abc"
    assert parsed.sent == SENT.replace(microsecond=0)
    assert [i.language for i in parsed.infos] == ["zh-CN", "en"]
    assert parsed.infos[0].areas[0].circles == (cap.Circle(60.165, 24.94, 1.5),)
    assert parsed.infos[0].areas[0].polygons[0][0] == parsed.infos[0].areas[0].polygons[0][-1]
    assert parsed.infos[0].parameters == (("pingan:kind", "missing_person"),)
    assert cap.build_alert(parsed) == document


def test_cancel_references_the_original() -> None:
    ref = cap.reference("command-centre@helsinki.pingan", "PINGAN-1-abc", SENT)
    document = cap.build_alert(
        _alert(msg_type="Cancel", identifier="PINGAN-1-abc~C", references=(ref,))
    )
    assert cap.validate_alert(document) == []
    assert cap.parse_alert(document).references == (
        "command-centre@helsinki.pingan,PINGAN-1-abc,2026-11-29T11:04:05+08:00",
    )
    missing = cap.build_alert(_alert(msg_type="Update"))
    assert [p.element for p in cap.validate_alert(missing)] == ["alert/references"]


def test_utc_is_written_minus_zero() -> None:
    assert cap.cap_datetime(SENT, UTC) == "2026-11-29T03:04:05-00:00"


# A hand-written document with the structure of the spec's examples (alert, one info,
# one area with a polygon), used as the base of the broken variants below.
SPEC_LIKE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>TEST-2026-0001</identifier>
  <sender>warnings@example.org</sender>
  <sent>2026-11-29T10:00:00-05:00</sent>
  <status>Exercise</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Security</category>
    <event>Practice warning</event>
    <urgency>Expected</urgency>
    <severity>Minor</severity>
    <certainty>Likely</certainty>
    <headline>Practice only</headline>
    <area>
      <areaDesc>Test district</areaDesc>
      <polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>
    </area>
  </info>
</alert>
"""


def test_spec_like_document_is_valid() -> None:
    assert cap.validate_alert(SPEC_LIKE) == []
    parsed = cap.parse_alert(SPEC_LIKE)
    assert parsed.status == "Exercise"
    assert parsed.infos[0].language == "en-US"  # the spec's default
    assert len(parsed.infos[0].areas[0].polygons[0]) == 5


@pytest.mark.parametrize(
    ("old", "new", "element"),
    [
        ("<identifier>TEST-2026-0001</identifier>", "", "alert/identifier"),
        ("<status>Exercise</status>", "<status>Real</status>", "alert/status"),
        ("<msgType>Alert</msgType>", "<msgType>Notice</msgType>", "alert/msgType"),
        ("<scope>Public</scope>", "<scope>Everyone</scope>", "alert/scope"),
        ("2026-11-29T10:00:00-05:00", "2026-11-29T10:00:00Z", "alert/sent"),
        ("2026-11-29T10:00:00-05:00", "2026-11-29T10:00:00.5-05:00", "alert/sent"),
        ("<sender>warnings@example.org</sender>", "<sender>a b</sender>", "alert/sender"),
        ("<category>Security</category>", "<category>Police</category>", "alert/info[1]/category"),
        ("<category>Security</category>", "", "alert/info[1]/category"),
        ("<urgency>Expected</urgency>", "<urgency>Now</urgency>", "alert/info[1]/urgency"),
        ("<severity>Minor</severity>", "", "alert/info[1]/severity"),
        ("<certainty>Likely</certainty>", "<certainty>Sure</certainty>", "alert/info[1]/certainty"),
        ("<areaDesc>Test district</areaDesc>", "", "alert/info[1]/area[1]/areaDesc"),
        (" 38.47,-120.14</polygon>", "</polygon>", "alert/info[1]/area[1]/polygon[1]"),
        (
            "38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>",
            "38.47,-120.14</polygon>",
            "alert/info[1]/area[1]/polygon[1]",
        ),
        ("</area>", "<circle>38.5,-120.0</circle></area>", "alert/info[1]/area[1]/circle[1]"),
        # order: msgType before status is out of place
        (
            "<status>Exercise</status>\n  <msgType>Alert</msgType>",
            "<msgType>Alert</msgType>\n  <status>Exercise</status>",
            "alert/status",
        ),
        # order: headline before certainty
        (
            "<certainty>Likely</certainty>\n    <headline>Practice only</headline>",
            "<headline>Practice only</headline>\n    <certainty>Likely</certainty>",
            "alert/info[1]/certainty",
        ),
        ("<scope>Public</scope>", "<scope>Public</scope><colour>red</colour>", "alert/colour"),
        ("<scope>Public</scope>", "<scope>Restricted</scope>", "alert/restriction"),
        ("<msgType>Alert</msgType>", "<msgType>Cancel</msgType>", "alert/references"),
    ],
)
def test_broken_documents_are_refused_naming_the_element(old: str, new: str, element: str) -> None:
    assert old in SPEC_LIKE
    broken = SPEC_LIKE.replace(old, new, 1)
    problems = cap.validate_alert(broken)
    assert problems, broken
    assert element in [p.element for p in problems], problems
    with pytest.raises(cap.CapError):
        cap.parse_alert(broken)


def test_not_cap_at_all() -> None:
    assert cap.validate_alert("<alert/>")[0].element == "alert"
    assert cap.validate_alert("not xml")[0].element == "alert"
    other = SPEC_LIKE.replace("cap:1.2", "cap:1.1")
    assert "namespace" in cap.validate_alert(other)[0].message
    bomb = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]>' + SPEC_LIKE.split("?>", 1)[1]
    assert "DOCTYPE" in cap.validate_alert(bomb)[0].message


def test_expires_after_effective() -> None:
    bad = _alert(
        infos=(
            cap.Info(
                language="en",
                categories=("Safety",),
                event="x",
                urgency="Immediate",
                severity="Minor",
                certainty="Observed",
                effective=SENT,
                expires=SENT - timedelta(hours=1),
            ),
        )
    )
    problems = cap.validate_alert(cap.build_alert(bad))
    assert [p.element for p in problems] == ["alert/info[1]/expires"]

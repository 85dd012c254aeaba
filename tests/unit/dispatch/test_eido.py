"""NENA EIDO import and export."""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingan.dispatch.eido import (
    EidoCall,
    EidoError,
    EidoIncident,
    EidoLocation,
    EidoPerson,
    export_eido,
    parse_eido,
)
from tests.conftest import SHARED_DATA

EIDO_DIR = SHARED_DATA / "eido"
needs_eido = pytest.mark.skipif(
    not EIDO_DIR.is_dir(), reason=f"NENA EIDO sample and schema not found at {EIDO_DIR}"
)


def _sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EIDO_DIR / "sample_call_transfer_eido.json").read_text())
    return data


def _validator() -> Any:
    yaml = pytest.importorskip("yaml")
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    spec = yaml.safe_load((EIDO_DIR / "openapi.yaml").read_text())

    def clean(x: Any) -> Any:
        # External NIEM refs are not shipped: accept anything there. One upstream typo
        # ("minItems: 1,") is a string; read it as the number it means.
        if isinstance(x, dict):
            if isinstance(x.get("$ref"), str) and not x["$ref"].startswith("#"):
                return {}
            return {
                k: int(str(v).strip(" ,")) if k in ("minItems", "maxItems") else clean(v)
                for k, v in x.items()
            }
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    schema = {
        "$ref": "#/components/schemas/EmergencyIncidentDataObjectType",
        "components": clean(spec["components"]),
    }
    return jsonschema_rs.validator_for(schema, validate_formats=True)


@needs_eido
def test_nena_sample_imports() -> None:
    inc = parse_eido(json.dumps(_sample()))
    assert inc.id == "urn:emergency:uid:incidentid:a56e556d871:bcf.state.pa.us"
    assert inc.agency_id == "state.pa.us" and inc.issuing_element == "idx.state.pa.us"
    assert inc.updated_at == datetime(
        2021, 4, 30, 14, 43, 49, 439000, timezone(timedelta(hours=-4))
    )
    (call,) = inc.calls
    assert call.direction == "incoming" and call.primary_type == "emergency"
    assert call.start == datetime(2021, 4, 30, 14, 40, tzinfo=timezone(timedelta(hours=-4)))
    assert call.callback_ref == "123e4567-e89b-1234-a456-426614174000"
    routing = inc.location(call.location_refs[0])
    assert routing is not None and routing.kind == "RoutingLocation"
    assert routing.civic_text == "US DE Wilmington W Cellular Street 42"
    caller = inc.location(call.location_refs[1])
    assert (
        caller is not None and caller.reference_url == "https://lrf.osp.com?oasufdqwerjn12346jfias"
    )
    assert inc.persons[0].roles == ("Caller",)
    assert inc.callbacks[0].uris == ("sip:8195551212@osp.com", "tel:8195551212")


@needs_eido
def test_sample_validates_and_export_round_trips() -> None:
    validator = _validator()
    assert validator.is_valid(_sample())
    cst = timezone(timedelta(hours=8))
    inc = EidoIncident(
        id="urn:emergency:uid:incidentid:pa-1:pingan.example",
        updated_at=datetime(2025, 3, 1, 20, 5, tzinfo=cst),
        agency_id="hz.110.pingan.example",
        issuing_element="pingan.example",
        incident_type="fight",
        priority=2,
        calls=(
            EidoCall(
                id="urn:emergency:uid:callid:c-1:pingan.example",
                start=datetime(2025, 3, 1, 20, 1, tzinfo=cst),
                answered=datetime(2025, 3, 1, 20, 1, 5, tzinfo=cst),
                direction="incoming",
                primary_type="emergency",
                state="callAnswered",
                location_refs=("loc-1",),
                person_refs=("p-1",),
            ),
        ),
        locations=(
            EidoLocation(
                id="loc-1",
                kind="Caller",
                lat=30.2741,
                lon=120.1551,
                civic_text="胜利路 12 号 & <烧烤>",
            ),
        ),
        persons=(EidoPerson(id="p-1", roles=("Caller",)),),
        notes=("一群人在烧烤摊打架",),
    )
    doc = export_eido(inc)
    errors = [e.message for e in validator.iter_errors(doc)]
    assert errors == []
    assert parse_eido(doc) == inc


@needs_eido
@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("$id"), "$id"),
        (lambda d: d.pop("agencyComponent"), "agencyComponent"),
        (lambda d: d.__setitem__("lastUpdateTimeStamp", "yesterday"), "lastUpdateTimeStamp"),
        (
            lambda d: d.__setitem__("lastUpdateTimeStamp", "2021-04-30T14:43:49"),
            "lastUpdateTimeStamp",
        ),
        (
            lambda d: d["callComponent"][0].pop("callStartTimestamp"),
            "callComponent[0].callStartTimestamp",
        ),
        (
            lambda d: d["callComponent"][0].__setitem__("direction", "sideways"),
            "callComponent[0].direction",
        ),
        (
            lambda d: d["callComponent"][0]["locationReference"][0].__setitem__("$ref", "nowhere"),
            "callComponent[0].locationReference[0]",
        ),
        (
            lambda d: d["locationComponent"][0].__setitem__(
                "locationByValue", "<presence><gml:pos xmlns:gml='g'>95 10</gml:pos></presence>"
            ),
            "locationComponent[0].locationByValue",
        ),
        (lambda d: d.__setitem__("eidoVersion", "2.0"), "eidoVersion"),
    ],
)
def test_malformed_names_field_and_leaves_input_alone(mutate: Any, field: str) -> None:
    doc = _sample()
    mutate(doc)
    before = copy.deepcopy(doc)
    with pytest.raises(EidoError) as err:
        parse_eido(doc)
    assert err.value.field == field
    assert doc == before


@pytest.mark.parametrize(("doc", "field"), [("{nope", "document"), (b"[1, 2]", "document")])
def test_not_an_object(doc: str | bytes, field: str) -> None:
    with pytest.raises(EidoError) as err:
        parse_eido(doc)
    assert err.value.field == field


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_json)
def test_fuzz_only_eido_errors(doc: Any) -> None:
    with contextlib.suppress(EidoError):
        parse_eido(doc if isinstance(doc, dict) else json.dumps(doc))


@needs_eido
@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(
        [
            "$id",
            "lastUpdateTimeStamp",
            "callComponent",
            "locationComponent",
            "personComponent",
            "eidoVersion",
        ]
    ),
    _json,
)
def test_fuzz_sample_fields(key: str, value: Any) -> None:
    doc = _sample()
    doc[key] = value
    with contextlib.suppress(EidoError):
        parse_eido(doc)


def test_export_refuses_naive_time() -> None:
    with pytest.raises(ValueError):
        export_eido(
            EidoIncident(
                id="x", updated_at=datetime(2025, 1, 1), agency_id="a", issuing_element="e"
            )
        )
    assert UTC

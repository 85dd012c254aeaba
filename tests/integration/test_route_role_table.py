"""Every API route × every role, against one hand-written table of who may call what.

The table is the reviewable statement of the platform's access rules. The test fails
when a route exists that the table does not list (add it, with its roles) or the
table lists a route that no longer exists. For each route it calls the whole app as
each role's user, as a partner API key and with no credentials, and checks: allowed
callers never get 401/403, the others get 403, no credentials get 401 — except
public routes, which answer everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pingan.core.auth import service
from pingan.core.auth.permissions import Principal
from pingan.core.auth.roles import (
    ADMIN,
    ALL_ROLES,
    ANALYST,
    AUDITOR,
    CLERK,
    COMMANDER,
    DISPATCHER,
    DISSUASION,
    OFFICER,
    PARTNER,
    TRAFFIC,
)
from pingan.core.auth.schemas import ApiKeyCreate, JurisdictionCreate, UserCreate
from pingan.core.db import Base, Database
from pingan.core.settings import Settings, get_settings

pytestmark = pytest.mark.usefixtures("fast_hasher")

PUBLIC = "public"
STAFF = frozenset(
    {ADMIN, COMMANDER, DISPATCHER, OFFICER, ANALYST, DISSUASION, CLERK, AUDITOR, TRAFFIC}
)
EVERYONE = frozenset({*STAFF, PARTNER})
ADMIN_ONLY = frozenset({ADMIN})
AUDIT_READERS = frozenset({AUDITOR, ADMIN})
UNIT_MANAGERS = frozenset({COMMANDER, ADMIN})
DISPATCHERS = frozenset({DISPATCHER, COMMANDER, ADMIN})
CALL_TAKERS = frozenset({DISPATCHER, COMMANDER, ADMIN, OFFICER})
POSITION_REPORTERS = frozenset({DISPATCHER, OFFICER, COMMANDER, ADMIN, PARTNER})
TRAFFIC_READERS = frozenset({TRAFFIC, COMMANDER, DISPATCHER, ANALYST, ADMIN})
TRAFFIC_PLANNERS = frozenset({TRAFFIC, ADMIN})

# (method, path template) -> roles allowed, or PUBLIC. Written by hand on purpose:
# it must be changed, and reviewed, whenever a route or a grant changes.
ROUTE_ROLES: dict[tuple[str, str], frozenset[str] | str] = {
    # core/auth
    ("POST", "/api/auth/login"): PUBLIC,
    ("GET", "/api/auth/me"): EVERYONE,
    ("GET", "/api/users"): ADMIN_ONLY,
    ("POST", "/api/users"): ADMIN_ONLY,
    ("GET", "/api/users/{user_id}"): ADMIN_ONLY,
    ("PATCH", "/api/users/{user_id}"): ADMIN_ONLY,
    ("POST", "/api/users/{user_id}/password"): ADMIN_ONLY,
    ("DELETE", "/api/users/{user_id}"): ADMIN_ONLY,
    ("GET", "/api/api-keys"): ADMIN_ONLY,
    ("POST", "/api/api-keys"): ADMIN_ONLY,
    ("DELETE", "/api/api-keys/{api_key_id}"): ADMIN_ONLY,
    ("GET", "/api/jurisdictions"): STAFF,
    ("GET", "/api/jurisdictions/tree"): STAFF,
    ("GET", "/api/jurisdictions/{jurisdiction_id}"): STAFF,
    ("POST", "/api/jurisdictions"): ADMIN_ONLY,
    # core/audit
    ("GET", "/api/audit"): AUDIT_READERS,
    ("GET", "/api/audit/verify"): AUDIT_READERS,
    # city ("city.read")
    ("GET", "/api/city/cities"): STAFF,
    ("GET", "/api/city/cities/{city_id}"): STAFF,
    ("GET", "/api/city/cities/{city_id}/roads"): STAFF,
    ("GET", "/api/city/cities/{city_id}/districts"): STAFF,
    ("GET", "/api/city/cities/{city_id}/pois"): STAFF,
    ("GET", "/api/city/cities/{city_id}/route"): STAFF,
    ("POST", "/api/city/cities/{city_id}/travel-times"): STAFF,
    # dispatch
    ("POST", "/api/dispatch/units"): UNIT_MANAGERS,
    ("GET", "/api/dispatch/units"): STAFF,
    ("GET", "/api/dispatch/units/{unit_id}"): STAFF,
    ("POST", "/api/dispatch/units/{unit_id}/position"): POSITION_REPORTERS,
    ("POST", "/api/dispatch/units/{unit_id}/status"): CALL_TAKERS,
    ("GET", "/api/dispatch/units/{unit_id}/timeline"): STAFF,
    ("POST", "/api/dispatch/incidents"): CALL_TAKERS,
    ("POST", "/api/dispatch/incidents/eido"): CALL_TAKERS,
    ("GET", "/api/dispatch/incidents/{incident_id}/eido"): STAFF,
    ("GET", "/api/dispatch/incidents"): STAFF,
    ("GET", "/api/dispatch/incidents/{incident_id}"): STAFF,
    ("POST", "/api/dispatch/incidents/{incident_id}/dispatch"): DISPATCHERS,
    ("POST", "/api/dispatch/incidents/{incident_id}/close"): DISPATCHERS,
    ("POST", "/api/dispatch/incidents/{incident_id}/classify"): DISPATCHERS,
    ("GET", "/api/dispatch/statistics/response-times"): STAFF,
    ("GET", "/api/dispatch/run-cards"): STAFF,
    # dispatch: camera tasking
    ("POST", "/api/dispatch/incidents/{incident_id}/cameras"): DISPATCHERS,
    ("POST", "/api/dispatch/incidents/{incident_id}/cameras/release"): DISPATCHERS,
    # dispatch: CAP 1.2 public alerts
    ("POST", "/api/dispatch/alerts"): frozenset({DISPATCHER, COMMANDER}),
    ("GET", "/api/dispatch/alerts"): STAFF,
    ("GET", "/api/dispatch/alerts/{alert_id}"): STAFF,
    ("GET", "/api/dispatch/alerts/{alert_id}/cap"): STAFF,
    ("POST", "/api/dispatch/alerts/{alert_id}/issue"): frozenset({COMMANDER}),
    ("POST", "/api/dispatch/alerts/{alert_id}/update"): frozenset({COMMANDER}),
    ("POST", "/api/dispatch/alerts/{alert_id}/cancel"): frozenset({COMMANDER}),
    ("GET", "/api/dispatch/public/alerts"): PUBLIC,
    # dispatch: event security
    ("POST", "/api/dispatch/security-events"): UNIT_MANAGERS,
    ("GET", "/api/dispatch/security-events"): STAFF,
    ("GET", "/api/dispatch/security-events/presets"): STAFF,
    ("GET", "/api/dispatch/security-events/{event_id}"): STAFF,
    ("POST", "/api/dispatch/security-events/{event_id}/posts/propose"): UNIT_MANAGERS,
    ("POST", "/api/dispatch/security-events/{event_id}/posts/assign"): UNIT_MANAGERS,
    ("POST", "/api/dispatch/security-events/{event_id}/activate"): UNIT_MANAGERS,
    ("POST", "/api/dispatch/security-events/{event_id}/end"): UNIT_MANAGERS,
    ("GET", "/api/dispatch/security-events/{event_id}/board"): STAFF,
    # dispatch: non-police linkage and follow-ups (partner routes: department keys only)
    ("GET", "/api/dispatch/departments"): STAFF,
    ("POST", "/api/dispatch/incidents/{incident_id}/transfer"): DISPATCHERS,
    ("GET", "/api/dispatch/transfers"): STAFF,
    ("POST", "/api/dispatch/incidents/{incident_id}/follow-up"): frozenset(
        {OFFICER, DISPATCHER, COMMANDER, ADMIN}
    ),
    ("GET", "/api/dispatch/follow-ups"): STAFF,
    ("GET", "/api/dispatch/follow-ups/visits"): STAFF,
    ("GET", "/api/dispatch/follow-ups/{case_id}"): STAFF,
    ("POST", "/api/dispatch/follow-ups/{case_id}/visits/{visit_id}"): frozenset(
        {OFFICER, DISPATCHER, COMMANDER, ADMIN}
    ),
    ("POST", "/api/dispatch/follow-ups/{case_id}/close"): frozenset(
        {OFFICER, DISPATCHER, COMMANDER, ADMIN}
    ),
    ("GET", "/api/dispatch/partner/transfers"): frozenset({PARTNER}),
    ("GET", "/api/dispatch/partner/transfers/{transfer_id}"): frozenset({PARTNER}),
    ("POST", "/api/dispatch/partner/transfers/{transfer_id}/ack"): frozenset({PARTNER}),
    ("POST", "/api/dispatch/partner/transfers/{transfer_id}/progress"): frozenset({PARTNER}),
    ("POST", "/api/dispatch/partner/transfers/{transfer_id}/resolve"): frozenset({PARTNER}),
    ("POST", "/api/dispatch/partner/transfers/{transfer_id}/return"): frozenset({PARTNER}),
    # dispatch: move-up (standby posts)
    ("GET", "/api/dispatch/standby-posts"): STAFF,
    ("POST", "/api/dispatch/standby-posts/plan"): UNIT_MANAGERS,
    ("GET", "/api/dispatch/move-up"): STAFF,
    ("POST", "/api/dispatch/units/{unit_id}/standby"): DISPATCHERS,
    # dispatch: editable triage rules and run cards
    ("GET", "/api/dispatch/triage-rules"): STAFF,
    ("PUT", "/api/dispatch/triage-rules"): UNIT_MANAGERS,
    ("GET", "/api/dispatch/triage-rules/history"): STAFF,
    ("POST", "/api/dispatch/triage-rules/revert"): UNIT_MANAGERS,
    # traffic: emergency priority (green corridors); "traffic" is the traffic engineer role
    ("GET", "/api/traffic/priority/active"): frozenset(
        {"traffic", COMMANDER, DISPATCHER, ANALYST, ADMIN}
    ),
    ("GET", "/api/traffic/priority/{corridor_id}"): frozenset(
        {"traffic", COMMANDER, DISPATCHER, ANALYST, ADMIN}
    ),
    ("POST", "/api/traffic/priority/requests"): frozenset(
        {"traffic", DISPATCHER, COMMANDER, ADMIN}
    ),
    ("POST", "/api/traffic/priority/{corridor_id}/cancel"): frozenset(
        {"traffic", DISPATCHER, COMMANDER, ADMIN}
    ),
    # traffic: green-wave desk (read / plan / deploy)
    ("GET", "/api/traffic/destinations"): TRAFFIC_READERS,
    ("POST", "/api/traffic/corridors/propose"): TRAFFIC_PLANNERS,
    ("POST", "/api/traffic/corridors"): TRAFFIC_PLANNERS,
    ("GET", "/api/traffic/corridors"): TRAFFIC_READERS,
    ("GET", "/api/traffic/corridors/{corridor_id}"): TRAFFIC_READERS,
    ("POST", "/api/traffic/corridors/{corridor_id}/plans"): TRAFFIC_PLANNERS,
    ("GET", "/api/traffic/corridors/{corridor_id}/plans"): TRAFFIC_READERS,
    ("GET", "/api/traffic/plans/{plan_id}"): TRAFFIC_READERS,
    ("GET", "/api/traffic/plans/{plan_id}/diagram.svg"): TRAFFIC_READERS,
    ("GET", "/api/traffic/plans/{plan_id}/export"): TRAFFIC_READERS,
    ("GET", "/api/traffic/plans/{plan_id}/compare"): TRAFFIC_READERS,
    ("POST", "/api/traffic/plans/{plan_id}/deploy"): frozenset({TRAFFIC, COMMANDER, ADMIN}),
    ("POST", "/api/traffic/evaluations"): TRAFFIC_PLANNERS,
    ("GET", "/api/traffic/evaluations"): TRAFFIC_READERS,
    ("GET", "/api/traffic/evaluations/{evaluation_id}"): TRAFFIC_READERS,
    # web: the live feed, the desk catalogue and the page's message catalogue
    ("GET", "/api/feed/recent"): STAFF,
    ("GET", "/api/feed/stream"): STAFF,
    ("GET", "/api/desks"): STAFF,
    ("GET", "/api/i18n/{lang}"): PUBLIC,
    # identity: digital ID service layer (relying-party routes: partner keys only)
    ("POST", "/api/identity/credentials"): frozenset({CLERK, ADMIN}),
    ("GET", "/api/identity/credentials"): STAFF,
    ("GET", "/api/identity/credentials/{credential_id}"): STAFF,
    ("POST", "/api/identity/credentials/{credential_id}/revoke"): UNIT_MANAGERS,
    ("POST", "/api/identity/credentials/{credential_id}/suspend"): UNIT_MANAGERS,
    ("POST", "/api/identity/credentials/{credential_id}/reinstate"): UNIT_MANAGERS,
    ("GET", "/api/identity/keys"): STAFF,
    ("POST", "/api/identity/keys/rotate"): UNIT_MANAGERS,
    ("GET", "/api/identity/relying-parties"): STAFF,
    ("POST", "/api/identity/relying-parties"): UNIT_MANAGERS,
    ("GET", "/api/identity/usage"): frozenset({ANALYST, AUDITOR, COMMANDER, ADMIN}),
    ("GET", "/api/identity/jwks"): PUBLIC,
    ("GET", "/api/identity/status-lists/{list_id}"): PUBLIC,
    ("GET", "/api/identity/requests/{ref}"): PUBLIC,
    ("POST", "/api/identity/requests/{ref}/response"): PUBLIC,
    ("POST", "/api/identity/requests"): frozenset({PARTNER}),
    ("GET", "/api/identity/requests/{ref}/result"): frozenset({PARTNER}),
    # identity: self-service issuance (OpenID4VCI); kiosk routes: kiosk keys only
    ("POST", "/api/identity/offers"): frozenset({CLERK, ADMIN}),
    ("GET", "/api/identity/offers/{ref}"): frozenset({CLERK, ADMIN}),
    ("POST", "/api/identity/kiosks"): ADMIN_ONLY,
    ("GET", "/api/identity/kiosks"): STAFF,
    ("POST", "/api/identity/kiosks/{code}/offers"): frozenset({PARTNER}),
    ("GET", "/api/identity/kiosks/{code}/offers/{ref}"): frozenset({PARTNER}),
    ("POST", "/api/identity/oid4vci/token"): PUBLIC,
    ("POST", "/api/identity/oid4vci/nonce"): PUBLIC,
    ("POST", "/api/identity/oid4vci/credential"): PUBLIC,  # its own access token: OWN_TOKEN
    # antifraud: service layer (partner routes: API keys only)
    ("POST", "/api/antifraud/signals"): frozenset({PARTNER}),
    ("POST", "/api/antifraud/signals/file"): frozenset({PARTNER}),
    ("GET", "/api/antifraud/partner/stop-payments"): frozenset({PARTNER}),
    ("POST", "/api/antifraud/partner/stop-payments/{stop_payment_id}/answer"): frozenset({PARTNER}),
    ("GET", "/api/antifraud/teams"): frozenset({DISSUASION, COMMANDER, ADMIN, ANALYST}),
    ("GET", "/api/antifraud/teams/{team_id}/members"): frozenset(
        {DISSUASION, COMMANDER, ADMIN, ANALYST}
    ),
    ("PUT", "/api/antifraud/teams/{team_id}/members"): UNIT_MANAGERS,
    ("GET", "/api/antifraud/warnings"): frozenset({DISSUASION, COMMANDER, ADMIN, ANALYST}),
    ("GET", "/api/antifraud/warnings/{warning_id}"): frozenset(
        {DISSUASION, COMMANDER, ADMIN, ANALYST}
    ),
    ("POST", "/api/antifraud/warnings/{warning_id}/contacts"): frozenset(
        {DISSUASION, COMMANDER, ADMIN}
    ),
    ("POST", "/api/antifraud/warnings/{warning_id}/escalate-visit"): frozenset(
        {DISSUASION, COMMANDER, ADMIN}
    ),
    ("POST", "/api/antifraud/warnings/{warning_id}/stop-payments"): frozenset(
        {DISSUASION, COMMANDER, ADMIN}
    ),
    ("POST", "/api/antifraud/stop-payments/{stop_payment_id}/renew"): frozenset(
        {DISSUASION, COMMANDER, ADMIN}
    ),
    ("POST", "/api/antifraud/warnings/{warning_id}/close"): frozenset(
        {DISSUASION, COMMANDER, ADMIN}
    ),
    ("GET", "/api/antifraud/sla-policy"): UNIT_MANAGERS,
    ("PUT", "/api/antifraud/sla-policy"): UNIT_MANAGERS,
    ("POST", "/api/antifraud/sweep"): UNIT_MANAGERS,
    ("GET", "/api/antifraud/dashboards"): frozenset({DISSUASION, COMMANDER, ADMIN, ANALYST}),
    # antifraud: linkage case rooms (membership decides which rooms) and year on year
    ("POST", "/api/antifraud/case-rooms"): frozenset({DISSUASION, COMMANDER, ADMIN}),
    ("GET", "/api/antifraud/case-rooms"): frozenset(
        {OFFICER, DISPATCHER, ANALYST, DISSUASION, COMMANDER, ADMIN}
    ),
    ("GET", "/api/antifraud/case-rooms/{room_id}"): frozenset(
        {OFFICER, DISPATCHER, ANALYST, DISSUASION, COMMANDER, ADMIN}
    ),
    ("POST", "/api/antifraud/case-rooms/{room_id}/members"): frozenset(
        {OFFICER, DISPATCHER, ANALYST, DISSUASION, COMMANDER, ADMIN}
    ),
    ("POST", "/api/antifraud/case-rooms/{room_id}/entries"): frozenset(
        {OFFICER, DISPATCHER, ANALYST, DISSUASION, COMMANDER, ADMIN}
    ),
    ("POST", "/api/antifraud/case-rooms/{room_id}/close"): frozenset(
        {OFFICER, DISPATCHER, ANALYST, DISSUASION, COMMANDER, ADMIN}
    ),
    ("GET", "/api/antifraud/partner/case-rooms"): frozenset({PARTNER}),
    ("GET", "/api/antifraud/partner/case-rooms/{room_id}"): frozenset({PARTNER}),
    ("POST", "/api/antifraud/partner/case-rooms/{room_id}/entries"): frozenset({PARTNER}),
    ("GET", "/api/antifraud/dashboard/year-on-year"): frozenset(
        {DISSUASION, COMMANDER, ADMIN, ANALYST}
    ),
}

STREAMING = {("GET", "/api/feed/stream")}
"""Endless responses: only their status is read."""
OWN_TOKEN = {("POST", "/api/identity/oid4vci/credential")}
"""Public to the platform's roles but authorised by an OAuth access token of their own (the
OpenID4VCI credential endpoint): every caller here lacks one, so each gets 401, never 403/5xx."""

PASSWORD = "route-table-pass"
SYSTEM = Principal.system("test")
ROUTE_QUERY = {"from_lon": 24.94, "from_lat": 60.17, "to_lon": 24.95, "to_lat": 60.18}
QUERIES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/city/cities/{city_id}/route"): ROUTE_QUERY,
    # dispatch: move-up (no city imported: allowed callers get 404)
    ("GET", "/api/dispatch/standby-posts"): {"city_id": 1},
    ("POST", "/api/dispatch/standby-posts/plan"): {"city_id": 1},
    ("GET", "/api/dispatch/move-up"): {"city_id": 1},
    # traffic (no city imported: allowed callers get 404)
    ("GET", "/api/traffic/destinations"): {"city_id": 999_999},
}
BODIES: dict[tuple[str, str], Callable[[str, dict[str, Any]], Any]] = {
    # antifraud: team members (no such team: allowed callers get 404)
    ("PUT", "/api/antifraud/teams/{team_id}/members"): lambda caller, w: {"usernames": []},
    # dispatch: event security (no city imported: allowed callers get 404)
    ("POST", "/api/dispatch/security-events"): lambda caller, w: {
        "city_id": 999_999,
        "name": "rt",
        "perimeter": {
            "type": "Polygon",
            "coordinates": [[[24.94, 60.17], [24.95, 60.17], [24.95, 60.175], [24.94, 60.17]]],
        },
        "expected_crowd": 1000,
        "starts_at": "2026-06-01T16:00:00+00:00",
        "ends_at": "2026-06-01T22:00:00+00:00",
    },
    ("POST", "/api/dispatch/security-events/{event_id}/posts/propose"): lambda caller, w: {},
    ("POST", "/api/dispatch/security-events/{event_id}/posts/assign"): lambda caller, w: {},
    ("POST", "/api/auth/login"): lambda caller, w: {
        "username": "role-admin",
        "password": PASSWORD,
    },
    ("POST", "/api/users"): lambda caller, w: {
        "username": f"made-by-{caller}",
        "password": PASSWORD,
        "roles": ["officer"],
        "jurisdictions": ["rt-d1"],
    },
    ("PATCH", "/api/users/{user_id}"): lambda caller, w: {"display_name": f"renamed by {caller}"},
    ("POST", "/api/users/{user_id}/password"): lambda caller, w: {"password": "another-pass-1"},
    ("POST", "/api/api-keys"): lambda caller, w: {"name": f"by {caller}", "partner": "bank"},
    ("POST", "/api/jurisdictions"): lambda caller, w: {
        "code": f"rt-s-{caller}",
        "name": "新站",
        "kind": "station",
        "parent": "rt-d1",
    },
    ("POST", "/api/city/cities/{city_id}/travel-times"): lambda caller, w: {
        "origin": {"lon": 24.94, "lat": 60.17},
        "cutoff_s": 60,
    },
    # No city is imported: allowed callers pass the gate and get 404 or 422.
    ("POST", "/api/dispatch/units"): lambda caller, w: {
        "callsign": f"rt-{caller}",
        "kind": "patrol_car",
        "city_id": 999_999,
        "lon": 24.94,
        "lat": 60.17,
    },
    ("POST", "/api/dispatch/units/{unit_id}/position"): lambda caller, w: {
        "lon": 24.94,
        "lat": 60.17,
    },
    ("POST", "/api/dispatch/units/{unit_id}/status"): lambda caller, w: {"status": "en_route"},
    ("POST", "/api/dispatch/incidents"): lambda caller, w: {
        "text": "有人打架",
        "lon": 24.94,
        "lat": 60.17,
    },
    ("POST", "/api/dispatch/incidents/eido"): lambda caller, w: {"eidoVersion": "1.0"},
    ("POST", "/api/dispatch/incidents/{incident_id}/dispatch"): lambda caller, w: {
        "unit_ids": [1],
        "override_reason": "route table",
    },
    ("POST", "/api/dispatch/incidents/{incident_id}/close"): lambda caller, w: {
        "outcome": "route table"
    },
    ("POST", "/api/dispatch/incidents/{incident_id}/classify"): lambda caller, w: {
        "call_type": "fight",
        "reason": "route table",
    },
    # dispatch: non-police linkage and follow-ups (nothing exists: allowed callers get 404)
    ("POST", "/api/dispatch/incidents/{incident_id}/transfer"): lambda caller, w: {},
    ("POST", "/api/dispatch/incidents/{incident_id}/follow-up"): lambda caller, w: {
        "assignee": "role-officer",
        "summary": "route table",
        "visits": ["2099-01-01T10:00:00+08:00"],
    },
    ("POST", "/api/dispatch/follow-ups/{case_id}/visits/{visit_id}"): lambda caller, w: {
        "outcome": "route table"
    },
    ("POST", "/api/dispatch/follow-ups/{case_id}/close"): lambda caller, w: {
        "outcome": "route table"
    },
    ("POST", "/api/dispatch/partner/transfers/{transfer_id}/ack"): lambda caller, w: {},
    ("POST", "/api/dispatch/partner/transfers/{transfer_id}/progress"): lambda caller, w: {
        "text": "route table"
    },
    ("POST", "/api/dispatch/partner/transfers/{transfer_id}/resolve"): lambda caller, w: {
        "outcome": "route table"
    },
    ("POST", "/api/dispatch/partner/transfers/{transfer_id}/return"): lambda caller, w: {
        "reason": "route table"
    },
    # dispatch: camera tasking
    ("POST", "/api/dispatch/incidents/{incident_id}/cameras"): lambda caller, w: {"unit_ids": [1]},
    ("POST", "/api/dispatch/incidents/{incident_id}/cameras/release"): lambda caller, w: {
        "unit_ids": [1]
    },
    # identity: digital ID (nothing issued: allowed callers get 404 or 422)
    ("POST", "/api/identity/credentials"): lambda caller, w: {"name": "x"},
    ("POST", "/api/identity/credentials/{credential_id}/revoke"): lambda caller, w: {
        "reason": "route table"
    },
    ("POST", "/api/identity/credentials/{credential_id}/suspend"): lambda caller, w: {
        "reason": "route table"
    },
    ("POST", "/api/identity/credentials/{credential_id}/reinstate"): lambda caller, w: {
        "reason": "route table"
    },
    ("POST", "/api/identity/relying-parties"): lambda caller, w: {
        "code": f"rt-{caller}".lower(),
        "name_zh": "网吧",
        "category": "entertainment",
        "scenarios": ["internet_cafe"],
    },
    ("POST", "/api/identity/requests/{ref}/response"): lambda caller, w: {"presentation": "x"},
    ("POST", "/api/identity/requests"): lambda caller, w: {"scenario": "internet_cafe"},
    ("POST", "/api/identity/offers"): lambda caller, w: {"name": "x"},
    ("POST", "/api/identity/kiosks"): lambda caller, w: {
        "code": f"rt-{caller}".lower(),
        "name": "自助机",
        "district": "rt-d1",
    },
    ("POST", "/api/identity/kiosks/{code}/offers"): lambda caller, w: {"name": "x"},
    # dispatch: CAP 1.2 public alerts (no city imported: allowed callers get 404)
    ("POST", "/api/dispatch/alerts"): lambda caller, w: {
        "city_id": 999_999,
        "kind": "public_safety",
        "headline": {"zh-CN": "测试", "en": "Test"},
        "description": {"zh-CN": "测试", "en": "Test"},
        "contact": "110",
        "area": {"description": "rt", "circle": {"lat": 60.17, "lon": 24.94, "radius_km": 1}},
        "expires_at": "2099-01-01T00:00:00+08:00",
    },
    ("POST", "/api/dispatch/alerts/{alert_id}/update"): lambda caller, w: {"urgency": "Expected"},
    # traffic: emergency priority (no city imported: allowed callers get 422 or 404)
    ("POST", "/api/traffic/priority/requests"): lambda caller, w: {
        "origin": {"lon": 24.94, "lat": 60.17},
        "reason": "route table",
    },
    ("POST", "/api/traffic/priority/{corridor_id}/cancel"): lambda caller, w: {
        "reason": "route table"
    },
    # dispatch: move-up
    ("POST", "/api/dispatch/units/{unit_id}/standby"): lambda caller, w: {"rank": 1},
    # traffic: green-wave desk (no city, corridor or evaluation: allowed callers get 404/422)
    ("POST", "/api/traffic/corridors/propose"): lambda caller, w: {
        "city_id": 999_999,
        "lon": 24.94,
        "lat": 60.17,
    },
    ("POST", "/api/traffic/corridors"): lambda caller, w: {
        "city_id": 999_999,
        "name": "rt",
        "nodes": [0, 1],
    },
    ("POST", "/api/traffic/corridors/{corridor_id}/plans"): lambda caller, w: {},
    ("POST", "/api/traffic/evaluations"): lambda caller, w: {"scenario": "/nowhere/x.sumocfg"},
    # dispatch: editable triage rules (an empty document: allowed callers get 422; no row: 404)
    ("PUT", "/api/dispatch/triage-rules"): lambda caller, w: {"document": {}},
    ("POST", "/api/dispatch/triage-rules/revert"): lambda caller, w: {"id": 999_999},
    ("POST", "/api/dispatch/alerts/{alert_id}/cancel"): lambda caller, w: {
        "reason": {"zh-CN": "已找到", "en": "Found"}
    },
}


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route under /api, however deeply routers are included."""
    try:
        from fastapi.routing import iter_route_contexts

        routes: Any = list(iter_route_contexts(app.routes))
    except ImportError:  # FastAPI versions that flatten included routers into app.routes
        routes = app.routes
    found: set[tuple[str, str]] = set()
    for route in routes:
        path = getattr(route, "path", None) or ""
        if not path.startswith("/api"):
            continue
        methods = getattr(route, "methods", None)
        assert methods, (
            f"{path}: a mount or non-HTTP route under /api hides its routes from this test"
        )
        for method in methods - {"HEAD", "OPTIONS"}:
            found.add((method, path))
    return found


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    from pingan.web.app import create_app

    application = create_app(settings, background=False)
    Base.metadata.create_all(application.state.ctx.db.engine)
    return application


def test_every_api_route_is_in_the_table(app: FastAPI) -> None:
    routes = api_routes(app)
    missing = sorted(routes - set(ROUTE_ROLES))
    stale = sorted(set(ROUTE_ROLES) - routes)
    assert not missing, f"routes not in ROUTE_ROLES (add them with their roles): {missing}"
    assert not stale, f"ROUTE_ROLES lists routes that do not exist: {stale}"
    for roles in ROUTE_ROLES.values():
        assert roles == PUBLIC or (roles and roles <= ALL_ROLES)


def seed(db: Database) -> dict[str, Any]:
    """A city → district tree, one user per role in the district, a partner key, victims."""
    world: dict[str, Any] = {"users": {}}
    with db.session() as s:
        city = service.create_jurisdiction(
            db=s,
            jurisdiction_in=JurisdictionCreate(code="rt-city", name="城", kind="city"),
            actor=SYSTEM,
        )
        district = service.create_jurisdiction(
            db=s,
            jurisdiction_in=JurisdictionCreate(
                code="rt-d1", name="分局", kind="district", parent=city.code
            ),
            actor=SYSTEM,
        )
        world["jurisdiction_id"] = district.id
        for role in sorted(ALL_ROLES):
            user = service.create_user(
                db=s,
                user_in=UserCreate(
                    username=f"role-{role}",
                    password=PASSWORD,
                    roles=[role],  # type: ignore[list-item]
                    jurisdictions=["rt-d1"],
                ),
                actor=SYSTEM,
            )
            world["users"][role] = user.id
        victim = service.create_user(
            db=s,
            user_in=UserCreate(username="victim", password=PASSWORD, roles=["officer"]),
            actor=SYSTEM,
        )
        world["user_id"] = victim.id
        victim_key, _ = service.create_api_key(
            db=s, key_in=ApiKeyCreate(name="to revoke", partner="bank"), actor=SYSTEM
        )
        world["api_key_id"] = victim_key.id
        _key, plain = service.create_api_key(
            db=s,
            key_in=ApiKeyCreate(name="partner system", partner="bank", jurisdiction="rt-d1"),
            actor=SYSTEM,
        )
        world["partner_key"] = plain
    return world


def test_every_route_for_every_role(app: FastAPI) -> None:
    world = seed(app.state.ctx.db)
    params = {
        "user_id": world["user_id"],
        "api_key_id": world["api_key_id"],
        "jurisdiction_id": world["jurisdiction_id"],
        "city_id": 999_999,  # no city imported: allowed callers pass the gate and get 404
        "unit_id": 999_999,
        "incident_id": 999_999,
        "corridor_id": 999_999,  # traffic: emergency priority
        "transfer_id": 999_999,  # dispatch: linkage
        "case_id": 999_999,  # dispatch: follow-ups
        "visit_id": 999_999,
        "alert_id": 999_999,
        "event_id": 999_999,  # dispatch: event security
        "credential_id": 999_999,  # identity
        "warning_id": 999_999,  # antifraud
        "stop_payment_id": 999_999,
        "room_id": 999_999,  # antifraud: case rooms
        "team_id": 999_999,  # antifraud: team members
        "list_id": 999_999,
        "ref": "no-such-request",
        "code": "no-such-kiosk",  # identity: kiosks
        "plan_id": 999_999,  # traffic: green-wave plans
        "evaluation_id": 999_999,
        "lang": "en",
    }
    failures: list[str] = []
    with TestClient(app) as client:
        callers: dict[str, tuple[frozenset[str], dict[str, str]]] = {}
        for role in sorted(ALL_ROLES):
            r = client.post(
                "/api/auth/login", json={"username": f"role-{role}", "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            callers[role] = (
                frozenset({role}),
                {"Authorization": f"Bearer {r.json()['access_token']}"},
            )
        callers["partner-api-key"] = (frozenset({PARTNER}), {"X-API-Key": world["partner_key"]})
        callers["anonymous"] = (frozenset(), {})

        for (method, template), allowed in sorted(ROUTE_ROLES.items()):
            path = template.format(**params)
            for caller, (roles, headers) in callers.items():
                body_for = BODIES.get((method, template))
                kwargs: dict[str, Any] = {
                    "headers": headers,
                    "params": QUERIES.get((method, template), {}),
                }
                if body_for is not None:
                    kwargs["json"] = body_for(caller, world)
                if (method, template) in STREAMING:
                    with client.stream(method, path, **kwargs) as response:
                        status = response.status_code
                else:
                    status = client.request(method, path, **kwargs).status_code
                if (method, template) in OWN_TOKEN:
                    if status != 401:
                        failures.append(f"{method} {template} as {caller}: {status}, expected 401")
                    continue
                if allowed == PUBLIC:
                    expected_ok = True
                elif not roles:
                    expected_ok = False
                    if status != 401:
                        failures.append(f"{method} {template} anonymous: {status}, expected 401")
                    continue
                else:
                    expected_ok = bool(roles & allowed)
                if expected_ok and status in (401, 403):
                    failures.append(f"{method} {template} as {caller}: {status}, expected access")
                if expected_ok and status >= 500:
                    failures.append(f"{method} {template} as {caller}: server error {status}")
                if not expected_ok and status != 403:
                    failures.append(f"{method} {template} as {caller}: {status}, expected 403")
    assert not failures, "\n".join(failures)


def test_pingan_cli_user_add_and_audit_verify(
    settings: Settings, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pingan user add`` and ``pingan audit verify`` through the platform's own command."""
    from pingan.cli import app as pingan

    monkeypatch.setenv("PINGAN_DATABASE_URL", settings.database_url_resolved)
    monkeypatch.setenv("PINGAN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PINGAN_LANG", "en")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        added = runner.invoke(
            pingan, ["user", "add", "cli-user", "--role", "officer", "--password", PASSWORD]
        )
        assert added.exit_code == 0, added.output
        ok = runner.invoke(pingan, ["audit", "verify"])
        assert ok.exit_code == 0, ok.output
        from sqlalchemy import text

        from pingan.core.audit import remove_append_only_statements

        with app.state.ctx.db.engine.begin() as conn:
            for statement in remove_append_only_statements(conn.dialect.name):
                conn.execute(text(statement))
            conn.execute(text("UPDATE audit_records SET actor = 'nobody' WHERE id = 1"))
        broken = runner.invoke(pingan, ["audit", "verify"])
        assert broken.exit_code == 1
        assert "record 1" in broken.output
    finally:
        get_settings.cache_clear()

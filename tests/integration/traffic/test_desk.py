"""The traffic desk through the real app on the demo city: real logins, roles, audit."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pingan.city.models import City, Poi
from pingan.city.service import demo_pbf_path, import_city, source_path
from pingan.core.audit import AuditRecord
from pingan.core.auth import service as auth
from pingan.core.auth.models import Jurisdiction
from pingan.core.auth.permissions import Principal
from pingan.core.auth.schemas import JurisdictionCreate, UserCreate
from pingan.core.db import Base, Database
from pingan.core.settings import Settings
from pingan.traffic import evaluations
from pingan.traffic.models import Corridor, Deployment, Evaluation, TimingPlan, TrafficSignal
from pingan.traffic.settings import traffic_settings
from pingan.web.app import create_app

pytestmark = pytest.mark.usefixtures("fast_hasher")

PASSWORD = "traffic-pass-1"
SYSTEM = Principal.system("test")


@dataclass
class Desk:
    """The app with the demo city and one user per role of interest."""

    client: TestClient
    db: Database
    settings: Settings
    city_id: int
    staff: dict[str, dict[str, str]] = field(default_factory=dict)

    def get(self, path: str, who: str = "traffic", **params: Any) -> Any:
        """GET as ``who``."""
        return self.client.get(path, headers=self.staff[who], params=params)

    def post(self, path: str, body: Any = None, who: str = "traffic") -> Any:
        """POST as ``who``."""
        return self.client.post(path, json=body, headers=self.staff[who])

    def count(self, model: Any) -> int:
        """Rows of a table."""
        with self.db.session() as s:
            return int(s.scalars(select(func.count()).select_from(model)).one())


@pytest.fixture
def desk(settings: Settings, database: object) -> Iterator[Desk]:
    app = create_app(settings, background=False)
    db: Database = app.state.ctx.db
    Base.metadata.create_all(db.engine)
    report = import_city(
        db=db, path=demo_pbf_path(), name="helsinki", data_dir=settings.data_dir, actor="t"
    )
    users = {
        "traffic": "traffic",
        "commander": "commander",
        "analyst": "analyst",
        "dissuasion": "dissuasion",
        "clerk": "clerk",
        "elsewhere": "traffic",
    }
    with db.session() as s:
        city = s.get(City, report.city_id)
        assert city is not None and city.jurisdiction_id is not None
        place = s.get(Jurisdiction, city.jurisdiction_id)
        assert place is not None
        other = auth.create_jurisdiction(
            db=s,
            jurisdiction_in=JurisdictionCreate(code="elsewhere", name="外市", kind="city"),
            actor=SYSTEM,
        )
        for name, role in users.items():
            auth.create_user(
                db=s,
                user_in=UserCreate(
                    username=f"{name}-1",
                    password=PASSWORD,
                    roles=[role],
                    jurisdictions=[other.code if name == "elsewhere" else place.code],
                ),
                actor=SYSTEM,
            )
    with TestClient(app) as client:
        d = Desk(client=client, db=db, settings=settings, city_id=report.city_id)
        for name in users:
            r = client.post("/api/auth/login", json={"username": f"{name}-1", "password": PASSWORD})
            assert r.status_code == 200, r.text
            d.staff[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        yield d


def _error(r: Any, status: int, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["field"] == field, error
    return error


def _destination(desk: Desk) -> int:
    # The demo extract maps no hospital (only clinics): the desk lists what there is.
    assert desk.get("/api/traffic/destinations", city_id=desk.city_id).json() == []
    clinics = desk.get("/api/traffic/destinations", city_id=desk.city_id, kind="clinic").json()
    assert clinics and all(c["kind"] == "clinic" for c in clinics)
    return int(clinics[0]["id"])


def _propose(desk: Desk, count: int = 3) -> dict[str, Any]:
    r = desk.post(
        "/api/traffic/corridors/propose",
        {"city_id": desk.city_id, "destination_id": _destination(desk), "count": count},
    )
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def _save(desk: Desk, corridor: dict[str, Any], name: str = "") -> dict[str, Any]:
    r = desk.post(
        "/api/traffic/corridors",
        {
            "city_id": desk.city_id,
            "name": name or corridor["name"] or "c",
            "nodes": corridor["nodes"],
        },
    )
    assert r.status_code == 201, r.text
    doc: dict[str, Any] = r.json()
    return doc


def test_propose_corridors_towards_a_clinic(desk: Desk) -> None:
    doc = _propose(desk)
    assert doc["demand_model"] == "uniform_origins"
    assert doc["signal_sources"] == ["osm_traffic_signals"]
    assert doc["corridors"], doc
    shares = [c["share"] for c in doc["corridors"]]
    for c in doc["corridors"]:
        assert c["nodes"][-1] == doc["destination"]["node"]
        assert 0 < c["share"] <= 1 and c["metres"] > 0
        positions = [s["position_m"] for s in c["signals"]]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        for s in c["signals"]:
            # No stored plan yet: netconvert's default 90 s two-phase plan, said to be assumed.
            assert s["timing_source"] == "assumed_default" and s["timing"]["cycle_s"] == 90.0
            assert s["source"] == "osm_traffic_signals" and s["osm_id"]
    assert len(doc["corridors"][0]["signals"]) >= 2
    assert shares[0] > 0
    # Signals came from the city's OSM traffic-signal POIs, snapped to the drive graph.
    with desk.db.session() as s:
        n_signals = s.scalar(select(func.count()).select_from(TrafficSignal))
        n_pois = s.scalar(
            select(func.count()).select_from(Poi).where(Poi.kind == "traffic_signals")
        )
    assert n_signals is not None and n_pois is not None and 0 < n_signals <= n_pois


def test_plan_versions_exports_compare_and_deploy(desk: Desk) -> None:
    corridor = _save(desk, _propose(desk)["corridors"][0])
    n = len(corridor["signals"])
    r = desk.post(f"/api/traffic/corridors/{corridor['id']}/plans", {"cycle_range": [50, 120]})
    assert r.status_code == 201, r.text
    plans = r.json()
    assert [p["period"] for p in plans] == ["am_peak", "off_peak", "pm_peak"]
    assert {p["version"] for p in plans} == {1} and {p["status"] for p in plans} == {"draft"}
    am = plans[0]
    assert 50 <= am["cycle_s"] <= 120 and len(am["timings"]) == n
    assert am["inputs"]["volumes"]["source"] == "assumed"
    # The common cycle is the least-delay candidate, never longer than MAXBAND's widest band.
    choice = am["inputs"]["cycle_choice"]
    assert choice["rule"] == "least_delay" and choice["chosen_cycle_s"] == round(am["cycle_s"], 1)
    assert choice["chosen_cycle_s"] <= choice["maxband_cycle_s"]
    assert choice["chosen_cycle_s"] in [c["cycle_s"] for c in choice["candidates"]]
    # The off-peak volumes are lower than the morning peak's.
    assert (
        plans[1]["inputs"]["volumes"]["busiest_through_vph"]
        < am["inputs"]["volumes"]["busiest_through_vph"]
    )

    svg = desk.get(f"/api/traffic/plans/{am['id']}/diagram.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert ET.fromstring(svg.text).tag.endswith("svg")

    sumo = desk.get(f"/api/traffic/plans/{am['id']}/export", format="sumo")
    assert sumo.status_code == 200
    logics = ET.fromstring(sumo.text).findall("tlLogic")
    assert len(logics) == n
    for logic, timing in zip(logics, am["timings"], strict=True):
        total = sum(float(p.get("duration", "0")) for p in logic.findall("phase"))
        assert total == pytest.approx(timing["cycle_s"], abs=0.05)
    doc = desk.get(f"/api/traffic/plans/{am['id']}/export", format="json").json()
    assert doc["format"] == "pingan.greenwave/1" and doc["plan_id"] == am["id"]
    assert doc["content_hash"] == am["content_hash"] and len(doc["signals"]) == n
    assert doc["cycle_choice"] == choice
    assert {"id", "osm_id", "offset_s", "cycle_s", "phases", "position_m"} <= set(doc["signals"][0])
    bad = desk.get(f"/api/traffic/plans/{am['id']}/export", format="pdf")
    assert bad.status_code == 422

    cmp = desk.get(f"/api/traffic/plans/{am['id']}/compare").json()
    assert cmp["method"] == "estimate" and cmp["before"]["timing_sources"] == ["assumed_default"]
    for direction in ("out", "in"):
        assert cmp["after"][direction]["travel_time_s"] < cmp["before"][direction]["travel_time_s"]

    # Deploy: audited, signals' current timing becomes the plan's.
    r = desk.post(f"/api/traffic/plans/{am['id']}/deploy")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "deployed" and r.json()["deployed_by"] == "traffic-1"
    assert desk.post(f"/api/traffic/plans/{am['id']}/deploy").status_code == 409
    with desk.db.session() as s:
        record = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "traffic.plan.deploy")
        ).one()
        assert record.entity_id == str(am["id"]) and record.actor == "traffic-1"
        assert record.detail["content_hash"] == am["content_hash"]
    shown = desk.get(f"/api/traffic/corridors/{corridor['id']}").json()
    assert {s["timing_source"] for s in shown["signals"]} == {f"plan:{am['id']}"}
    after = desk.get(f"/api/traffic/plans/{am['id']}/compare").json()
    assert after["before"]["timing_sources"] == [f"plan:{am['id']}"]

    # Version 2 supersedes version 1 for that period when deployed.
    r = desk.post(
        f"/api/traffic/corridors/{corridor['id']}/plans",
        {"cycle_range": [60, 120], "periods": ["am_peak"]},
    )
    assert r.status_code == 201, r.text
    v2 = r.json()[0]
    assert v2["version"] == 2
    assert desk.post(f"/api/traffic/plans/{v2['id']}/deploy").status_code == 200
    history = desk.get(f"/api/traffic/corridors/{corridor['id']}/plans").json()
    by_id = {p["id"]: p for p in history}
    assert by_id[v2["id"]]["status"] == "deployed"
    assert by_id[am["id"]]["status"] == "superseded" and by_id[am["id"]]["superseded_at"]
    assert [p["version"] for p in history] == sorted((p["version"] for p in history), reverse=True)
    with desk.db.session() as s:
        deployments = list(s.scalars(select(Deployment).order_by(Deployment.id)))
    assert [d.plan_id for d in deployments] == [am["id"], v2["id"]]
    assert deployments[1].superseded_plan_id == am["id"]


def test_bad_input_is_refused_and_nothing_is_stored(desk: Desk) -> None:
    corridor = _save(desk, _propose(desk)["corridors"][0])
    path = f"/api/traffic/corridors/{corridor['id']}/plans"
    error = _error(desk.post(path, {"cycle_range": [20, 30]}), 422, "cycle_range")
    assert error["code"] == "traffic.error.cycle_range_infeasible"
    _error(desk.post(path, {"cycle_range": [120, 60]}), 422, "cycle_range")
    _error(desk.post(path, {"speed_range": [15, 5]}), 422, "speed_range")
    assert desk.count(TimingPlan) == 0

    # A corridor with no signal on it: two neighbouring nodes without a signal.
    with desk.db.session() as s:
        signal_nodes = set(s.scalars(select(TrafficSignal.node_index)))
    graph_nodes = corridor["nodes"]
    from pingan.city.service import load_graph

    with desk.db.session() as s:
        city = s.get(City, desk.city_id)
        assert city is not None
        graph = load_graph(city=city, data_dir=desk.settings.data_dir)
    pair = next(
        (int(u), int(v))
        for u in range(graph.n_nodes)
        for v in graph.indices[graph.indptr[u] : graph.indptr[u + 1]]
        if u not in signal_nodes and int(v) not in signal_nodes
    )
    bare = desk.post(
        "/api/traffic/corridors", {"city_id": desk.city_id, "name": "bare", "nodes": list(pair)}
    )
    assert bare.status_code == 201 and bare.json()["signals"] == []
    error = _error(
        desk.post(f"/api/traffic/corridors/{bare.json()['id']}/plans", {}), 422, "signals"
    )
    assert error["code"] == "traffic.error.too_few_signals"
    assert desk.count(TimingPlan) == 0

    # Nodes that are not a driveable path.
    _error(
        desk.post(
            "/api/traffic/corridors",
            {"city_id": desk.city_id, "name": "x", "nodes": [graph_nodes[0], graph_nodes[-1]]},
        ),
        422,
        "nodes[1]",
    )
    assert desk.count(Corridor) == 2


def test_a_plan_for_an_unknown_signal_is_not_deployed(desk: Desk) -> None:
    corridor = _save(desk, _propose(desk)["corridors"][0])
    plan = desk.post(f"/api/traffic/corridors/{corridor['id']}/plans", {"periods": ["am_peak"]})
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()[0]["id"]
    gone = corridor["signals"][1]["signal_id"]
    with desk.db.session() as s:
        sig = s.get(TrafficSignal, gone)
        assert sig is not None
        poi = s.get(Poi, sig.poi_id)
        s.delete(poi)  # the OSM signal is no longer in the city's data
    error = _error(desk.post(f"/api/traffic/plans/{plan_id}/deploy"), 422, "signals[1]")
    assert error["code"] == "traffic.error.unknown_signal"
    assert desk.get(f"/api/traffic/plans/{plan_id}").json()["status"] == "draft"
    assert desk.count(Deployment) == 0
    with desk.db.session() as s:
        assert not s.scalars(
            select(AuditRecord).where(AuditRecord.action == "traffic.plan.deploy")
        ).all()
        assert all(not sig.timing for sig in s.scalars(select(TrafficSignal)))


def test_intersecting_corridors_share_cycle_and_offsets(desk: Desk) -> None:
    proposals = _propose(desk)["corridors"]
    assert len(proposals) >= 2
    a = _save(desk, proposals[0], "A")
    b = _save(desk, proposals[1], "B")
    shared = {s["signal_id"] for s in a["signals"]} & {s["signal_id"] for s in b["signals"]}
    assert shared, "the demo's two busiest approaches share signals"
    plan_a = desk.post(f"/api/traffic/corridors/{a['id']}/plans", {"periods": ["am_peak"]}).json()[
        0
    ]
    r = desk.post(
        f"/api/traffic/corridors/{b['id']}/plans",
        {"periods": ["am_peak"], "cycle_range": [40, 150]},
    )
    assert r.status_code == 201, r.text
    plan_b = r.json()[0]
    assert plan_b["cycle_s"] == pytest.approx(plan_a["cycle_s"])
    assert {h["signal_id"] for h in plan_b["coordination"]} == shared
    assert {h["plan_id"] for h in plan_b["coordination"]} == {plan_a["id"]}
    timings_a = {t["signal_id"]: t for t in plan_a["timings"]}
    for t in plan_b["timings"]:
        if t["signal_id"] in shared:
            mine = timings_a[t["signal_id"]]
            assert t["offset_s"] == mine["offset_s"] and t["phases"] == mine["phases"]
            assert t["source"] == f"held:{plan_a['id']}"
    # A range that excludes the common cycle is refused, naming it.
    lo = plan_a["cycle_s"] + 5
    error = _error(
        desk.post(
            f"/api/traffic/corridors/{b['id']}/plans",
            {"periods": ["am_peak"], "cycle_range": [lo, lo + 30]},
        ),
        422,
        "cycle_range",
    )
    assert error["code"] == "traffic.error.coordination_cycle_range"


def test_roles_and_jurisdictions(desk: Desk) -> None:
    corridor = _save(desk, _propose(desk)["corridors"][0])
    cid = corridor["id"]
    body = {"city_id": desk.city_id, "destination_id": 1}
    for who in ("dissuasion", "clerk"):
        assert desk.get("/api/traffic/corridors", who=who).status_code == 403
        assert desk.post("/api/traffic/corridors/propose", body, who=who).status_code == 403
    # Analysts read, do not plan; commanders deploy, do not plan.
    assert desk.get(f"/api/traffic/corridors/{cid}", who="analyst").status_code == 200
    assert desk.post(f"/api/traffic/corridors/{cid}/plans", {}, who="analyst").status_code == 403
    assert desk.post(f"/api/traffic/corridors/{cid}/plans", {}, who="commander").status_code == 403
    plan = desk.post(f"/api/traffic/corridors/{cid}/plans", {"periods": ["am_peak"]}).json()[0]
    assert desk.post(f"/api/traffic/plans/{plan['id']}/deploy", who="analyst").status_code == 403
    assert desk.post(f"/api/traffic/plans/{plan['id']}/deploy", who="commander").status_code == 200
    # Another city's traffic engineer sees nothing of this one.
    assert desk.get("/api/traffic/corridors", who="elsewhere").json() == []
    assert desk.get(f"/api/traffic/corridors/{cid}", who="elsewhere").status_code == 404
    assert desk.get(f"/api/traffic/plans/{plan['id']}", who="elsewhere").status_code == 404
    r = desk.post("/api/traffic/corridors/propose", body, who="elsewhere")
    assert r.status_code == 403


def test_evaluation_scenario_must_be_allowed(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    r = desk.post("/api/traffic/evaluations", {"scenario": "/etc/passwd"})
    _error(r, 422, "scenario")
    r = desk.post("/api/traffic/evaluations", {"scenario": "/tmp/../etc/x.sumocfg"})
    _error(r, 422, "scenario")
    r = desk.post("/api/traffic/evaluations", {"scenario": "arterial", "controllers": ["magic"]})
    _error(r, 422, "controllers")
    # SUMO not installed: a clear 422 naming it, nothing queued.
    from pingan.traffic import sumo

    monkeypatch.setattr(sumo, "sumo_home", lambda: None)
    error = _error(desk.post("/api/traffic/evaluations", {"scenario": "arterial"}), 422, "sumo")
    assert error["code"] == "traffic.error.sumo_missing"
    assert desk.count(Evaluation) == 0
    assert (
        desk.post("/api/traffic/evaluations", {"scenario": "arterial"}, who="analyst").status_code
        == 403
    )


def _run_until_finished(desk: Desk, ids: list[int], timeout_s: float = 600.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        evaluations.run_pending(
            db=desk.db,
            data_dir=desk.settings.data_dir,
            database_url=desk.settings.database_url_resolved,
        )
        rows = [desk.get(f"/api/traffic/evaluations/{i}").json() for i in ids]
        if all(r["status"] in ("done", "failed") for r in rows):
            return
        time.sleep(1.0)
    raise AssertionError("evaluations did not finish")


@pytest.mark.slow
def test_evaluations_run_as_parallel_jobs(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sumo", reason="eclipse-sumo not installed (pip install 'pingan[traffic]')")
    pytest.importorskip("traci", reason="traci not installed (pip install 'pingan[traffic]')")
    ok = desk.post(
        "/api/traffic/evaluations",
        {
            "scenario": "arterial",
            "signals": 3,
            "seeds": 1,
            "controllers": ["default", "pingan"],
            "duration_s": 600,
            "calibrate": False,  # the quick run: Pingan's cycle by estimated delay
        },
    )
    assert ok.status_code == 202, ok.text
    assert ok.json()["status"] == "queued" and ok.json()["progress"] == 0.0
    assert ok.json()["calibrate"] is False
    # A SUMO network that fails to load: the job fails with the error, the other one runs.
    folder = Path(desk.settings.data_dir) / "traffic" / "scenarios" / "broken"
    folder.mkdir(parents=True)
    (folder / "broken.net.xml").write_text("<net><edge id='x'", encoding="utf-8")
    (folder / "broken.rou.xml").write_text("<routes/>", encoding="utf-8")
    (folder / "broken.sumocfg").write_text(
        '<configuration><input><net-file value="broken.net.xml"/>'
        '<route-files value="broken.rou.xml"/></input></configuration>',
        encoding="utf-8",
    )
    broken = desk.post("/api/traffic/evaluations", {"scenario": str(folder / "broken.sumocfg")})
    assert broken.status_code == 202, broken.text
    ids = [ok.json()["id"], broken.json()["id"]]
    # Bounded: with one slot only the first starts, with two both run at once.
    monkeypatch.setenv("PINGAN_TRAFFIC__EVAL_PARALLEL", "1")
    traffic_settings.cache_clear()

    def run() -> list[int]:
        return evaluations.run_pending(
            db=desk.db,
            data_dir=desk.settings.data_dir,
            database_url=desk.settings.database_url_resolved,
        )

    try:
        assert run() == [ids[0]]
        monkeypatch.setenv("PINGAN_TRAFFIC__EVAL_PARALLEL", "2")
        traffic_settings.cache_clear()
        assert run() == [ids[1]]
        statuses = [desk.get(f"/api/traffic/evaluations/{i}").json()["status"] for i in ids]
        assert all(st in ("running", "done", "failed") for st in statuses)
    finally:
        monkeypatch.delenv("PINGAN_TRAFFIC__EVAL_PARALLEL")
        traffic_settings.cache_clear()
    _run_until_finished(desk, ids)
    done = desk.get(f"/api/traffic/evaluations/{ids[0]}").json()
    assert done["status"] == "done", done["error"]
    assert done["progress"] == 1.0 and done["error"] is None
    assert set(done["result"]["table"]) == {"default", "pingan"}
    assert done["result"]["signals"] == 3
    assert done["result"]["calibration"] == []  # no candidate was simulated
    assert all(row["corridor_tt"][0] > 0 for row in done["result"]["table"].values())
    failed = desk.get(f"/api/traffic/evaluations/{ids[1]}").json()
    assert failed["status"] == "failed" and failed["result"] is None
    assert failed["error"]["key"] == "traffic.error.network"
    listed = desk.get("/api/traffic/evaluations").json()
    assert {e["id"] for e in listed} == set(ids)


def _plans(desk: Desk) -> list[dict[str, Any]]:
    corridor = _save(desk, _propose(desk)["corridors"][0])
    r = desk.post(f"/api/traffic/corridors/{corridor['id']}/plans", {})
    assert r.status_code == 201, r.text
    plans: list[dict[str, Any]] = r.json()
    return plans


def test_a_plan_evaluation_refuses_bad_requests_and_stores_nothing(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    am = _plans(desk)[0]
    url = "/api/traffic/evaluations"
    error = _error(desk.post(url, {}), 422, "scenario")
    assert error["code"] == "traffic.error.scenario_or_plan"
    _error(desk.post(url, {"scenario": "arterial", "plan_id": am["id"]}), 422, "plan_id")
    _error(desk.post(url, {"plan_id": 99999}), 404, "plan_id")
    # Another jurisdiction's engineer cannot evaluate (or learn of) this plan.
    _error(desk.post(url, {"plan_id": am["id"]}, who="elsewhere"), 404, "plan_id")
    assert desk.post(url, {"plan_id": am["id"]}, who="analyst").status_code == 403
    # The city's OSM extract is not on this machine: said so, with where to put it.
    from pingan.core.errors import NotFound

    def missing() -> Path:
        raise NotFound("city.error.demo_missing", field="file")

    monkeypatch.setattr(evaluations, "demo_pbf_path", missing)
    with desk.db.session() as s:
        city = s.get(City, desk.city_id)
        assert city is not None
        kept = source_path(city, desk.settings.data_dir)
    assert kept is not None  # the copy the import kept would do: remove it
    kept.unlink()
    error = _error(desk.post(url, {"plan_id": am["id"]}), 422, "plan_id")
    assert error["code"] == "traffic.error.city_extract"
    assert str(Path("traffic") / "extracts") in error["message"]
    assert desk.count(Evaluation) == 0
    with desk.db.session() as s:
        actions = set(s.scalars(select(AuditRecord.action)))
    assert "traffic.evaluation.create" not in actions


@pytest.mark.slow
def test_a_stored_plan_is_evaluated_on_the_city_sumo_network(desk: Desk) -> None:
    pytest.importorskip("sumo", reason="eclipse-sumo not installed (pip install 'pingan[traffic]')")
    pytest.importorskip("traci", reason="traci not installed (pip install 'pingan[traffic]')")
    pytest.importorskip("osmium", reason="pyosmium not installed (pip install 'pingan[traffic]')")
    am = _plans(desk)[0]
    r = desk.post(
        "/api/traffic/evaluations",
        {"plan_id": am["id"], "seeds": 1, "controllers": ["default", "pingan"], "duration_s": 600},
    )
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["plan_id"] == am["id"] and "am_peak" in queued["scenario"]
    _run_until_finished(desk, [queued["id"]])
    done = desk.get(f"/api/traffic/evaluations/{queued['id']}").json()
    assert done["status"] == "done", done["error"]
    mapping = done["result"]["mapping"]
    plan_signals = {t["signal_id"] for t in am["timings"]}
    # Every retimed SUMO light carries one of the plan's signals, each at most once; the
    # lights and desk signals left out are listed, not hidden.
    assert mapping["matched"] and set(mapping["matched"].values()) <= plan_signals
    assert len(set(mapping["matched"].values())) == len(mapping["matched"])
    assert mapping["sumo_lights"] == len(mapping["matched"]) + len(mapping["kept_own_programme"])
    assert mapping["demand"]["trip_every_s"] == 1.5  # the morning peak's full demand
    # The plan's design volume drives the mapped corridor end to end.
    assert mapping["demand"]["corridor_vph"] == am["inputs"]["volumes"]["through_vph"][0]
    assert mapping["sumo_corridor_m"] > 0 and mapping["sumo_edges"] >= 2
    assert set(done["result"]["table"]) == {"default", "pingan"}
    assert all(row["corridor_tt"][0] > 0 for row in done["result"]["table"].values())
    # The programmes SUMO ran: the plan's common cycle on every retimed light.
    written = (
        Path(desk.settings.data_dir)
        / "traffic"
        / "evaluations"
        / str(queued["id"])
        / "work"
        / "pingan.add.xml"
    )
    logics = ET.parse(written).getroot().findall("tlLogic")
    assert {x.get("id") for x in logics} == set(mapping["matched"])
    for logic in logics:
        cycle = sum(float(p.get("duration", "0")) for p in logic.findall("phase"))
        assert cycle == pytest.approx(am["cycle_s"], abs=0.15)
    # Another jurisdiction does not see the evaluation of this plan.
    assert desk.get(f"/api/traffic/evaluations/{queued['id']}", who="elsewhere").status_code == 404
    others = desk.get("/api/traffic/evaluations", who="elsewhere").json()
    assert queued["id"] not in {e["id"] for e in others}
    with desk.db.session() as s:
        record = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "traffic.evaluation.create")
        ).one()
    assert record.detail["plan_id"] == am["id"]

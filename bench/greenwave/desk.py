"""The traffic desk on the demo city through the real API: proposal and planning times,
plans, and the before/after estimate.

Run with ``python bench/greenwave/desk.py [--sumo [--seeds 3] [--workers 2]]``. It imports
the demo city into a temporary folder (SQLite), signs in a traffic engineer, proposes
corridors towards every clinic (the extract maps no hospital), stores the first clinic's
corridors and plans them in order (the later ones hold the signals they share with the
earlier ones), and prints every figure docs/desks/traffic.md quotes. With ``--sumo`` the
first corridor's three time-of-day plans, as stored, are then evaluated in SUMO on the
demo city's network at each period's demand (the path ``POST /api/traffic/evaluations
{plan_id}`` takes), against the default programmes, SUMO's Webster + tlsCoordinator,
actuated and max-pressure control, with and without emergency priority.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> None:
    """Run the measurement and print it."""
    from fastapi.testclient import TestClient

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sumo", action="store_true", help="evaluate the stored plans in SUMO")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from pingan.city.models import City
    from pingan.city.service import demo_pbf_path, import_city
    from pingan.core.auth import service as auth
    from pingan.core.auth.models import Jurisdiction
    from pingan.core.auth.permissions import Principal
    from pingan.core.auth.schemas import UserCreate
    from pingan.core.db import Base
    from pingan.core.settings import Settings
    from pingan.web.app import create_app

    root = Path(tempfile.mkdtemp(prefix="pingan-desk-bench-"))
    settings = Settings(
        data_dir=root / "data",
        database_url=f"sqlite:///{root / 'pingan.db'}",
        sim={"enabled": False},
    )
    app = create_app(settings, background=False)
    db = app.state.ctx.db
    Base.metadata.create_all(db.engine)
    report = import_city(
        db=db, path=demo_pbf_path(), name="helsinki", data_dir=settings.data_dir, actor="bench"
    )
    with db.session() as s:
        city = s.get(City, report.city_id)
        assert city is not None and city.jurisdiction_id is not None
        place = s.get(Jurisdiction, city.jurisdiction_id)
        assert place is not None
        auth.create_user(
            db=s,
            user_in=UserCreate(
                username="bench-engineer",
                password="traffic-bench-1",
                roles=["traffic"],
                jurisdictions=[place.code],
            ),
            actor=Principal.system(),
        )
    with TestClient(app) as c:
        token = c.post(
            "/api/auth/login", json={"username": "bench-engineer", "password": "traffic-bench-1"}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        clinics = c.get(
            "/api/traffic/destinations",
            params={"city_id": report.city_id, "kind": "clinic"},
            headers=h,
        ).json()
        times: list[float] = []
        first: dict[str, object] | None = None
        for d in clinics:
            t = time.perf_counter()
            r = c.post(
                "/api/traffic/corridors/propose",
                json={"city_id": report.city_id, "destination_id": d["id"], "count": 3},
                headers=h,
            )
            times.append(time.perf_counter() - t)
            r.raise_for_status()
            doc = r.json()
            first = first or doc
            summary = [
                (round(x["metres"]), len(x["signals"]), x["share"]) for x in doc["corridors"]
            ]
            print(f"{d['name']}: (metres, signals, share of trips) {summary}")
        print(
            f"propose: median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms over {len(times)} clinics"
        )
        assert first is not None
        ids = []
        for x in first["corridors"]:  # type: ignore[attr-defined]
            body = {"city_id": report.city_id, "name": x["name"] or "corridor", "nodes": x["nodes"]}
            ids.append(c.post("/api/traffic/corridors", json=body, headers=h).json()["id"])
        for i in ids:
            t = time.perf_counter()
            r = c.post(f"/api/traffic/corridors/{i}/plans", json={}, headers=h)
            dt = time.perf_counter() - t
            r.raise_for_status()
            for p in r.json():
                cmp = c.get(f"/api/traffic/plans/{p['id']}/compare", headers=h).json()
                b, a = cmp["before"], cmp["after"]
                print(
                    f"corridor {i} {p['period']}: C={p['cycle_s']} s, bands "
                    f"{p['band_out_s']}/{p['band_in_s']} s, held {len(p['coordination'])}; "
                    f"estimate out {b['out']['travel_time_s']}->{a['out']['travel_time_s']} s, "
                    f"stops {b['out']['stops']}->{a['out']['stops']}; "
                    f"in {b['in']['travel_time_s']}->{a['in']['travel_time_s']} s, "
                    f"stops {b['in']['stops']}->{a['in']['stops']}"
                )
            print(f"corridor {i}: three periods planned in {dt * 1000:.0f} ms")
        if args.sumo:
            plans = c.get(f"/api/traffic/corridors/{ids[0]}/plans", headers=h).json()
            evaluate_stored(db, settings.data_dir, root, plans, args.seeds, args.workers)


def evaluate_stored(
    db: object, data_dir: Path, root: Path, plans: list[dict[str, object]], seeds: int, workers: int
) -> None:
    """Each stored plan on the demo city's SUMO network, side by side with the baselines."""
    from pingan.traffic.cli import ratios
    from pingan.traffic.evaluate import evaluate, markdown_table, summarise
    from pingan.traffic.evaluations import plan_scenario, plan_target

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}; {seeds} seeds, {workers} workers"
    )
    for p in sorted(plans, key=lambda p: str(p["period"])):
        started = time.perf_counter()
        with db.session() as s:  # type: ignore[attr-defined]
            target = plan_target(s, int(str(p["id"])), data_dir)
        work = root / f"sumo-{p['period']}"
        scenario, edges, programs, mapping = plan_scenario(target, work)
        _prepared, results = evaluate(
            scenario,
            seeds=list(range(seeds)),
            corridor=edges,
            workers=workers,
            workdir=work / "runs",
            plan_programs=programs,
            progress=lambda r: print(f"  {r['controller']} seed {r['seed']} done", flush=True),
        )
        table = summarise(results)
        print(
            f"plan {p['id']} ({p['period']}, cycle {p['cycle_s']} s): {mapping['sumo_lights']} "
            f"SUMO lights on {mapping['sumo_corridor_m']} m of corridor (desk "
            f"{mapping['desk_corridor_m']} m), {len(mapping['matched'])} carry the plan; "
            f"demand one trip every {mapping['demand']['trip_every_s']} s + "
            f"{mapping['demand']['corridor_vph']} veh/h along the corridor; "
            f"{time.perf_counter() - started:.0f} s wall"
        )
        print(markdown_table(table))  # mean ± sd over the seeds
        for name, r in ratios(table).items():
            print(f"  Pingan (stored plan) corridor travel time / {name}: {r:.3f} ({r - 1:+.1%})")
        if "pingan+priority" in table and table["pingan"]["ev_delay"][0] > 0:
            ev = table["pingan+priority"]["ev_delay"][0] / table["pingan"]["ev_delay"][0]
            print(f"  emergency-vehicle delay with priority / without: {ev:.3f}")


if __name__ == "__main__":
    main()

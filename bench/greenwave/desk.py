"""The traffic desk on the demo city through the real API: proposal and planning times,
plans, and the before/after estimate.

Run with ``python bench/greenwave/desk.py``. It imports the demo city into a temporary
folder (SQLite), signs in a traffic engineer, proposes corridors towards every clinic (the
extract maps no hospital), stores the first clinic's corridors and plans them in order (the
later ones hold the signals they share with the earlier ones), and prints every figure
docs/desks/traffic.md quotes.
"""

from __future__ import annotations

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


if __name__ == "__main__":
    main()

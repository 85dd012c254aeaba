"""Side-by-side evaluation of signal control strategies in SUMO.

The same network, demand and seeds run under each controller:

* ``default``: the network's own fixed-time programmes;
* ``webster+coord``: SUMO's ``tlsCycleAdaptation.py`` (Webster) then ``tlsCoordinator.py``
  (offsets) on the design demand;
* ``actuated``: SUMO's gap-based actuated control on the default phases (greens 5–60 s);
* ``max-pressure``: :class:`pingan.traffic.maxpressure.MaxPressure` through TraCI;
* ``pingan``: the MAXBAND green wave of :mod:`pingan.traffic.plan`;
* ``pingan+priority``: the same with emergency-vehicle preemption.

Emergency vehicles (ids ``ev.*``, vClass emergency, no blue-light device: they obey the
signals and other vehicles do not give way, so they drive at the speed limit like everyone
else — SUMO measures time loss against a vehicle's own desired speed, and a faster
ambulance stuck in a platoon would count car-following as signal delay) run the corridor,
alternating directions, in every run. Measured per run: network-wide
mean travel time, time loss and stops (tripinfo, unfinished vehicles included) and
throughput (arrived); per corridor direction, over vehicles that drive its whole length,
travel time, time loss against the speed limit and stops (speed falling below 0.1 m/s, as
SUMO's waitingCount); the emergency vehicles' travel time, time loss and stops.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import statistics
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pingan.core.errors import ValidationFailed
from pingan.traffic.sumo import (
    Program,
    corridor_signals,
    count_link_flows,
    free_flow_time,
    load_net,
    parse_tripinfo,
    read_programs,
    read_routes,
    require_sumo,
    reverse_corridor,
    sumo_binary,
    sumo_tool,
    write_programs,
    write_routes,
)

if TYPE_CHECKING:
    from pingan.traffic.plan import GreenWave

__all__ = [
    "CONTROLLERS",
    "Scenario",
    "busiest_corridor",
    "evaluate",
    "pick_calibrated",
    "prepare",
    "run_one",
    "scenario_from_sumocfg",
    "summarise",
]

CALIBRATION_SEED = 1000
"""SUMO's seed for the calibration runs of Pingan's candidate cycles (evaluations use 0, 1, …)."""
SIDE_DEGREES: tuple[float, ...] = (0.5, 0.7, 0.9)
"""Side-phase degrees of saturation the calibration tries with every candidate cycle (the
first is the plan's default: generous to side streets; higher ones give the corridor more)."""

CONTROLLERS: tuple[str, ...] = (
    "default",
    "webster+coord",
    "actuated",
    "max-pressure",
    "pingan",
    "pingan+priority",
)


@dataclass(frozen=True)
class Scenario:
    """A SUMO scenario: network, demand per seed, time window."""

    name: str
    net: Path
    routes: tuple[Path, ...]
    """Demand used for every seed (SUMO's seed then varies driver behaviour)."""
    begin: float = 0.0
    end: float = 3600.0
    additional: tuple[Path, ...] = ()
    routes_by_seed: dict[int, tuple[Path, ...]] = field(default_factory=dict)
    """Seed-specific demand (the synthetic arterial draws new Poisson arrivals per seed)."""

    def demand(self, seed: int) -> tuple[Path, ...]:
        """Route files for ``seed``."""
        return self.routes_by_seed.get(seed, self.routes)


def scenario_from_sumocfg(path: Path) -> Scenario:
    """Read net, routes, additional files and the time window from a ``.sumocfg``."""
    if not path.is_file():
        raise ValidationFailed("traffic.error.scenario", field="scenario", path=str(path))
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValidationFailed(
            "traffic.error.network", field="scenario", path=str(path), reason=str(exc)
        ) from exc

    def values(tag: str) -> list[str]:
        out: list[str] = []
        for elem in root.iter(tag):
            out.extend(v.strip() for v in str(elem.get("value", "")).split(",") if v.strip())
        return out

    base = path.parent
    nets = values("net-file")
    if not nets:
        raise ValidationFailed("traffic.error.no_net", field="scenario", path=str(path))
    begin = float(values("begin")[0]) if values("begin") else 0.0
    end = float(values("end")[0]) if values("end") else begin + 3600.0
    return Scenario(
        name=path.name.split(".")[0],
        net=(base / nets[0]).resolve(),
        routes=tuple((base / r).resolve() for r in values("route-files")),
        begin=begin,
        end=end,
        additional=tuple((base / a).resolve() for a in values("additional-files")),
    )


# --------------------------------------------------------------------------------------
# Corridor choice


def busiest_corridor(net: Any, routes: Sequence[tuple[float, list[str]]]) -> list[str]:
    """The signalled corridor carrying most vehicles: a chain of near-straight edges.

    From each of the busiest edges the chain grows forwards and backwards along the busiest
    continuation that turns less than 35°; the chain with the largest vehicle-kilometres over
    at least two traffic lights wins, trimmed to one edge beyond its first and last light.
    """
    counts: Counter[str] = Counter()
    for _, edges in routes:
        counts.update(edges)

    def heading(edge: Any) -> float:
        shape = edge.getShape()
        (x0, y0), (x1, y1) = shape[-2], shape[-1]
        (a0, b0) = shape[0]
        (a1, b1) = shape[1]
        return math.atan2((y1 - y0) + (b1 - b0), (x1 - x0) + (a1 - a0))

    def turn(a: Any, b: Any) -> float:
        d = abs(heading(a) - heading(b)) % (2 * math.pi)
        return min(d, 2 * math.pi - d)

    def signalled(edge: Any) -> bool:
        return "traffic_light" in str(edge.getToNode().getType())

    def grow(start: Any) -> list[Any]:
        chain = [start]
        seen = {start.getID()}
        while True:
            last = chain[-1]
            options = [
                e
                for e in last.getOutgoing()
                if e.getID() not in seen
                and e.getToNode() != last.getFromNode()
                and turn(last, e) < math.radians(35)
                and counts[e.getID()] > 0
            ]
            if not options:
                break
            nxt = max(options, key=lambda e: counts[e.getID()])
            if counts[nxt.getID()] < 0.3 * counts[start.getID()]:
                break
            chain.append(nxt)
            seen.add(nxt.getID())
        while True:
            first = chain[0]
            options = [
                e
                for e in first.getIncoming()
                if e.getID() not in seen
                and e.getFromNode() != first.getToNode()
                and turn(e, first) < math.radians(35)
                and counts[e.getID()] > 0
            ]
            if not options:
                break
            prv = max(options, key=lambda e: counts[e.getID()])
            if counts[prv.getID()] < 0.3 * counts[start.getID()]:
                break
            chain.insert(0, prv)
            seen.add(prv.getID())
        return chain

    best: list[Any] = []
    best_score = 0.0
    for edge_id, _ in counts.most_common(40):
        if not net.hasEdge(edge_id):
            continue
        chain = grow(net.getEdge(edge_id))
        lights = [i for i, e in enumerate(chain[:-1]) if signalled(e)]
        if len(lights) < 2:
            continue
        chain = chain[lights[0] : lights[-1] + 2]
        score = sum(counts[e.getID()] * e.getLength() for e in chain)
        if score > best_score:
            best, best_score = chain, score
    if not best:
        raise ValidationFailed("traffic.error.no_corridor", field="corridor")
    return [str(e.getID()) for e in best]


# --------------------------------------------------------------------------------------
# Preparation: controller programmes and emergency vehicles


@dataclass
class Prepared:
    """What every run needs: additional files per controller, the corridor, EV routes."""

    scenario: Scenario
    corridor: list[str]
    corridor_in: list[str]
    additional: dict[str, list[Path]]
    emergency: Path
    free_flow: dict[str, float]
    corridor_tls: list[str]
    plan_json: str = ""
    plan_svg: str = ""
    notes: list[str] = field(default_factory=list)
    calibration: list[dict[str, Any]] = field(default_factory=list)
    """Pingan's candidate cycles as simulated on the calibration seed (see :func:`prepare`)."""


def _emergency_routes(
    path: Path, corridor: list[str], corridor_in: list[str], begin: float, end: float, every: float
) -> Path:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<routes>",
        '    <vType id="ambulance" vClass="emergency" guiShape="emergency" speedFactor="1.0" '
        'accel="2.6" decel="4.5" sigma="0.2" color="1,0,0"/>',
    ]
    t = begin + 300.0
    k = 0
    while t < end - 400.0:
        edges = corridor if k % 2 == 0 or not corridor_in else corridor_in
        lines.append(
            f'    <vehicle id="ev.{k}" type="ambulance" depart="{t:.1f}" departLane="best" '
            f'departSpeed="max"><route edges="{" ".join(edges)}"/></vehicle>'
        )
        t += every
        k += 1
    lines.append("</routes>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _actuated(programs: dict[str, Program]) -> list[Program]:
    out: list[Program] = []
    for prog in programs.values():
        phases = [
            p
            if p.is_transition
            else replace(p, duration=max(p.duration, 5.0), min_dur=5.0, max_dur=60.0)
            for p in prog.phases
        ]
        out.append(Program(prog.tls_id, "actuated", prog.offset, phases, kind="actuated"))
    return out


def _tool(script: str, args: list[str], cwd: Path) -> None:
    env = dict(os.environ)
    env["SUMO_HOME"] = str(require_sumo())
    proc = subprocess.run(
        [sys.executable, str(sumo_tool(script)), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise ValidationFailed(
            "traffic.error.tool_failed",
            field=script,
            tool=script,
            reason=(proc.stderr or proc.stdout)[-400:],
        )


def _has_unrouted(paths: Sequence[Path]) -> bool:
    """True when route files hold trips or flows (demand without explicit routes)."""
    for path in paths:
        for _, elem in ET.iterparse(str(path), events=("start",)):
            if elem.tag in ("trip", "flow"):
                return True
    return False


def _route_by_simulation(scenario: Scenario, routes: Sequence[Path], workdir: Path) -> Path:
    """Routed vehicles for trip/flow demand: one default run with ``--vehroute-output``.

    SUMO's tools (tlsCycleAdaptation, tlsCoordinator) and the flow counts need explicit
    routes; this records the routes SUMO itself chose under the default programmes.
    """
    out = workdir / "design.rou.xml"
    cmd = [
        sumo_binary("sumo"),
        "-n", str(scenario.net),
        "-r", ",".join(str(r) for r in routes),
        "--begin", str(scenario.begin),
        "--end", str(scenario.end),
        "--vehroute-output", str(out),
        "--vehroute-output.route-length", "false",
        "--no-step-log", "true",
        "--no-warnings", "true",
        "--ignore-route-errors", "true",
    ]  # fmt: skip
    if scenario.additional:
        cmd += ["-a", ",".join(str(a) for a in scenario.additional)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ValidationFailed(
            "traffic.error.sumo_failed", field="scenario", reason=proc.stderr[-300:]
        )
    # Inline routes only (rerouted vehicles keep the route they drove), for SUMO's tools.
    return write_routes(read_routes([out]), workdir / "design.inline.rou.xml")


def prepare(
    scenario: Scenario,
    workdir: Path,
    *,
    corridor: Sequence[str] | None = None,
    emergency_every_s: float = 300.0,
    controllers: Sequence[str] = CONTROLLERS,
    calibrate: bool = True,
    calibration_seed: int = CALIBRATION_SEED,
    workers: int = 1,
    calibration_progress: Callable[[int, int], None] | None = None,
    plan_programs: Sequence[Program] | None = None,
) -> Prepared:
    """Design every controller's programmes on the design demand (seed 0's).

    ``plan_programs``, when given, are Pingan's programmes as they stand (a plan stored by
    the desk, carried onto this network by :mod:`pingan.traffic.citymap`): nothing is
    designed or calibrated for Pingan then, the rest is the same.

    Pingan's plan: :func:`pingan.traffic.plan.green_wave_candidates` gives one plan per
    candidate common cycle with its estimated delay. With ``calibrate`` each candidate, for
    each side-phase degree of saturation in :data:`SIDE_DEGREES` (and the default
    programmes), is simulated once on ``calibration_seed`` — SUMO's seed for
    driver behaviour, never one of the evaluation's seeds — and the plan with the least
    corridor travel time is kept among those whose network travel time is no worse than the
    default programmes' (else the least network travel time): the analytic delay estimate
    ranks cycles well on some networks and badly on others (RESCO ingolstadt7: it chose
    77.4 s, the corridor then lost its gain; simulated, 117.4 s). Without it, the least
    estimated delay wins.
    """
    from pingan.traffic.diagram import time_space_svg
    from pingan.traffic.plan import green_wave_candidates

    require_sumo()
    workdir.mkdir(parents=True, exist_ok=True)
    net = load_net(scenario.net)
    design_routes = scenario.demand(0)
    if _has_unrouted(design_routes):
        design_routes = (_route_by_simulation(scenario, design_routes, workdir),)
    routes = [
        (t, edges)
        for t, edges in read_routes(list(design_routes))
        if scenario.begin <= t < scenario.end
    ]
    if not routes:
        raise ValidationFailed("traffic.error.no_routes", field="routes")
    chosen = list(corridor) if corridor else busiest_corridor(net, routes)
    for i, e in enumerate(chosen):
        if not net.hasEdge(e):
            raise ValidationFailed("traffic.error.edge", field=f"corridor[{i}]", edge=e)
    back = reverse_corridor(net, chosen)
    programs = read_programs(net)
    hours = max((scenario.end - scenario.begin) / 3600.0, 1e-6)
    flows = count_link_flows(net, routes, hours=hours)
    additional: dict[str, list[Path]] = {"default": [], "max-pressure": []}
    notes: list[str] = []
    plan_json = plan_svg = ""
    if "actuated" in controllers:
        additional["actuated"] = [write_programs(_actuated(programs), workdir / "actuated.add.xml")]
    if "webster+coord" in controllers:
        tca = workdir / "tca.add.xml"
        coord = workdir / "coord.add.xml"
        route_arg = ",".join(str(r) for r in design_routes)
        _tool(
            "tlsCycleAdaptation.py",
            ["-n", str(scenario.net), "-r", route_arg, "-b", str(scenario.begin), "-o", str(tca)],
            workdir,
        )
        _tool(
            "tlsCoordinator.py",
            [
                "-n",
                str(scenario.net),
                "-r",
                str(design_routes[0]),
                "-a",
                str(tca),
                "-o",
                str(coord),
            ],
            workdir,
        )
        additional["webster+coord"] = [tca, coord]
    emergency = _emergency_routes(
        workdir / "emergency.rou.xml", chosen, back, scenario.begin, scenario.end, emergency_every_s
    )
    free_flow = {
        "out": free_flow_time(net, chosen[1:]),
        "in": free_flow_time(net, back[1:]) if back else 0.0,
    }
    corridor_tls = [s.tls_id for s in corridor_signals(net, chosen)]
    calibration: list[dict[str, Any]] = []
    if plan_programs is not None and ("pingan" in controllers or "pingan+priority" in controllers):
        path = write_programs(
            plan_programs, workdir / "pingan.add.xml", comment="Pingan plan stored by the desk"
        )
        additional["pingan"] = [path]
        additional["pingan+priority"] = [path]
    elif "pingan" in controllers or "pingan+priority" in controllers:
        waves = green_wave_candidates(net, chosen, programs, flows, side_degree=SIDE_DEGREES[0])
        wave = min(waves, key=lambda w: (w.estimated_delay, w.band.cycle_s))
        if calibrate:
            waves += [
                w
                for degree in SIDE_DEGREES[1:]
                for w in green_wave_candidates(net, chosen, programs, flows, side_degree=degree)
            ]
        if calibrate and len(waves) > 1:
            base = Job(
                controller="default",
                seed=calibration_seed,
                net=scenario.net,
                routes=(*scenario.demand(calibration_seed), emergency),
                additional=scenario.additional,
                begin=scenario.begin,
                end=scenario.end,
                corridor=tuple(chosen),
                corridor_in=tuple(back),
                free_flow=(free_flow["out"], free_flow["in"]),
                corridor_tls=tuple(corridor_tls),
                outdir=workdir / "calibration",
            )
            wave, calibration = _calibrate(
                base, waves, workdir / "calibration", workers, calibration_progress
            )
        path = write_programs(
            wave.programs.values(),
            workdir / "pingan.add.xml",
            comment=f"Pingan green wave: C={wave.band.cycle_s:.1f} s, "
            f"bands {wave.band.band_out_s:.1f}/{wave.band.band_in_s:.1f} s",
        )
        (workdir / "pingan.json").write_text(wave.to_json(), encoding="utf-8")
        additional["pingan"] = [path]
        additional["pingan+priority"] = [path]
        plan_json = wave.to_json()
        plan_svg = time_space_svg(wave.band, title=f"{scenario.name}: Pingan green wave")
    return Prepared(
        scenario=scenario,
        corridor=chosen,
        corridor_in=back,
        additional={k: v for k, v in additional.items() if k in controllers},
        emergency=emergency,
        free_flow=free_flow,
        corridor_tls=corridor_tls,
        plan_json=plan_json,
        plan_svg=plan_svg,
        notes=notes,
        calibration=calibration,
    )


def _calibrate(
    base: Job,
    waves: Sequence[GreenWave],
    workdir: Path,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[GreenWave, list[dict[str, Any]]]:
    """Simulate each candidate plan and the default programmes once (``base``'s seed); the
    candidate with the least corridor travel time whose network travel time is no worse than
    the default's (else the least network travel time), and the table of what was measured.
    ``progress(done, total)`` is called after each run."""
    workdir.mkdir(parents=True, exist_ok=True)
    jobs = [base]
    for k, wave in enumerate(waves):
        path = write_programs(wave.programs.values(), workdir / f"candidate_{k}.add.xml")
        jobs.append(replace(base, controller=f"candidate-{k}", additional=(*base.additional, path)))
    results: list[dict[str, Any]] = []
    if workers <= 1:
        for job in jobs:
            results.append(run_one(job))
            if progress:
                progress(len(results), len(jobs))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            for result in pool.map(run_one, jobs):  # in order: the default run first
                results.append(result)
                if progress:
                    progress(len(results), len(jobs))
    default_network = float(results[0]["network"]["travel_time_s"])
    rows: list[dict[str, Any]] = []
    for wave, result in zip(waves, results[1:], strict=True):
        rows.append(
            {
                "cycle_s": round(wave.band.cycle_s, 1),
                "side_degree": wave.side_degree,
                "band_s": round(max(wave.band.band_out_s, wave.band.band_in_s), 2),
                "estimated_delay": round(wave.estimated_delay, 1),
                "corridor_tt_s": round(_corridor_mean(result, "travel_time_s"), 1),
                "network_tt_s": round(float(result["network"]["travel_time_s"]), 1),
                "default_network_tt_s": round(default_network, 1),
                "chosen": False,
            }
        )
    best = pick_calibrated(rows, default_network)
    rows[best]["chosen"] = True
    return waves[best], rows


def pick_calibrated(rows: Sequence[Mapping[str, Any]], default_network_tt_s: float) -> int:
    """Index of the candidate to keep: the least ``corridor_tt_s`` among those whose
    ``network_tt_s`` is no worse than the default programmes', else the least
    ``network_tt_s``; ties go to the shorter cycle. A candidate whose corridor saw no
    vehicle (``nan``) is never preferred for its corridor."""
    if not rows:
        raise ValueError("no candidates")

    def corridor(i: int) -> float:
        v = float(rows[i]["corridor_tt_s"])
        return math.inf if math.isnan(v) else v

    fit = [i for i, r in enumerate(rows) if float(r["network_tt_s"]) <= default_network_tt_s]
    if fit:
        return min(fit, key=lambda i: (corridor(i), float(rows[i]["cycle_s"])))
    return min(
        range(len(rows)), key=lambda i: (float(rows[i]["network_tt_s"]), float(rows[i]["cycle_s"]))
    )


# --------------------------------------------------------------------------------------
# One run


@dataclass(frozen=True)
class Job:
    """One simulation: a controller on a seed."""

    controller: str
    seed: int
    net: Path
    routes: tuple[Path, ...]
    additional: tuple[Path, ...]
    begin: float
    end: float
    corridor: tuple[str, ...]
    corridor_in: tuple[str, ...]
    free_flow: tuple[float, float]
    corridor_tls: tuple[str, ...]
    outdir: Path
    log_phases: bool = False


class _CorridorMonitor:
    """Travel time, time loss and stops of vehicles driving a corridor's whole length."""

    def __init__(self, edges: Sequence[str], free_flow: float) -> None:
        self.edges = list(edges)
        self.index = {e: i for i, e in enumerate(self.edges)}
        self.free_flow = free_flow
        self.entered: dict[str, float] = {}
        self.last: dict[str, tuple[int, float]] = {}
        self.stops: Counter[str] = Counter()
        self.moving: dict[str, bool] = {}

    def step(self, conn: Any, time_s: float) -> None:
        seen: set[str] = set()
        for edge in self.edges:
            for vid in conn.edge.getLastStepVehicleIDs(edge):
                if vid.startswith("ev."):
                    continue
                seen.add(vid)
                idx = self.index[edge]
                if vid not in self.entered:
                    if idx != 0:
                        self.entered[vid] = math.nan  # joined mid-corridor
                    else:
                        self.entered[vid] = time_s
                    self.moving[vid] = True
                self.last[vid] = (idx, time_s)
                speed = conn.vehicle.getSpeed(vid)
                if speed < 0.1 and self.moving.get(vid, True):
                    self.stops[vid] += 1
                self.moving[vid] = speed >= 0.1
        del seen

    def result(self) -> dict[str, float]:
        tts: list[float] = []
        stops: list[float] = []
        last_idx = len(self.edges) - 1
        for vid, start in self.entered.items():
            idx, t = self.last[vid]
            if math.isnan(start) or idx != last_idx:
                continue
            tts.append(t - start)
            stops.append(float(self.stops[vid]))
        if not tts:
            return {
                "vehicles": 0.0,
                "travel_time_s": math.nan,
                "time_loss_s": math.nan,
                "stops": math.nan,
            }
        mean_tt = statistics.fmean(tts)
        return {
            "vehicles": float(len(tts)),
            "travel_time_s": mean_tt,
            "time_loss_s": mean_tt - self.free_flow,
            "stops": statistics.fmean(stops),
        }


def run_one(job: Job) -> dict[str, Any]:
    """Run one simulation through TraCI and return its measurements."""
    require_sumo()
    import traci  # type: ignore[import-not-found,import-untyped,unused-ignore]

    from pingan.traffic.maxpressure import MaxPressure
    from pingan.traffic.preemption import Preemption

    job.outdir.mkdir(parents=True, exist_ok=True)
    tripinfo = job.outdir / f"tripinfo_{job.controller.replace('+', '_')}_{job.seed}.xml"
    cmd = [
        sumo_binary("sumo"),
        "-n", str(job.net),
        "-r", ",".join(str(r) for r in job.routes),
        "--begin", str(job.begin),
        "--end", str(job.end),
        "--seed", str(job.seed),
        "--tripinfo-output", str(tripinfo),
        "--tripinfo-output.write-unfinished", "true",
        "--time-to-teleport", "300",
        "--no-step-log", "true",
        "--no-warnings", "true",
        "--duration-log.disable", "true",
    ]  # fmt: skip
    if job.additional:
        cmd += ["-a", ",".join(str(a) for a in job.additional)]
    label = f"pingan-{job.controller}-{job.seed}-{os.getpid()}"
    try:
        # traci prints " Retrying in 1 seconds" while SUMO starts up: keep the console clean.
        with contextlib.redirect_stdout(io.StringIO()):
            traci.start(cmd, label=label)
    except Exception as exc:  # SUMO refused the files: report which and why
        raise ValidationFailed(
            "traffic.error.sumo_failed", field="scenario", reason=str(exc)[:300]
        ) from exc
    conn = traci.getConnection(label)
    controller: Any = None
    if job.controller == "max-pressure":
        controller = MaxPressure()
    elif job.controller.endswith("+priority"):
        controller = Preemption(tls_ids=list(job.corridor_tls) or None)
    monitors = {"out": _CorridorMonitor(job.corridor, job.free_flow[0])}
    if job.corridor_in:
        monitors["in"] = _CorridorMonitor(job.corridor_in, job.free_flow[1])
    phase_log: dict[str, list[tuple[float, int, str]]] = {t: [] for t in job.corridor_tls}
    try:
        if controller is not None:
            controller.start(conn)
        time_s = float(conn.simulation.getTime())
        while time_s < job.end:
            conn.simulationStep()
            time_s = float(conn.simulation.getTime())
            if controller is not None:
                controller.step(conn, time_s)
            for mon in monitors.values():
                mon.step(conn, time_s)
            if job.log_phases:
                for tls_id, log in phase_log.items():
                    phase = int(conn.trafficlight.getPhase(tls_id))
                    state = str(conn.trafficlight.getRedYellowGreenState(tls_id))
                    if not log or log[-1][1] != phase or log[-1][2] != state:
                        log.append((time_s, phase, state))
            if conn.simulation.getMinExpectedNumber() <= 0:
                break
    finally:
        conn.close()
    stats = parse_tripinfo(tripinfo)
    ev = stats.emergency

    def ev_mean(key: str) -> float:
        return statistics.fmean(e[key] for e in ev) if ev else math.nan

    return {
        "controller": job.controller,
        "seed": job.seed,
        "network": {
            "vehicles": stats.vehicles,
            "arrived": stats.arrived,
            "travel_time_s": stats.travel_time_s,
            "time_loss_s": stats.time_loss_s,
            "stops": stats.stops,
        },
        "corridor": {k: m.result() for k, m in monitors.items()},
        "emergency": {
            "vehicles": len(ev),
            "travel_time_s": ev_mean("travel_time_s"),
            "time_loss_s": ev_mean("time_loss_s"),
            "stops": ev_mean("stops"),
        },
        "preemptions": getattr(controller, "preemptions", 0),
        "phase_log": phase_log if job.log_phases else {},
    }


def jobs_for(prepared: Prepared, seeds: Sequence[int], outdir: Path) -> list[Job]:
    """Every (controller, seed) job of an evaluation."""
    sc = prepared.scenario
    return [
        Job(
            controller=name,
            seed=seed,
            net=sc.net,
            routes=(*sc.demand(seed), prepared.emergency),
            additional=(*sc.additional, *files),
            begin=sc.begin,
            end=sc.end,
            corridor=tuple(prepared.corridor),
            corridor_in=tuple(prepared.corridor_in),
            free_flow=(prepared.free_flow["out"], prepared.free_flow["in"]),
            corridor_tls=tuple(prepared.corridor_tls),
            outdir=outdir,
        )
        for name, files in prepared.additional.items()
        for seed in seeds
    ]


def evaluate(
    scenario: Scenario,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    corridor: Sequence[str] | None = None,
    workers: int = 2,
    workdir: Path | None = None,
    controllers: Sequence[str] = CONTROLLERS,
    emergency_every_s: float = 300.0,
    log_phases: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
    calibrate: bool = True,
    calibration_progress: Callable[[int, int], None] | None = None,
    plan_programs: Sequence[Program] | None = None,
) -> tuple[Prepared, list[dict[str, Any]]]:
    """Prepare (Pingan's plan calibrated in simulation unless ``calibrate`` is false, see
    :func:`prepare`) and run every controller on every seed (``workers`` processes)."""
    base = workdir or Path(tempfile.mkdtemp(prefix="pingan-traffic-"))
    prepared = prepare(
        scenario,
        base,
        corridor=corridor,
        controllers=controllers,
        emergency_every_s=emergency_every_s,
        calibrate=calibrate,
        workers=workers,
        calibration_progress=calibration_progress,
        plan_programs=plan_programs,
    )
    jobs = [replace(j, log_phases=log_phases) for j in jobs_for(prepared, seeds, base / "runs")]
    results: list[dict[str, Any]] = []
    if workers <= 1:
        for job in jobs:
            results.append(run_one(job))
            if progress:
                progress(results[-1])
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_one, job) for job in jobs]
            for fut in as_completed(futures):
                results.append(fut.result())
                if progress:
                    progress(results[-1])
    order = {name: i for i, name in enumerate(CONTROLLERS)}
    results.sort(key=lambda r: (order.get(r["controller"], 99), r["seed"]))
    return prepared, results


# --------------------------------------------------------------------------------------
# Summary


def _corridor_mean(result: dict[str, Any], key: str) -> float:
    """Vehicle-weighted mean over both corridor directions."""
    total = weight = 0.0
    for d in result["corridor"].values():
        n = d["vehicles"]
        if n and not math.isnan(d[key]):
            total += d[key] * n
            weight += n
    return total / weight if weight else math.nan


METRICS: tuple[tuple[str, Callable[[dict[str, Any]], float]], ...] = (
    ("corridor_tt", lambda r: _corridor_mean(r, "travel_time_s")),
    ("corridor_delay", lambda r: _corridor_mean(r, "time_loss_s")),
    ("corridor_stops", lambda r: _corridor_mean(r, "stops")),
    ("network_tt", lambda r: float(r["network"]["travel_time_s"])),
    ("network_delay", lambda r: float(r["network"]["time_loss_s"])),
    ("network_stops", lambda r: float(r["network"]["stops"])),
    ("throughput", lambda r: float(r["network"]["arrived"])),
    ("ev_tt", lambda r: float(r["emergency"]["travel_time_s"])),
    ("ev_delay", lambda r: float(r["emergency"]["time_loss_s"])),
    ("ev_stops", lambda r: float(r["emergency"]["stops"])),
)


def summarise(results: Sequence[dict[str, Any]]) -> dict[str, dict[str, tuple[float, float]]]:
    """Per controller and metric: (mean, standard deviation) over the seeds."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by.setdefault(r["controller"], []).append(r)
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for name, rs in by.items():
        row: dict[str, tuple[float, float]] = {}
        for metric, fn in METRICS:
            vals = [v for v in (fn(r) for r in rs) if not math.isnan(v)]
            if not vals:
                row[metric] = (math.nan, math.nan)
            else:
                row[metric] = (
                    statistics.fmean(vals),
                    statistics.stdev(vals) if len(vals) > 1 else 0.0,
                )
        table[name] = row
    return table


def markdown_table(table: dict[str, dict[str, tuple[float, float]]]) -> str:
    """The summary as a Markdown table (mean ± sd over seeds)."""
    heads = [
        ("corridor_tt", "corridor travel time (s)"),
        ("corridor_delay", "corridor delay (s)"),
        ("corridor_stops", "corridor stops"),
        ("network_tt", "network travel time (s)"),
        ("network_delay", "network delay (s)"),
        ("network_stops", "network stops"),
        ("throughput", "throughput (veh)"),
        ("ev_tt", "EV travel time (s)"),
        ("ev_delay", "EV delay (s)"),
        ("ev_stops", "EV stops"),
    ]
    lines = [
        "| controller | " + " | ".join(h for _, h in heads) + " |",
        "|---" * (len(heads) + 1) + "|",
    ]
    for name in CONTROLLERS:
        if name not in table:
            continue
        cells = []
        for key, _ in heads:
            m, s = table[name][key]
            digits = 2 if "stops" in key else (0 if key == "throughput" else 1)
            cells.append("–" if math.isnan(m) else f"{m:.{digits}f} ± {s:.{digits}f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

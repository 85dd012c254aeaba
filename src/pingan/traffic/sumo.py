"""Eclipse SUMO helpers: find SUMO, build the synthetic arterial, read signals, write plans.

SUMO is optional (the ``traffic`` extra: eclipse-sumo, sumolib, traci). Nothing here imports
it at module import time; :func:`require_sumo` raises :class:`SumoUnavailable` with a clear
message when it is missing. Every function that reads a network turns SUMO's failures into
``traffic.error.network`` naming the file.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from pingan.core.errors import PinganError, ValidationFailed

__all__ = [
    "Arterial",
    "CorridorSignal",
    "Program",
    "ProgramPhase",
    "SumoUnavailable",
    "build_arterial",
    "build_osm_network",
    "build_osm_scenario",
    "corridor_signals",
    "count_link_flows",
    "load_net",
    "parse_tripinfo",
    "programs_xml",
    "read_programs",
    "require_sumo",
    "sumo_binary",
    "sumo_home",
    "write_programs",
    "write_routes",
    "write_sumocfg",
]


class SumoUnavailable(PinganError):
    """Eclipse SUMO is not installed (install the ``traffic`` extra)."""

    status_code = 503
    default_key = "traffic.error.sumo_missing"


def sumo_home() -> Path | None:
    """SUMO's home: ``SUMO_HOME`` if set and valid, else the eclipse-sumo package's."""
    env = os.environ.get("SUMO_HOME")
    if env and (Path(env) / "bin").is_dir():
        return Path(env)
    try:
        import sumo  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    home = Path(sumo.SUMO_HOME)
    return home if (home / "bin").is_dir() else None


def require_sumo() -> Path:
    """SUMO's home, or :class:`SumoUnavailable` when SUMO or sumolib/traci are missing."""
    home = sumo_home()
    if home is None:
        raise SumoUnavailable(field="sumo")
    try:
        import sumolib  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
        import traci  # type: ignore[import-not-found,import-untyped,unused-ignore]  # noqa: F401
    except ImportError as exc:
        raise SumoUnavailable(field="sumo") from exc
    os.environ.setdefault("SUMO_HOME", str(home))
    return home


def sumo_binary(name: str = "sumo") -> str:
    """Path of a SUMO executable (``sumo``, ``netconvert``, ``duarouter`` ...)."""
    home = require_sumo()
    path = home / "bin" / name
    if path.is_file():
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise SumoUnavailable(field="sumo")
    return found


def sumo_tool(name: str) -> Path:
    """Path of a script in SUMO's ``tools`` folder (``tlsCoordinator.py`` ...)."""
    return require_sumo() / "tools" / name


# --------------------------------------------------------------------------------------
# Networks and programmes


def load_net(path: Path) -> Any:
    """Read a ``.net.xml`` with its traffic-light programmes (sumolib), with a clear error."""
    require_sumo()
    import sumolib

    if not Path(path).is_file():
        raise ValidationFailed(
            "traffic.error.network", field="net", path=str(path), reason="missing"
        )
    try:
        return sumolib.net.readNet(str(path), withPrograms=True, withInternal=False)
    except Exception as exc:  # sumolib raises SAX errors, KeyError ... on broken files
        raise ValidationFailed(
            "traffic.error.network", field="net", path=str(path), reason=str(exc)[:200]
        ) from exc


@dataclass(frozen=True)
class ProgramPhase:
    """One phase of a signal programme."""

    state: str
    duration: float
    min_dur: float | None = None
    max_dur: float | None = None

    @property
    def is_transition(self) -> bool:
        """Yellow or all-red (no green link): must never be skipped."""
        return not any(c in "Gg" for c in self.state) or any(c in "yY" for c in self.state)


@dataclass
class Program:
    """A signal programme (tlLogic)."""

    tls_id: str
    program_id: str
    offset: float
    phases: list[ProgramPhase]
    kind: str = "static"

    @property
    def cycle_s(self) -> float:
        """Sum of the phase durations."""
        return sum(p.duration for p in self.phases)

    def phase_start(self, index: int) -> float:
        """Start of phase ``index`` within the cycle."""
        return sum(p.duration for p in self.phases[:index])

    def green_block(self, links: Iterable[int]) -> tuple[float, float]:
        """(start, length) of the longest run of phases giving all ``links`` green (cyclic)."""
        links = list(links)
        n = len(self.phases)
        ok = [all(p.state[i] in "Gg" for i in links) for p in self.phases]
        if not any(ok):
            return 0.0, 0.0
        if all(ok):
            return 0.0, self.cycle_s
        best = (0.0, 0.0)
        for start in range(n):
            if not ok[start] or ok[(start - 1) % n]:
                continue
            length = 0.0
            k = start
            while ok[k % n] and k < start + n:
                length += self.phases[k % n].duration
                k += 1
            if length > best[1]:
                best = (self.phase_start(start), length)
        return best


def read_programs(net: Any) -> dict[str, Program]:
    """The first (active) programme of every traffic light in a sumolib network."""
    programs: dict[str, Program] = {}
    for tls in net.getTrafficLights():
        progs = tls.getPrograms()
        if not progs:
            continue
        pid, prog = next(iter(progs.items()))
        phases = [
            ProgramPhase(
                state=p.state,
                duration=float(p.duration),
                min_dur=float(p.minDur) if getattr(p, "minDur", None) not in (None, -1) else None,
                max_dur=float(p.maxDur) if getattr(p, "maxDur", None) not in (None, -1) else None,
            )
            for p in prog.getPhases()
        ]
        programs[tls.getID()] = Program(
            tls_id=tls.getID(),
            program_id=str(pid),
            offset=float(prog.getOffset() or 0.0),
            phases=phases,
            kind=str(prog.getType() or "static"),
        )
    return programs


def write_programs(programs: Iterable[Program], path: Path, *, comment: str = "") -> Path:
    """Write programmes as a SUMO ``additional`` file (tlLogic; every phase kept)."""
    path.write_text(programs_xml(programs, comment=comment), encoding="utf-8")
    return path


def programs_xml(programs: Iterable[Program], *, comment: str = "") -> str:
    """Programmes as the text of a SUMO ``additional`` file (tlLogic; every phase kept)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    if comment:
        lines.append(f"<!-- {comment.replace('--', '- -')} -->")
    lines.append("<additional>")
    for prog in programs:
        lines.append(
            f"    <tlLogic id={quoteattr(prog.tls_id)} type={quoteattr(prog.kind)} "
            f'programID={quoteattr(prog.program_id)} offset="{prog.offset:.2f}">'
        )
        for ph in prog.phases:
            extra = ""
            if ph.min_dur is not None:
                extra += f' minDur="{ph.min_dur:.2f}"'
            if ph.max_dur is not None:
                extra += f' maxDur="{ph.max_dur:.2f}"'
            lines.append(f'        <phase duration="{ph.duration:.2f}" state="{ph.state}"{extra}/>')
        lines.append("    </tlLogic>")
    lines.append("</additional>")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class CorridorSignal:
    """A traffic light met along a corridor, with its through links in both directions."""

    tls_id: str
    position_m: float
    in_edge: str
    out_edge: str
    links_out: tuple[int, ...]
    links_in: tuple[int, ...]
    """Through links of the opposite direction (empty when the corridor is one-way)."""
    later_out: tuple[int, ...] = ()
    """The corridor's through links at later junctions of the same (joined) light, when
    netconvert joined several junctions of the corridor into one light."""
    later_in: tuple[int, ...] = ()
    """The same for the opposite direction."""


def reverse_edge(net: Any, edge_id: str) -> str | None:
    """The edge running the other way between the same two nodes, if any."""
    edge = net.getEdge(edge_id)
    for cand in edge.getToNode().getOutgoing():
        if cand.getToNode() == edge.getFromNode() and cand.getID() != edge_id:
            return str(cand.getID())
    return None


def _links_between(net: Any, tls_id: str, from_edge: str, to_edge: str) -> list[int]:
    tls = net.getTLS(tls_id)
    links: list[int] = []
    for in_lane, out_lane, index in tls.getConnections():
        if in_lane.getEdge().getID() == from_edge and out_lane.getEdge().getID() == to_edge:
            links.append(int(index))
    return sorted(set(links))


def corridor_signals(net: Any, edges: Sequence[str]) -> list[CorridorSignal]:
    """The traffic lights met along ``edges`` (outbound order) with their through links."""
    for i, e in enumerate(edges):
        if not net.hasEdge(e):
            raise ValidationFailed("traffic.error.edge", field=f"corridor[{i}]", edge=e)
    signals: list[CorridorSignal] = []
    position = 0.0
    for i in range(len(edges) - 1):
        a, b = net.getEdge(edges[i]), net.getEdge(edges[i + 1])
        position += a.getLength()
        if a.getToNode() != b.getFromNode():
            raise ValidationFailed(
                "traffic.error.corridor_gap", field=f"corridor[{i + 1}]", edge=edges[i + 1]
            )
        node = a.getToNode()
        if node.getType() not in (
            "traffic_light",
            "traffic_light_right_on_red",
            "traffic_light_unregulated",
        ):
            continue
        tls_ids = {
            str(tls.getID())
            for tls in net.getTrafficLights()
            if any(c[0].getEdge() == a for c in tls.getConnections())
        }
        # A joined light controlling two corridor junctions runs one programme: it is
        # listed at its first junction (its offset cannot be set twice), and the through
        # links of its later junctions are kept with it (``later_out``/``later_in``).
        seen = {x.tls_id for x in signals}
        for k, known in enumerate(signals):
            if known.tls_id not in tls_ids:
                continue
            later = _links_between(net, known.tls_id, a.getID(), b.getID())
            ra, rb = reverse_edge(net, b.getID()), reverse_edge(net, a.getID())
            later_in = _links_between(net, known.tls_id, ra, rb) if ra and rb else []
            signals[k] = replace(
                known,
                later_out=tuple(sorted({*known.later_out, *later})),
                later_in=tuple(sorted({*known.later_in, *later_in})),
            )
        for tls_id in sorted(tls_ids - seen):
            out_links = _links_between(net, tls_id, a.getID(), b.getID())
            if not out_links:
                continue
            ra, rb = reverse_edge(net, b.getID()), reverse_edge(net, a.getID())
            in_links = _links_between(net, tls_id, ra, rb) if ra and rb else []
            signals.append(
                CorridorSignal(
                    tls_id=tls_id,
                    position_m=position,
                    in_edge=str(a.getID()),
                    out_edge=str(b.getID()),
                    links_out=tuple(out_links),
                    links_in=tuple(in_links),
                )
            )
            break
    return signals


def reverse_corridor(net: Any, edges: Sequence[str]) -> list[str]:
    """The inbound edge sequence of a corridor (empty when any edge has no reverse)."""
    out: list[str] = []
    for e in reversed(edges):
        r = reverse_edge(net, e)
        if r is None:
            return []
        out.append(r)
    return out


def free_flow_time(net: Any, edges: Sequence[str]) -> float:
    """Σ length / speed limit over ``edges`` (seconds)."""
    return float(sum(net.getEdge(e).getLength() / net.getEdge(e).getSpeed() for e in edges))


# --------------------------------------------------------------------------------------
# Demand


def read_routes(paths: Sequence[Path]) -> list[tuple[float, list[str]]]:
    """(depart, edges) of every routed vehicle in route files (vehicles with a route)."""
    out: list[tuple[float, list[str]]] = []
    for path in paths:
        named: dict[str, list[str]] = {}
        for _, elem in ET.iterparse(str(path), events=("end",)):
            if elem.tag == "route" and elem.get("id") and elem.get("edges"):
                named[str(elem.get("id"))] = str(elem.get("edges")).split()
            elif elem.tag in ("vehicle",):
                route = elem.find("route")
                if route is None:  # rerouted vehicles: the last route is the one driven
                    driven = elem.findall("routeDistribution/route")
                    route = driven[-1] if driven else None
                edges = (
                    str(route.get("edges")).split()
                    if route is not None and route.get("edges")
                    else named.get(str(elem.get("route")), [])
                )
                if edges:
                    out.append((float(elem.get("depart", "0") or 0), edges))
                elem.clear()
    return out


def write_routes(routes: Sequence[tuple[float, list[str]]], path: Path) -> Path:
    """Routed vehicles (depart, edges) as a route file with inline routes, sorted by depart."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<routes>"]
    for k, (depart, edges) in enumerate(sorted(routes, key=lambda r: r[0])):
        lines.append(
            f'    <vehicle id="d{k}" depart="{depart:.2f}"><route edges="{" ".join(edges)}"/>'
            "</vehicle>"
        )
    lines.append("</routes>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_corridor_flow(
    path: Path, edges: Sequence[str], *, vph: float, begin: float, end: float
) -> Path:
    """A route file with one flow of ``vph`` vehicles an hour driving ``edges`` end to end
    (randomised departures), ids ``corridor.N``."""
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<routes>\n'
        f'    <route id="corridor" edges="{" ".join(edges)}"/>\n'
        f'    <flow id="corridor" route="corridor" begin="{begin:.2f}" end="{end:.2f}" '
        f'probability="{min(max(vph, 0.0) / 3600.0, 1.0):.5f}" departLane="best" '
        'departSpeed="max"/>\n</routes>\n',
        encoding="utf-8",
    )
    return path


def count_link_flows(
    net: Any, routes: Sequence[tuple[float, list[str]]], *, hours: float
) -> dict[str, dict[int, float]]:
    """Hourly flow per traffic-light link index, from routed vehicles.

    A vehicle passing from edge ``a`` to ``b`` at a light counts 1/k on each of the k links
    between those edges.
    """
    pair_links: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for tls in net.getTrafficLights():
        for in_lane, out_lane, index in tls.getConnections():
            pair_links[(in_lane.getEdge().getID(), out_lane.getEdge().getID())].append(
                (str(tls.getID()), int(index))
            )
    flows: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for _, edges in routes:
        for a, b in itertools.pairwise(edges):
            links = pair_links.get((a, b))
            if not links:
                continue
            share = 1.0 / len(links)
            for tls_id, idx in links:
                flows[tls_id][idx] += share / hours
    return {k: dict(v) for k, v in flows.items()}


# --------------------------------------------------------------------------------------
# The synthetic arterial


@dataclass(frozen=True)
class Arterial:
    """A generated arterial scenario."""

    directory: Path
    net: Path
    corridor: list[str]
    """Outbound (west → east) arterial edges, entry edge to exit edge."""
    signals: int
    spacing_m: list[float] = field(default_factory=list)

    def routes(self, seed: int) -> Path:
        """The demand file for ``seed``."""
        return self.directory / f"demand_{seed}.rou.xml"


def _run(cmd: list[str], *, what: str, cwd: Path | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=False)
    if proc.returncode != 0:
        raise ValidationFailed(
            "traffic.error.tool_failed",
            field=what,
            tool=Path(cmd[0]).name,
            reason=(proc.stderr or proc.stdout)[-400:],
        )


def build_arterial(
    directory: Path,
    *,
    signals: int = 7,
    spacing_range: tuple[float, float] = (300.0, 500.0),
    speed_mps: float = 13.89,
    seed: int = 7,
) -> Arterial:
    """Write and netconvert an arterial with ``signals`` signalised crossings.

    Two lanes each way on the arterial (50 km/h), one lane each way on the cross streets
    (300 m stubs north and south), unsignalised entry/exit nodes at both ends. netconvert
    builds its default fixed-time programmes (90 s, offsets 0): the "default plans".
    """
    if not 2 <= signals <= 20:
        raise ValidationFailed("traffic.error.signal_count", field="signals", value=signals)
    require_sumo()
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    xs = [0.0, 400.0]
    for _ in range(signals - 1):
        xs.append(xs[-1] + rng.uniform(*spacing_range))
    xs.append(xs[-1] + 400.0)
    nodes = ["<nodes>", '    <node id="W" x="0" y="0" type="priority"/>']
    for i in range(1, signals + 1):
        x = xs[i]
        nodes.append(f'    <node id="J{i}" x="{x:.1f}" y="0" type="traffic_light"/>')
        nodes.append(f'    <node id="N{i}" x="{x:.1f}" y="300" type="priority"/>')
        nodes.append(f'    <node id="S{i}" x="{x:.1f}" y="-300" type="priority"/>')
    nodes.append(f'    <node id="E" x="{xs[-1]:.1f}" y="0" type="priority"/>')
    nodes.append("</nodes>")
    names = ["W"] + [f"J{i}" for i in range(1, signals + 1)] + ["E"]
    edges = ["<edges>"]
    corridor: list[str] = []
    for a, b in itertools.pairwise(names):
        edges.append(
            f'    <edge id="{a}_{b}" from="{a}" to="{b}" numLanes="2" speed="{speed_mps}" '
            'priority="3"/>'
        )
        edges.append(
            f'    <edge id="{b}_{a}" from="{b}" to="{a}" numLanes="2" speed="{speed_mps}" '
            'priority="3"/>'
        )
        corridor.append(f"{a}_{b}")
    for i in range(1, signals + 1):
        for side in ("N", "S"):
            edges.append(
                f'    <edge id="{side}{i}_J{i}" from="{side}{i}" to="J{i}" numLanes="1" '
                f'speed="{speed_mps}" priority="1"/>'
            )
            edges.append(
                f'    <edge id="J{i}_{side}{i}" from="J{i}" to="{side}{i}" numLanes="1" '
                f'speed="{speed_mps}" priority="1"/>'
            )
    edges.append("</edges>")
    (directory / "arterial.nod.xml").write_text("\n".join(nodes) + "\n", encoding="utf-8")
    (directory / "arterial.edg.xml").write_text("\n".join(edges) + "\n", encoding="utf-8")
    net = directory / "arterial.net.xml"
    _run(
        [
            sumo_binary("netconvert"),
            "--node-files",
            "arterial.nod.xml",
            "--edge-files",
            "arterial.edg.xml",
            "--output-file",
            net.name,
            "--no-turnarounds",
            "true",
            "--tls.default-type",
            "static",
            "--tls.cycle.time",
            "90",
            "--tls.yellow.time",
            "3",
            "--tls.allred.time",
            "2",
            "--no-warnings",
            "true",
        ],
        what="netconvert",
        cwd=directory,
    )
    return Arterial(
        directory=directory,
        net=net,
        corridor=corridor,
        signals=signals,
        spacing_m=[xs[i + 1] - xs[i] for i in range(1, signals)],
    )


def arterial_demand(
    arterial: Arterial,
    *,
    seed: int,
    duration_s: float = 3600.0,
    through_vph: float = 650.0,
    cross_vph: float = 180.0,
    turn_share: float = 0.25,
) -> Path:
    """Poisson demand on the arterial for ``seed``: through traffic, cross streets, turns.

    ``through_vph`` per arterial direction end to end; ``cross_vph`` per cross-street
    approach, of which ``turn_share`` turns onto the arterial (split left/right) and the rest
    goes straight across. Vehicles carry explicit routes, so SUMO's tools can read them.
    """
    require_sumo()
    rng = random.Random(seed * 7919 + 17)
    n = arterial.signals
    out_edges = arterial.corridor
    in_edges = [f"{e.split('_')[1]}_{e.split('_')[0]}" for e in reversed(out_edges)]
    od: list[tuple[str, float, list[str]]] = [
        ("thr_out", through_vph, out_edges),
        ("thr_in", through_vph, in_edges),
    ]
    for i in range(1, n + 1):
        for side, other in (("N", "S"), ("S", "N")):
            src, dst = f"{side}{i}_J{i}", f"J{i}_{other}{i}"
            od.append((f"x{side}{i}", cross_vph * (1 - turn_share), [src, dst]))
            east = [src, *out_edges[i:]]
            west = [src, *in_edges[n + 1 - i :]]
            od.append((f"t{side}{i}e", cross_vph * turn_share / 2, east))
            od.append((f"t{side}{i}w", cross_vph * turn_share / 2, west))
            # Arterial vehicles leaving into this side street.
            od.append(
                (f"o{side}{i}", cross_vph * turn_share / 2, [*out_edges[:i], f"J{i}_{side}{i}"])
            )
            od.append(
                (
                    f"i{side}{i}",
                    cross_vph * turn_share / 2,
                    [*in_edges[: n + 1 - i], f"J{i}_{side}{i}"],
                )
            )
    vehicles: list[tuple[float, str, list[str]]] = []
    for name, vph, path in od:
        t = 0.0
        k = 0
        rate = vph / 3600.0
        if rate <= 0:
            continue
        while True:
            t += rng.expovariate(rate)
            if t >= duration_s:
                break
            vehicles.append((t, f"{name}.{k}", path))
            k += 1
    vehicles.sort()
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<routes>",
        '    <vType id="car" accel="2.6" decel="4.5" sigma="0.5" length="5" maxSpeed="20"/>',
    ]
    for t, vid, path in vehicles:
        lines.append(
            f'    <vehicle id="{vid}" type="car" depart="{t:.1f}" departLane="best" '
            f'departSpeed="max"><route edges="{" ".join(path)}"/></vehicle>'
        )
    lines.append("</routes>")
    out = arterial.routes(seed)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def build_osm_network(pbf: Path, directory: Path) -> Path:
    """``directory/city.net.xml`` from an OSM extract, with OSM's signals.

    netconvert cannot read PBF, so the extract is first written as ``.osm`` XML with
    pyosmium. Only roads for cars are kept; traffic lights come from OSM
    (``highway=traffic_signals``) and netconvert's joining of clustered signals."""
    import osmium

    require_sumo()
    directory.mkdir(parents=True, exist_ok=True)
    osm = directory / "city.osm"
    if not osm.is_file():
        with osmium.SimpleWriter(str(osm)) as writer:
            for obj in osmium.FileProcessor(str(pbf)):
                writer.add(obj)
    net = directory / "city.net.xml"
    _run(
        [
            sumo_binary("netconvert"),
            "--osm-files", str(osm),
            "--output-file", str(net),
            "--keep-edges.by-vclass", "passenger",
            "--remove-edges.isolated", "true",
            "--geometry.remove", "true",
            "--ramps.guess", "true",
            "--junctions.join", "true",
            "--tls.guess-signals", "true",
            "--tls.discard-simple", "true",
            "--tls.join", "true",
            "--tls.default-type", "static",
            "--no-turnarounds", "true",
            "--no-warnings", "true",
        ],
        what="netconvert",
    )  # fmt: skip
    return net


def build_osm_scenario(
    pbf: Path,
    directory: Path,
    *,
    seed: int = 0,
    duration_s: float = 3600.0,
    period_s: float = 1.5,
) -> Path:
    """A SUMO scenario from an OSM extract: network with OSM's signals
    (:func:`build_osm_network`), random demand: ``randomTrips.py`` (fringe-weighted, one
    trip every ``period_s``) routed by duarouter. Returns the ``.sumocfg``.
    """
    net = build_osm_network(pbf, directory)
    routes = directory / f"city_{seed}.rou.xml"
    _run(
        [
            sys.executable,
            str(sumo_tool("randomTrips.py")),
            "-n", str(net),
            "-r", str(routes),
            "-o", str(directory / f"city_{seed}.trips.xml"),
            "-e", str(duration_s),
            "-p", str(period_s),
            "--fringe-factor", "10",
            "--min-distance", "500",
            "--seed", str(seed),
            "--validate",
        ],
        what="randomTrips",
        cwd=directory,
    )  # fmt: skip
    return write_sumocfg(directory / "city.sumocfg", net=net, routes=[routes], end=duration_s)


def write_sumocfg(
    path: Path, *, net: Path, routes: Sequence[Path], begin: float = 0.0, end: float = 3600.0
) -> Path:
    """A minimal ``.sumocfg`` naming the network, the route files and the time window."""
    rel = [os.path.relpath(r, path.parent) for r in routes]
    path.write_text(
        "<configuration>\n"
        "    <input>\n"
        f"        <net-file value={quoteattr(os.path.relpath(net, path.parent))}/>\n"
        f"        <route-files value={quoteattr(','.join(rel))}/>\n"
        "    </input>\n"
        f'    <time><begin value="{begin:g}"/><end value="{end:g}"/></time>\n'
        "</configuration>\n",
        encoding="utf-8",
    )
    return path


# --------------------------------------------------------------------------------------
# Output


@dataclass
class TripStats:
    """Network-wide trip statistics from a tripinfo file."""

    vehicles: int
    arrived: int
    travel_time_s: float
    time_loss_s: float
    stops: float
    emergency: list[dict[str, float]] = field(default_factory=list)


def parse_tripinfo(path: Path, *, emergency_prefix: str = "ev") -> TripStats:
    """Mean travel time, time loss and stops over every vehicle (unfinished ones included).

    Unfinished vehicles (``--tripinfo-output.write-unfinished``) count with the time they had
    spent, so a controller that strands vehicles is not flattered. ``arrived`` is the
    throughput.
    """
    durations: list[float] = []
    losses: list[float] = []
    stops: list[float] = []
    arrived = 0
    emergency: list[dict[str, float]] = []
    for _, elem in ET.iterparse(str(path), events=("end",)):
        if elem.tag != "tripinfo":
            continue
        vid = str(elem.get("id"))
        duration = float(elem.get("duration", "0"))
        loss = float(elem.get("timeLoss", "0"))
        waits = float(elem.get("waitingCount", "0"))
        done = float(elem.get("arrival", "-1")) >= 0
        if vid.startswith(emergency_prefix + "."):
            emergency.append(
                {
                    "travel_time_s": duration,
                    "time_loss_s": loss,
                    "stops": waits,
                    "done": float(done),
                }
            )
        else:
            durations.append(duration)
            losses.append(loss)
            stops.append(waits)
            arrived += int(done)
        elem.clear()
    count = len(durations)

    def mean(xs: list[float]) -> float:
        return sum(xs) / len(xs) if xs else math.nan

    return TripStats(
        vehicles=count,
        arrived=arrived,
        travel_time_s=mean(durations),
        time_loss_s=mean(losses),
        stops=mean(stops),
        emergency=emergency,
    )

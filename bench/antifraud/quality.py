"""Anti-fraud quality: text classifier, victim-risk model and mule flags, side by side.

Run with ``python -m bench.antifraud.quality [--data ../shared/data/fraud] [--seed 0]
[--folds 5] [--sim-people 6000]``. Prints the machine, then the tables of
:func:`pingan.antifraud.evaluation.render`, and writes them to
``bench/results/antifraud_quality.txt``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pingan.antifraud import evaluation

RESULTS = Path(__file__).resolve().parents[1] / "results" / "antifraud_quality.txt"


def main(argv: list[str] | None = None) -> int:
    """Run every evaluation and save the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=evaluation.default_fraud_data())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--sim-people", type=int, default=6000, help="Simulated subscribers for the risk transfer."
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no fraud data at {args.data}: set --data or PINGAN_FRAUD_DATA")
        return 2
    started = time.perf_counter()
    text_res = evaluation.evaluate_text(args.data, seed=args.seed)
    t_text = time.perf_counter() - started
    risk_res = evaluation.evaluate_risk(args.data, seed=args.seed, folds=args.folds)
    # Victim risk trained on the simulator's population, evaluated on Sichuan.
    from pingan.sim.behaviour import simulate_population

    source = simulate_population(args.sim_people, seed=args.seed)
    transfer_res = evaluation.evaluate_risk_transfer(args.data, source, seed=args.seed)
    t_risk = time.perf_counter() - started - t_text
    flow_res = evaluation.evaluate_moneyflow(args.data, seed=args.seed)
    elapsed = time.perf_counter() - started
    header = [
        f"# python -m bench.antifraud.quality --seed {args.seed} --folds {args.folds}",
        f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}; wall time {elapsed:.0f} s (text {t_text:.0f} s, "
        f"risk {t_risk:.0f} s)",
        "",
    ]
    lines = (
        header
        + evaluation.render(text_res, risk_res, None)
        + evaluation.render_risk_transfer(transfer_res)
        + evaluation.render(None, None, flow_res)
    )
    report = "\n".join(lines)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark of the offers search: p95 of "What could be offered" on seeded declines of the bundled model.

Takes the declined and referred applications of the bundled model's validation sample (a seeded draw of
``--cases`` of them, ``--seed``), and times ``scoring.engine.counterfactuals.search`` on each: the grid of
every single and paired change of the actionable inputs in one prediction, then the chosen alternatives
scored again. No database: the search reads nothing else.

    python bench/offers.py --cases 200

The target (p95 at most 300 ms, what the decision page can spend on the panel) is judged at any size.
"""

from __future__ import annotations

import argparse
import random
import time

import harness
import numpy as np
import pandas as pd

from scoring.engine import APPROVE, load_bundle
from scoring.engine.counterfactuals import search

P95_TARGET_MS = 300.0
WIDTHS = (48, 12, 12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", type=int, default=200, help="Declines and referrals to search (at most the sample's)."
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    bundle = harness.ROOT / "scoring" / "bundles" / "default"
    model = load_bundle(bundle)
    sample = pd.read_csv(bundle / "validation_sample.csv", dtype=str, keep_default_na=False)
    valid = model.validate_frame(sample).valid
    decisions = model.score_frame(valid, reasons_for=None).decisions
    rows = [i for i, d in enumerate(decisions) if d != APPROVE]
    chosen = random.Random(args.seed).sample(rows, min(args.cases, len(rows)))
    cases = [{k: (v.item() if hasattr(v, "item") else v) for k, v in valid.iloc[i].items()} for i in chosen]
    search(model, cases[0])  # the first call pays catboost's and numpy's start-up
    seconds, found, grid = [], 0, []
    for features in cases:
        started = time.perf_counter()
        result = search(model, features)
        seconds.append(time.perf_counter() - started)
        found += bool(result.alternatives)
        grid.append(result.candidates)
    p95 = harness.percentile([s * 1000 for s in seconds], 95)
    print(f"bundle: {model.metadata['name']}, {len(cases)} declined or referred applications (seed {args.seed})")
    harness.result_line("search p50", f"{harness.percentile([s * 1000 for s in seconds], 50):.1f} ms", widths=WIDTHS)
    verdict = harness.verdict(p95 <= P95_TARGET_MS)
    harness.result_line("search p95", f"{p95:.1f} ms", f"<= {P95_TARGET_MS:.0f} ms", verdict, widths=WIDTHS)
    harness.result_line("search max", f"{max(seconds) * 1000:.1f} ms", widths=WIDTHS)
    harness.result_line(
        "candidates scored per search, median / max", f"{np.median(grid):.0f} / {max(grid)}", widths=WIDTHS
    )
    harness.result_line("applications with at least one alternative", f"{found} of {len(cases)}", widths=WIDTHS)
    print(harness.summary([verdict]))


if __name__ == "__main__":
    main()

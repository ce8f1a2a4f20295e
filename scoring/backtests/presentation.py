"""A stored backtest report shaped for its page: side-by-side decision counts, the swap matrix as a grid,
fairness tables paired by attribute, and the outcome-based figures of both sides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scoring.monitoring.replay import decision_rows
from scoring.monitoring.reports import FairnessTable
from scoring.policy.replay import DECISIONS


def report_context(report: dict[str, Any], labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``labels``: the protected attributes' names in the reader's language (the report keeps the worker's)."""
    live, backtest = report["sides"]["live"], report["sides"]["backtest"]
    outcomes = decision_rows(live, backtest, DECISIONS)
    cells = {(c["live"], c["backtest"]): c["count"] for c in report["swap_matrix"]}
    matrix = [
        {"live": before, "cells": [{"count": cells[(before, after)], "same": before == after} for after in DECISIONS]}
        for before in DECISIONS
    ]
    fairness = [
        {"live": FairnessTable.from_dict(a, labels), "backtest": FairnessTable.from_dict(b, labels)}
        for a, b in zip(live["fairness"], backtest["fairness"], strict=True)
    ]
    return {
        "report": report,
        "live": live,
        "backtest_side": backtest,
        "outcomes": outcomes,
        "decisions": DECISIONS,
        "matrix": matrix,
        "fairness": fairness,
        "realised_live": live["realised"],
        "realised_backtest": backtest["realised"],
    }

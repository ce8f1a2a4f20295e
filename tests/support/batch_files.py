"""CSV files for the batch tests and the benchmark: rows drawn from the training reference sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings


def reference_frame() -> pd.DataFrame:
    frame = pd.read_csv(Path(settings.REFERENCE_SAMPLE_PATH), dtype=str, keep_default_na=False)
    return frame.drop(columns=["creditability"], errors="ignore")


def synthetic_frame(rows: int, *, seed: int = 7) -> pd.DataFrame:
    """``rows`` applications, each column drawn independently from its reference distribution (so rows differ)."""
    ref = reference_frame()
    rng = np.random.default_rng(seed)
    data = {c: ref[c].to_numpy()[rng.integers(0, len(ref), rows)] for c in ref.columns}
    frame = pd.DataFrame(data)
    frame.insert(0, "external_ref", [f"APP-{i:07d}" for i in range(1, rows + 1)])
    return frame


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode()

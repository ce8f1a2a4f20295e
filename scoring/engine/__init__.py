"""The scoring engine: load a CatBoost model bundle, validate inputs, predict and explain.

Pure code, no Django (an import-linter contract keeps it so): it can be imported and
tested without settings. ``schema`` says what a bundle declares, ``bundle`` loads and
scores it, ``validation`` checks inputs, ``explain`` and ``shap_tables`` give the reasons,
``drift`` compares distributions, ``training`` writes the bundled German-credit model.
The names below are the engine's public face for the rest of the app.
"""

from scoring.engine.bundle import (
    FrameScores,
    LoadedModel,
    Score,
    bundle_digest,
    bundle_file_hashes,
    file_sha256,
    frame_from_records,
    load_bundle,
)
from scoring.engine.explain import Reason
from scoring.engine.schema import (
    APPROVE,
    CATEGORICAL,
    DECLINE,
    INTEGER,
    MAX_TEXT_LENGTH,
    NUMBER,
    REFER,
    BundleRejected,
    Feature,
    InvalidApplication,
)
from scoring.engine.validation import Application, FrameValidation

__all__ = [
    "APPROVE",
    "CATEGORICAL",
    "DECLINE",
    "INTEGER",
    "MAX_TEXT_LENGTH",
    "NUMBER",
    "REFER",
    "Application",
    "BundleRejected",
    "Feature",
    "FrameScores",
    "FrameValidation",
    "InvalidApplication",
    "LoadedModel",
    "Reason",
    "Score",
    "bundle_digest",
    "bundle_file_hashes",
    "file_sha256",
    "frame_from_records",
    "load_bundle",
]

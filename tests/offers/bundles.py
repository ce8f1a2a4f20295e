"""A copy of the bundled model whose metadata declares nothing an offer may change (model.cb unchanged)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.support import DEFAULT_BUNDLE


def bundle_without_actionable(folder: Path) -> Path:
    bundle = folder / "no-offers"
    shutil.copytree(DEFAULT_BUNDLE, bundle)
    mlmodel = yaml.safe_load((bundle / "MLmodel").read_text(encoding="utf-8"))
    for feature in mlmodel["metadata"]["features"]:
        feature.pop("actionable", None)
    mlmodel["metadata"]["name"] = "german-credit-no-offers"
    (bundle / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False), encoding="utf-8")
    return bundle

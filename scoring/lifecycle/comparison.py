"""What changes if a candidate version replaces the active one, measured on labelled samples.

The candidate's own sample is always used. When the active version cannot read it (other
features) that is said, and only the two models' figures on their own samples are set side by
side. When each model can score the other's sample, decisions are compared on both samples.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from scoring.engine import BundleRejected, InvalidApplication, LoadedModel
from scoring.lifecycle import registry
from scoring.lifecycle.samples import LabelledSample, SampleScores, read_sample, score_sample
from scoring.models import ModelVersion

METRICS = ("auc", "ks", "brier", "approval_rate")


def compare_with_active(
    *, version: ModelVersion, model: LoadedModel, sample: LabelledSample, scores: SampleScores
) -> dict[str, Any] | None:
    """The comparison recorded in a validation report; None when no other version is active."""
    active_version = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exclude(pk=version.pk).first()
    if active_version is None:
        return None
    try:
        active = registry.get_loaded(active_version)
    except (BundleRejected, OSError) as exc:
        return {"active_version_id": active_version.pk, "error": f"The active version cannot be loaded: {exc}"}
    new_kinds = {f.name: f.kind for f in model.features}
    old_kinds = {f.name: f.kind for f in active.features}
    on_candidate = _on_sample("candidate's sample", sample, model, active, ours=scores)
    samples = [on_candidate]
    active_own: dict[str, Any] | None = None
    try:
        theirs = read_sample(active.metadata, registry.local_bundle_path(active_version))
    except (BundleRejected, OSError) as exc:
        note = f"The active version ships no usable labelled sample, so only the candidate's is used: {exc}"
        # Its figures from when it was validated, if any, still make a side-by-side.
        active_own = (active_version.validation_report or {}).get("sample")
    else:
        note = ""
        on_active = _on_sample("active version's sample", theirs, model, active)
        samples.append(on_active)
        active_own = on_active["active"]
    return {
        "active_version_id": active_version.pk,
        "active_version": str(active_version),
        "features_added": sorted(set(new_kinds) - set(old_kinds)),
        "features_removed": sorted(set(old_kinds) - set(new_kinds)),
        "features_changed_kind": {
            n: {"from": old_kinds[n], "to": new_kinds[n]}
            for n in sorted(set(new_kinds) & set(old_kinds))
            if new_kinds[n] != old_kinds[n]
        },
        "threshold": {"from": active.threshold, "to": model.threshold},
        "refer_lower": {"from": active.refer_lower, "to": model.refer_lower},
        # Each model on its own sample: comparable even when neither can read the other's data.
        "own_samples": {m: {"from": (active_own or {}).get(m), "to": scores.summary.get(m)} for m in METRICS},
        "compatible": all(s["compared"] for s in samples),
        "samples": samples,
        "note": note,
    }


def _on_sample(
    label: str, sample: LabelledSample, model: LoadedModel, active: LoadedModel, ours: SampleScores | None = None
) -> dict[str, Any]:
    """Both models on one sample: figures for each that can read it, and decision agreement when both can."""
    entry: dict[str, Any] = {"sample": label, "file": sample.file, "rows": len(sample.frame)}
    scored: dict[str, SampleScores] = {}
    for role, which, given in (("candidate", model, ours), ("active", active, None)):
        try:
            scored[role] = given or score_sample(which, sample)
        except InvalidApplication as exc:
            entry[f"{role}_error"] = f"The {role} version cannot score this sample (its features differ): {exc}"
        entry[role] = {m: scored[role].summary.get(m) for m in METRICS} if role in scored else None
    entry["compared"] = len(scored) == 2
    if entry["compared"]:
        new, old = scored["candidate"], scored["active"]
        both = new.index.intersection(old.index)
        after = pd.Series(new.decisions, index=new.index).loc[both]
        before = pd.Series(old.decisions, index=old.index).loc[both]
        flipped = after != before
        entry |= {
            "rows_compared": len(both),
            "decisions_flipped": int(flipped.sum()),
            "agreement_rate": round(float(1 - flipped.mean()), 4) if len(both) else None,
            "flips": dict(Counter(f"{b} → {a}" for b, a in zip(before[flipped], after[flipped], strict=True))),
        }
    return entry

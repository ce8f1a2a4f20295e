"""A model version's card: what the model is, how it was validated and approved, and how it has done since.

Built from stored data only: the version's identity and bundle metadata, its validation report (with
the comparison made at load), its loads and activations, its latest drift reports (with their
fairness tables) and the loan outcomes reported for its decisions. A section with nothing stored says
so (``None`` or an empty list here, a plain sentence on the page); nothing is filled in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from accounts import permissions
from accounts.names import display_name
from scoring.engine.performance import measure
from scoring.engine.schema import localized_schema
from scoring.lifecycle.comparison import METRICS
from scoring.lifecycle.versions import check_name, roll_back_activation_ids
from scoring.models import DriftReport, ModelActivation, ModelLoad, ModelVersion
from scoring.monitoring.outcomes import labelled_decisions
from scoring.monitoring.reports import attribute_label

METRIC_LABELS = {
    "auc": "AUC",
    "ks": "KS",
    "brier": gettext_lazy("Brier score"),
    "approval_rate": gettext_lazy("Approval rate"),
}
KIND_LABELS = {
    "categorical": gettext_lazy("Choice"),
    "integer": gettext_lazy("Whole number"),
    "number": gettext_lazy("Number"),
}
LEVEL_LABELS = {
    "stable": gettext_lazy("stable"),
    "watch": gettext_lazy("watch"),
    "act": gettext_lazy("act"),
    "no data": gettext_lazy("too few decisions"),
}

# How many of the version's latest drift reports, and of its most drifted features, the card lists.
DRIFT_REPORTS = 5
WORST_FEATURES = 5


@dataclass(frozen=True)
class ModelCard:
    """One version's card; each section a plain mapping or list (None where nothing is stored yet)."""

    generated_at: datetime
    identity: dict[str, Any]
    purpose: dict[str, Any]
    data: dict[str, Any]
    features: list[dict[str, Any]]
    protected_attributes: list[dict[str, Any]]
    validation: dict[str, Any] | None
    policy: dict[str, Any]
    reasons: list[dict[str, Any]]
    drift: dict[str, Any] | None
    performance: dict[str, Any] | None
    fairness: dict[str, Any] | None
    trail: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_card(version: ModelVersion, *, user) -> ModelCard:
    """The card of ``version`` as the database holds it now, as ``user`` may read it.

    A bundle registered from a local folder is named by its path on the server for model administrators
    only, as in the API's model list: it tells anyone else nothing they need, and an attacker where to look.
    """
    source_uri = version.source_uri
    if version.source == ModelVersion.Source.LOCAL and not permissions.can_manage_models(user):
        source_uri = ""
    # Labels, choices, bands and reason statements in the reader's language (a bundle's texts may be {en, fr}).
    metadata = version.metadata or {}
    schema = localized_schema(metadata, get_language() or "en")
    reports = list(DriftReport.objects.filter(model_version=version).order_by("-created_at", "-id")[:DRIFT_REPORTS])
    return ModelCard(
        generated_at=timezone.now(),
        identity=_identity(version, source_uri),
        purpose=_purpose(metadata),
        data=_data(metadata),
        features=[_feature(spec, schema) for spec in _specs(metadata, schema, "features")],
        protected_attributes=[_feature(spec, schema) for spec in _specs(metadata, schema, "protected_attributes")],
        validation=_validation(version),
        policy=_policy(version, schema),
        reasons=[_reasons(spec) for spec in _specs(metadata, schema, "features")],
        drift=_drift(reports, schema),
        performance=_performance(version),
        fairness=_fairness(reports[0]) if reports else None,
        trail=_trail(version, source_uri),
    )


def person(user) -> dict[str, str] | None:
    """A user as the card names them; None for the system (a set-up script, a test)."""
    if user is None:
        return None
    return {"username": user.get_username(), "name": display_name(user)}


# --- identity, purpose, data --------------------------------------------------------


def _identity(version: ModelVersion, source_uri: str) -> dict[str, Any]:
    return {
        "id": version.pk,
        "name": version.name,
        "label": version.label,
        "status": version.status,
        "status_label": str(version.get_status_display()),
        "sha256": version.sha256,
        "source": version.source,
        "source_label": str(version.get_source_display()),
        "source_uri": source_uri,
        "hub_revision": version.hub_revision,
        "hub_commit": version.hub_commit,
        "hub_subfolder": version.hub_subfolder,
        "files": [{"name": n, "sha256": h} for n, h in sorted((version.file_hashes or {}).items())],
        "created_at": version.created_at,
        "created_by": person(version.created_by),
    }


def _purpose(metadata: dict[str, Any]) -> dict[str, Any]:
    """The bundle's own words where it has them; the intended use otherwise read from its description and target."""
    stated = _text(metadata.get("intended_use"))
    target = metadata.get("target") or {}
    derived = ""
    if not stated and target.get("name"):
        derived = _(
            "Estimates the %(meaning)s of a credit application (target %(target)s, positive class %(positive)s), "
            "to approve, refer or decline it against the threshold and refer band below."
        ) % {
            "meaning": target.get("meaning") or _("probability of the positive class"),
            "target": target["name"],
            "positive": target.get("positive_class", "—"),
        }
    return {
        "description": _text(metadata.get("description")),
        "intended_use": stated or derived,
        "intended_use_stated": bool(stated),
        "limitations": _text(metadata.get("limitations")),
    }


def _data(metadata: dict[str, Any]) -> dict[str, Any]:
    training = dict(metadata.get("training") or {})
    target = metadata.get("target") or {}
    metrics = metadata.get("metrics") or {}
    rows = training.get("rows")
    counted = isinstance(rows, int) and not isinstance(rows, bool)
    # A row count given as anything but a whole number stays with the other settings, as written.
    described = {"data", "rows"} if counted else {"data"}
    return {
        "description": _text(training.get("data")),
        "rows": rows if counted else None,
        "target": _text(target.get("name")),
        "positive_class": "" if target.get("positive_class") is None else str(target["positive_class"]),
        "target_meaning": _text(target.get("meaning")),
        # What training recorded beyond the data: seed, split, costs, CatBoost settings.
        "settings": [{"name": str(k), "value": _plain(v)} for k, v in training.items() if k not in described],
        "holdout_metrics": [{"name": str(k), "value": _plain(v)} for k, v in metrics.items()],
    }


# --- features, policy, reasons -------------------------------------------------------


def _specs(metadata: dict[str, Any], schema: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The features as registered (``schema``: reasons filled in for older bundles), else as the bundle gives them."""
    return list(schema.get(key) or metadata.get(key) or [])


def _feature(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    sections = {s.get("name"): s.get("label") for s in schema.get("sections") or []}
    return {
        "name": spec.get("name", ""),
        "label": spec.get("label") or spec.get("name", ""),
        "kind": spec.get("kind", ""),
        "kind_label": str(KIND_LABELS.get(spec.get("kind"), spec.get("kind", ""))),
        "unit": spec.get("unit") or "",
        "choices": len(spec.get("choices") or []),
        "min": spec.get("min"),
        "max": spec.get("max"),
        "section": sections.get(spec.get("section")) or spec.get("section") or "",
    }


def _policy(version: ModelVersion, schema: dict[str, Any]) -> dict[str, Any]:
    metadata = version.metadata or {}
    refer = schema.get("refer_band") or metadata.get("refer_band") or {}
    bands, lower = [], 0.0
    for band in schema.get("risk_bands") or metadata.get("risk_bands") or []:
        upper = float(band["upper"])
        bands.append({"name": band["name"], "label": band.get("label", ""), "pd_from": lower, "pd_to": upper})
        lower = upper
    return {
        "threshold": version.threshold,
        "refer_from": None if refer.get("lower") is None else float(refer["lower"]),
        "refer_to": None if refer.get("upper") is None else float(refer["upper"]),
        "risk_bands": bands,
    }


def _reasons(spec: dict[str, Any]) -> dict[str, Any]:
    given = spec.get("reasons") or {}
    return {
        "feature": spec.get("name", ""),
        "label": spec.get("label") or spec.get("name", ""),
        "raises": {"code": (given.get("raises") or {}).get("code", ""), "statement": _reason(given, "raises")},
        "lowers": {"code": (given.get("lowers") or {}).get("code", ""), "statement": _reason(given, "lowers")},
    }


def _reason(given: dict[str, Any], direction: str) -> str:
    return (given.get(direction) or {}).get("statement", "")


# --- validation ------------------------------------------------------------------------


def _validation(version: ModelVersion) -> dict[str, Any] | None:
    report = version.validation_report or {}
    if not report:
        return None
    sample = report.get("sample") or {}
    return {
        "ok": bool(report.get("ok")),
        "checked_at": _moment(report.get("checked_at")),
        "validated_at": version.validated_at,
        "validated_by": person(version.validated_by),
        "checks": [
            {"name": check_name(c.get("name", "")), "ok": bool(c.get("ok")), "detail": str(c.get("detail", ""))}
            for c in report.get("checks") or []
        ],
        "sample": (
            {k: sample.get(k) for k in ("file", "rows", "rows_scored", "auc", "ks", "brier", "approval_rate")}
            if sample
            else None
        ),
        "comparison": _comparison(report.get("comparison")),
    }


def _comparison(comparison: dict[str, Any] | None) -> dict[str, Any] | None:
    """The comparison with the version that was active at load, as the validation report recorded it."""
    if not comparison:
        return None
    own = comparison.get("own_samples") or {}
    samples = []
    for entry in comparison.get("samples") or []:
        samples.append(
            {
                "sample": entry.get("sample", ""),
                "compared": bool(entry.get("compared")),
                "rows_compared": entry.get("rows_compared"),
                "decisions_flipped": entry.get("decisions_flipped"),
                "agreement_rate": entry.get("agreement_rate"),
                "problem": entry.get("active_error") or entry.get("candidate_error") or "",
            }
        )
    return {
        "active_version_id": comparison.get("active_version_id"),
        "active_version": comparison.get("active_version", ""),
        "error": comparison.get("error", ""),
        "features_added": list(comparison.get("features_added") or []),
        "features_removed": list(comparison.get("features_removed") or []),
        "threshold": _from_to(comparison.get("threshold")),
        "refer_from": _from_to(comparison.get("refer_lower")),
        "metrics": [{"name": m, "label": str(METRIC_LABELS[m]), **_from_to(own.get(m))} for m in METRICS],
        "samples": samples,
        "note": comparison.get("note", ""),
    }


def _from_to(pair: dict[str, Any] | None) -> dict[str, Any]:
    pair = pair or {}
    return {"before": pair.get("from"), "after": pair.get("to")}


# --- since activation: drift, realised performance, fairness ---------------------------


def _drift(reports: list[DriftReport], schema: dict[str, Any]) -> dict[str, Any] | None:
    if not reports:
        return None
    latest = reports[0]
    labels = {f.get("name"): f.get("label") for f in schema.get("features") or []}
    measured = [f for f in latest.features if f.get("psi") is not None]
    return {
        "report_id": latest.pk,
        "created_at": latest.created_at,
        "window_start": latest.window_start,
        "window_end": latest.window_end,
        "observed_count": latest.observed_count,
        "score_psi": latest.score_psi,
        "score_level": _level((latest.score or {}).get("level", "")),
        "max_psi": latest.max_psi,
        "watch_count": latest.watch_count,
        "act_count": latest.act_count,
        "worst_features": [
            {
                "name": f["name"],
                "label": labels.get(f["name"]) or f["name"],
                "psi": f["psi"],
                "level": _level(f["level"]),
            }
            for f in sorted(measured, key=lambda f: (-f["psi"], f["name"]))[:WORST_FEATURES]
        ],
        "reports": [
            {
                "id": r.pk,
                "created_at": r.created_at,
                "observed_count": r.observed_count,
                "score_psi": r.score_psi,
                "max_psi": r.max_psi,
                "act_count": r.act_count,
            }
            for r in reports
        ],
    }


def _performance(version: ModelVersion) -> dict[str, Any] | None:
    """Realised performance on the decisions of this version whose loans have a standing outcome."""
    frame = labelled_decisions(model_version_id=version.pk, booked_only=False)
    if frame.empty:
        return None
    booked = frame[frame["booked"]]
    figures = measure(booked["defaulted"].to_numpy(), booked["probability"].to_numpy(), booked["decision"].to_numpy())
    return {
        "with_outcome": len(frame),
        "not_booked": int((~frame["booked"]).sum()),
        "booked": len(booked),
        "defaults": int(booked["defaulted"].sum()),
        "default_rate": figures.bad_rate,
        "mean_pd": round(float(booked["probability"].mean()), 4) if len(booked) else None,
        "auc": figures.auc,
        "ks": figures.ks,
        "brier": figures.brier,
        "first_decision": booked["created_at"].min().to_pydatetime() if len(booked) else None,
        "last_decision": booked["created_at"].max().to_pydatetime() if len(booked) else None,
    }


def _fairness(report: DriftReport) -> dict[str, Any] | None:
    stored = report.fairness or {}
    if not stored.get("tables"):
        return None
    tables = []
    for table in stored["tables"]:
        groups = [
            {
                **{k: g.get(k) for k in ("name", "count", "approved", "ratio")},
                "approval_rate": round(g["approved"] / g["count"], 4) if g.get("count") else None,
                "too_few": bool(g.get("too_few")),
                "flagged": bool(g.get("flagged")),
                "reference": bool(g.get("reference")),
            }
            for g in table.get("groups") or []
        ]
        tables.append(
            {
                "attribute": table.get("attribute", ""),
                "label": attribute_label(table.get("attribute", ""), table.get("label", "")),
                "not_recorded": table.get("not_recorded", 0),
                "groups": groups,
            }
        )
    return {
        "report_id": report.pk,
        "window_start": _moment(stored.get("window_start")),
        "window_end": _moment(stored.get("window_end")),
        "decisions": stored.get("decisions", 0),
        "min_group": stored.get("min_group"),
        "tables": tables,
    }


# --- approval trail --------------------------------------------------------------------


def _trail(version: ModelVersion, source_uri: str) -> list[dict[str, Any]]:
    """Who registered, loaded, validated, activated, replaced and rolled back the version, oldest first."""
    events = [
        _event(
            version.created_at,
            "registered",
            _("Registered"),
            version.created_by,
            f"{version.get_source_display()}: {source_uri}" if source_uri else str(version.get_source_display()),
        )
    ]
    for load in ModelLoad.objects.filter(version=version).select_related("requested_by").order_by("created_at", "id"):
        where = f"{load.repo_id}@{load.revision}" + (f"/{load.subfolder}" if load.subfolder else "")
        detail = f"{where} ({load.commit})" if load.commit else where
        if load.reused:
            detail = _("%(where)s: the same commit was already loaded") % {"where": detail}
        events.append(_event(load.created_at, "loaded", _("Load from the Hub requested"), load.requested_by, detail))
    if version.validated_at is not None:
        ok = (version.validation_report or {}).get("ok")
        outcome = _("every check passed") if ok else (version.rejection_reason or _("a check failed"))
        events.append(_event(version.validated_at, "validated", _("Validated"), version.validated_by, outcome))
    roll_backs = roll_back_activation_ids()
    activations = (
        ModelActivation.objects.filter(Q(version=version) | Q(previous=version))
        .select_related("user", "version", "previous")
        .order_by("created_at", "id")
    )
    for activation in activations:
        rolled_back = activation.pk in roll_backs
        if activation.version_id == version.pk:
            action, label = (
                ("put_back", _("Put back live (roll back)")) if rolled_back else ("activated", _("Activated"))
            )
            detail = _("replacing %(version)s") % {"version": activation.previous} if activation.previous else ""
        else:
            action, label = ("rolled_back", _("Rolled back")) if rolled_back else ("replaced", _("Replaced"))
            detail = _("by %(version)s") % {"version": activation.version}
        if activation.note:
            detail = f"{detail}; {activation.note}" if detail else activation.note
        events.append(_event(activation.created_at, action, label, activation.user, detail))
    events.sort(key=lambda e: e["at"])
    return events


def _event(at: datetime, action: str, label: str, user, detail: str) -> dict[str, Any]:
    return {"at": at, "action": action, "label": label, "by": person(user), "detail": str(detail)}


# --- small readers ----------------------------------------------------------------------


def _level(level: str) -> str:
    return str(LEVEL_LABELS.get(level, level))


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _plain(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _moment(value: object) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None

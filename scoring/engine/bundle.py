"""Load a CatBoost model bundle (an MLflow model directory) and score it: probability, decision, band, reasons.

Pure code: it knows catboost, pandas, numpy and PyYAML, not Django, so it can be
imported and tested without settings. A bundle is an MLflow model directory
with the CatBoost flavor (``MLmodel`` + ``model.cb`` + optional
``input_example.json``) and a labelled validation sample; our own schema,
threshold and bands live in the MLmodel ``metadata`` mapping, checked against
the contract (contract.py) on load, with no defaults for anything missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, Pool

from scoring.engine import contract, shap_tables
from scoring.engine.explain import Reason, ReasonWriter, plain
from scoring.engine.labels import FALLBACK_LANGUAGE
from scoring.engine.policy import PROBABILITY, RISK_BAND, CompiledPolicy, FrameOutcome, PolicyEvaluationError
from scoring.engine.schema import (
    APPROVE,
    CATEGORICAL,
    DECLINE,
    INTEGER,
    REFER,
    BundleRejected,
    Feature,
    in_language,
)
from scoring.engine.validation import Application, FrameValidation, validate_application, validate_frame

# SHAP tables by model file sha256 (see shap_tables.py), shared by every load in the process.
_SHAP_TABLES: dict[str, shap_tables.ShapTables | None] = {}


@dataclass(frozen=True)
class Score:
    probability: float
    decision: str  # the decision after the credit policy, when one was given
    risk_band: str
    reasons: tuple[Reason | dict, ...]  # a deciding policy rule comes first, as a dict
    model_decision: str = ""
    policy_rules: tuple[str, ...] = ()
    deciding_rule: str = ""


@dataclass
class FrameScores:
    """Vectorised results for many rows, aligned with the frame that was scored."""

    probabilities: np.ndarray
    decisions: np.ndarray
    risk_bands: np.ndarray
    reasons: list[list[Reason] | None]
    reasons_json: np.ndarray | None = None  # with score_frame(reasons_as_json=True): JSON text per row
    model_decisions: np.ndarray | None = None
    policy: FrameOutcome | None = None  # what the credit policy made of the rows, when one was given


class LoadedModel:
    """A CatBoost classifier with its schema, threshold, refer band and risk bands."""

    def __init__(
        self,
        *,
        model: CatBoostClassifier,
        features: list[Feature],
        protected: list[Feature],
        metadata: Mapping[str, Any],
        sha256: str,
        input_example: dict[str, Any] | None = None,
        file_hashes: Mapping[str, str] | None = None,
    ):
        self.model = model
        self.features = features
        self.protected = protected
        self.metadata = dict(metadata)
        self.sha256 = sha256
        self.input_example = input_example
        self.file_hashes = dict(file_hashes or {})
        # One digest over every file: two bundles sharing weights but not metadata differ.
        self.bundle_sha256 = bundle_digest(self.file_hashes) if self.file_hashes else sha256
        self.feature_names = [f.name for f in features]
        self.cat_indices = [i for i, f in enumerate(features) if f.kind == CATEGORICAL]
        self._by_name = {f.name: f for f in features}
        self._reason_writer = ReasonWriter(features)

        # The contract (contract.py) has checked the decision policy: no key here is optional.
        self.threshold = float(self.metadata["threshold"])
        self.refer_lower = float(self.metadata["refer_band"]["lower"])
        self.bands = [dict(b) for b in self.metadata["risk_bands"]]
        uppers = [float(b["upper"]) for b in self.bands]
        self._band_uppers = np.asarray(uppers[:-1])
        self._band_names = np.asarray([str(b["name"]) for b in self.bands], dtype=object)

        model_names = list(model.feature_names_ or [])
        if model_names and model_names != self.feature_names:
            raise BundleRejected(
                "The model's features do not match the bundle's schema: "
                f"model has {model_names}, schema declares {self.feature_names}."
            )
        model_cats = sorted(model.get_cat_feature_indices())
        if model_cats != self.cat_indices:
            raise BundleRejected(
                "The model's categorical features do not match the schema's: model has "
                f"{[self.feature_names[i] for i in model_cats]}, schema declares "
                f"{[self.feature_names[i] for i in self.cat_indices]}."
            )
        # Exact SHAP by table lookup when it reproduces CatBoost's own values on sample rows;
        # built once per model file in a process (reloading a version must not rebuild them).
        if sha256 not in _SHAP_TABLES:
            while len(_SHAP_TABLES) >= 8:
                _SHAP_TABLES.pop(next(iter(_SHAP_TABLES)))
            _SHAP_TABLES[sha256] = shap_tables.build_tables(model, self._pool(self._coverage_frame()))
        self._shap_tables = _SHAP_TABLES[sha256]
        self.shap_method = "leaf tables (checked against CatBoost)" if self._shap_tables else "CatBoost ShapValues"

    # --- schema ------------------------------------------------------------------

    @property
    def all_fields(self) -> list[Feature]:
        return [*self.features, *self.protected]

    @property
    def sections(self) -> list[dict[str, str]]:
        """Sections with their English titles (``sections_in`` for another language)."""
        return self.sections_in(FALLBACK_LANGUAGE)

    def sections_in(self, language: str) -> list[dict[str, str]]:
        return in_language(self.metadata.get("sections"), language)

    def fields_in(self, language: str) -> list[Feature]:
        """Every input (features, then protected attributes) with its texts in ``language``."""
        return [f.in_language(language) for f in self.all_fields]

    def schema(self) -> dict[str, Any]:
        return {
            "features": [f.as_dict() for f in self.features],
            "protected_attributes": [f.as_dict() for f in self.protected],
            "sections": self.sections,
            "threshold": self.threshold,
            "refer_band": {"lower": self.refer_lower, "upper": self.threshold},
            # English here, as recorded with the version; localized_schema reads every language from the metadata.
            "risk_bands": in_language(self.bands, FALLBACK_LANGUAGE),
        }

    def example_inputs(self) -> dict[str, object]:
        """One valid application, from the bundle's input example when it has one."""
        if self.input_example:
            columns = self.input_example.get("columns") or []
            rows = self.input_example.get("data") or []
            if rows:
                return {c: v for c, v in zip(columns, rows[0], strict=False) if c in self._by_name}
        example: dict[str, object] = {}
        for f in self.features:
            if f.kind == CATEGORICAL:
                example[f.name] = f.choices[0] if f.choices else "unknown"
            else:
                low = f.min if f.min is not None else 0
                example[f.name] = int(low) if f.kind == INTEGER else float(low)
        return example

    # --- validation ---------------------------------------------------------------

    def validate(self, inputs: Mapping[str, object], *, text: bool = False) -> Application:
        """Typed values for every field, or InvalidApplication naming every bad field at once.

        ``text``: values typed by someone (the web form); numbers may then be written as text.
        """
        return validate_application(self.features, self.protected, inputs, text=text)

    def validate_frame(self, frame: pd.DataFrame) -> FrameValidation:
        """Vectorised validation of many rows: per-row errors, never an exception for bad rows."""
        return validate_frame(self.features, self.protected, frame)

    # --- scoring ------------------------------------------------------------------

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        p = np.asarray(probabilities, dtype=float)
        return np.where(p >= self.threshold, DECLINE, np.where(p >= self.refer_lower, REFER, APPROVE)).astype(object)

    def band(self, probabilities: np.ndarray) -> np.ndarray:
        p = np.asarray(probabilities, dtype=float)
        return self._band_names[np.searchsorted(self._band_uppers, p, side="right")]

    def _pool(self, frame: pd.DataFrame) -> Pool:
        return Pool(frame[self.feature_names], cat_features=self.cat_indices)

    def score_one(
        self,
        features: Mapping[str, object],
        *,
        reason_count: int = 4,
        policy: CompiledPolicy | None = None,
        protected: Mapping[str, object] | None = None,
    ) -> Score:
        """Score one validated application (and apply the credit policy, when given); reasons are always given."""
        row = [features[n] for n in self.feature_names]
        # A Pool straight from the row: a one-row DataFrame costs more than the prediction.
        pool = Pool([row], cat_features=self.cat_indices, feature_names=self.feature_names)
        scores = self._score_pool(
            pool,
            [[v] for v in row],
            reasons_for="all",
            reason_count=reason_count,
            policy=policy,
            protected={k: [v] for k, v in (protected or {}).items()},
        )
        applied = scores.policy
        return Score(
            probability=float(scores.probabilities[0]),
            decision=str(scores.decisions[0]),
            risk_band=str(scores.risk_bands[0]),
            reasons=tuple(scores.reasons[0] or ()),
            model_decision=str(scores.model_decisions[0]),
            policy_rules=tuple(applied.fired_codes(0)) if applied is not None else (),
            deciding_rule=applied.deciding_codes()[0] if applied is not None else "",
        )

    def probabilities_of(self, rows: Sequence[Mapping[str, object]]) -> np.ndarray:
        """The probability of default of validated feature dicts: a Pool straight from the rows, as ``score_one``
        builds it, for a few rows where a DataFrame would cost more than the prediction."""
        values = [[row[n] for n in self.feature_names] for row in rows]
        pool = Pool(values, cat_features=self.cat_indices, feature_names=self.feature_names)
        return self.model.predict_proba(pool, thread_count=_threads(pool))[:, 1]

    def probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        """The probability of default of each validated row, nothing else: one vectorised prediction."""
        pool = self._pool(frame)
        return self.model.predict_proba(pool, thread_count=_threads(pool))[:, 1]

    def score_frame(
        self,
        frame: pd.DataFrame,
        *,
        reasons_for: str | None = DECLINE,
        reason_count: int = 4,
        reasons_as_json: bool = False,
        policy: CompiledPolicy | None = None,
        protected: Mapping[str, Any] | None = None,
    ) -> FrameScores:
        """Score validated rows at once; reasons for declined rows, for every row with ``reasons_for='all'``,
        for none with None.

        With a credit ``policy`` (and the rows' ``protected`` attributes, by name, for rules that lawfully test
        them) the decisions are the policy's and a deciding rule is each row's first reason.
        With ``reasons_as_json`` the reasons come as the JSON text of their dicts (``FrameScores.reasons_json``,
        "[]" for rows without), which is what a batch writes, without building a Reason per row.
        """
        columns = [frame[n].to_numpy() for n in self.feature_names]
        return self._score_pool(
            self._pool(frame),
            columns,
            reasons_for=reasons_for,
            reason_count=reason_count,
            as_json=reasons_as_json,
            policy=policy,
            protected=protected,
        )

    def _score_pool(
        self,
        pool: Pool,
        columns: list,
        *,
        reasons_for: str | None,
        reason_count: int,
        as_json: bool = False,
        policy: CompiledPolicy | None = None,
        protected: Mapping[str, Any] | None = None,
    ) -> FrameScores:
        probabilities = self.model.predict_proba(pool, thread_count=_threads(pool))[:, 1]
        model_decisions = self.decide(probabilities)
        bands = self.band(probabilities)
        applied = values = None
        if policy is not None:
            # Every field a rule may test, by name: the features, the protected attributes, the model's answers.
            values = dict(zip(self.feature_names, columns, strict=True)) | dict(protected or {})
            values |= {PROBABILITY: probabilities, RISK_BAND: bands}
            applied = self._apply_policy(policy, values, model_decisions)
        decisions = applied.decisions if applied is not None else model_decisions
        scores = FrameScores(
            probabilities=probabilities,
            decisions=decisions,
            risk_bands=bands,
            reasons=[],
            model_decisions=model_decisions,
            policy=applied,
        )
        self._add_reasons(scores, pool, columns, reasons_for=reasons_for, reason_count=reason_count, as_json=as_json)
        if applied is not None:
            self._put_rule_reasons_first(scores, policy, values, reason_count, as_json=as_json)
        return scores

    def _apply_policy(
        self, policy: CompiledPolicy, values: Mapping[str, Any], model_decisions: np.ndarray
    ) -> FrameOutcome:
        missing = [name for name in policy.fields if name not in values]
        if missing:
            raise PolicyEvaluationError(
                f"{policy.label or 'The credit policy'} tests {', '.join(missing)}, which this model does not have: "
                "a policy manager must check the policy against the active model."
            )
        return policy.evaluate_frame({name: values[name] for name in policy.fields}, model_decisions)

    def _put_rule_reasons_first(
        self,
        scores: FrameScores,
        policy: CompiledPolicy,
        values: Mapping[str, Any],
        reason_count: int,
        *,
        as_json: bool,
    ) -> None:
        """A rule that decided is the first principal reason; the model's follow, up to ``reason_count`` in all."""
        applied = scores.policy
        for row in np.flatnonzero(applied.deciding >= 0).tolist():
            rule = policy.rules[int(applied.deciding[row])]
            field = rule.conditions[0].field
            given = values.get(field)
            first = policy.rule_reason(rule, {field: plain(given[row]) if given is not None else None})
            if as_json:
                rest = json.loads(scores.reasons_json[row])
                scores.reasons_json[row] = json.dumps([first, *rest][:reason_count], ensure_ascii=False)
            else:
                rest = list(scores.reasons[row] or ())
                scores.reasons[row] = [Reason.from_dict(first), *rest][:reason_count]

    def _add_reasons(
        self,
        scores: FrameScores,
        pool: Pool,
        columns: list,
        *,
        reasons_for: str | None,
        reason_count: int,
        as_json: bool,
    ) -> None:
        probabilities, decisions = scores.probabilities, scores.decisions
        if reasons_for is None:
            wanted = np.zeros(len(probabilities), dtype=bool)
        elif reasons_for == "all":
            wanted = np.ones(len(probabilities), dtype=bool)
        else:
            wanted = decisions == reasons_for
        rows = np.flatnonzero(wanted)
        if as_json:
            scores.reasons_json = np.full(len(probabilities), "[]", dtype=object)
        else:
            scores.reasons = [None] * len(probabilities)
        if not rows.size:
            return
        subset = pool if len(rows) == len(probabilities) else pool.slice(rows)
        contributions = self._shap_pool(subset)[:, :-1]
        picked = columns if len(rows) == len(probabilities) else [np.asarray(c)[rows] for c in columns]
        if as_json:
            scores.reasons_json[rows] = self._reason_writer.json_lines(
                contributions, picked, decisions[rows], reason_count
            )
        else:
            found = self._reason_writer.objects(contributions, picked, decisions[rows], reason_count)
            for row, reasons in zip(rows.tolist(), found, strict=True):
                scores.reasons[row] = reasons

    def shap_values(self, frame: pd.DataFrame) -> np.ndarray:
        """CatBoost's SHAP values in log-odds, one column per feature plus the expected value last."""
        return self._shap_pool(self._pool(frame))

    def _shap_pool(self, pool: Pool) -> np.ndarray:
        if self._shap_tables is not None:
            return self._shap_tables.shap_values(self.model.calc_leaf_indexes(pool, thread_count=_threads(pool)))
        return self.model.get_feature_importance(pool, type="ShapValues", thread_count=_threads(pool))

    def _coverage_frame(self) -> pd.DataFrame:
        """The example application, then one variant per categorical choice: rows that reach
        every categorical value the schema knows, to check the SHAP tables against CatBoost."""
        base = self.example_inputs()
        rows = [base]
        for f in self.features:
            rows.extend(base | {f.name: choice} for choice in f.choices if choice != base.get(f.name))
        return frame_from_records(self, rows)


# --- loading ------------------------------------------------------------------------


def load_bundle(path: str | Path, *, registered: bool = False) -> LoadedModel:
    """Load an MLflow CatBoost model directory that meets the bundle contract (docs/model-bundle.md).

    Anything less (a bare model.cb, a plain MLflow model without our metadata, a wrong item)
    raises BundleRejected listing every problem at once: nothing is filled in with a default.
    ``registered``: the stored files of a registered version, which may meet the earlier contract.
    """
    path = Path(path)
    if not path.is_dir():
        raise BundleRejected(
            f"No bundle directory at {path}: a bundle is an MLflow model directory (MLmodel, model.cb, "
            f"validation sample), not a single file. Complete one with: {contract.FIX_COMMAND}"
        )
    mlmodel, model, problems = contract.inspect_bundle(path, registered=registered)
    if problems or mlmodel is None or model is None:
        raise contract.refusal(problems or ["the bundle could not be read."])
    metadata = mlmodel["metadata"]
    model_path, _ = contract.model_file(path, mlmodel)
    hashes = bundle_file_hashes(path)
    return LoadedModel(
        model=model,
        features=[Feature.from_metadata(raw) for raw in metadata["features"]],
        protected=[Feature.from_metadata(raw, protected=True) for raw in metadata.get("protected_attributes") or ()],
        metadata=metadata,
        sha256=hashes[model_path.relative_to(path.resolve()).as_posix()],
        input_example=_read_input_example(path, mlmodel),
        file_hashes=hashes,
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_file_hashes(path: Path) -> dict[str, str]:
    """sha256 of every file in a bundle directory, by relative POSIX path."""
    root = path.resolve()
    return {
        p.relative_to(root).as_posix(): file_sha256(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def bundle_digest(file_hashes: Mapping[str, str]) -> str:
    """sha256 over the sorted (path, sha256) list of a bundle's files."""
    lines = "".join(f"{name}\t{digest}\n" for name, digest in sorted(file_hashes.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _read_input_example(path: Path, mlmodel: Mapping[str, Any]) -> dict[str, Any] | None:
    info = mlmodel.get("saved_input_example_info") or {}
    name = str(info.get("artifact_path") or "input_example.json")
    example_path = path / name
    if not example_path.is_file():
        return None
    try:
        example = json.loads(example_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleRejected(f"{name} is not valid JSON: {exc}") from exc
    if isinstance(example, dict) and "dataframe_split" in example:  # MLflow's serving form
        example = example["dataframe_split"]
    if isinstance(example, list) and example and isinstance(example[0], dict):  # records orient
        columns = list(example[0])
        example = {"columns": columns, "data": [[row.get(c) for c in columns] for row in example]}
    if not isinstance(example, dict) or "columns" not in example:
        raise BundleRejected(f"{name} is not in MLflow's split orient (columns + data).")
    return example


# --- coercion -----------------------------------------------------------------------


def _threads(pool: Pool) -> int:
    """One thread for small pools: starting CatBoost's thread pool costs more than a few rows."""
    return 1 if pool.num_row() < 1000 else -1


def frame_from_records(model: LoadedModel, records: Iterable[Mapping[str, object]]) -> pd.DataFrame:
    """A frame of validated feature dicts in model column order, ready for ``score_frame``."""
    return pd.DataFrame([[r[n] for n in model.feature_names] for r in records], columns=model.feature_names)

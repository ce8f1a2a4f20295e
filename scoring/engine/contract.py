"""The bundle contract: the JSON Schema of the creditscore metadata and the checks a schema cannot state.

Pure code (jsonschema, pandas, PyYAML, catboost; no Django). ``check_metadata`` returns every
problem of a bundle directory at once, each naming the item and how to fix it, so a data
scientist fixes a bundle in one round instead of one refusal at a time. docs/model-bundle.md
describes the same contract for people; keep the two in step.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from catboost import CatBoostClassifier
from jsonschema import Draft202012Validator

from scoring.engine.labels import FALLBACK_LANGUAGE, TEXT_LANGUAGES, localized
from scoring.engine.schema import DIRECTIONS, BundleRejected

SCHEMA_VERSION = 3
MLMODEL = "MLmodel"
FIX_COMMAND = "manage.py prepare_bundle DIR --sample CSV --target COLUMN"

_PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}
_TEXT = {"type": "string", "minLength": 1}


def _per_language(text: dict[str, Any]) -> dict[str, Any]:
    """Text a person reads: plain (one language for all) or {en: ..., fr: ...} with English (labels.py)."""
    by_language = {
        "type": "object",
        "required": ["en"],
        "properties": {language: text for language in TEXT_LANGUAGES},
        "additionalProperties": False,
    }
    return {"anyOf": [text, by_language]}


_WORDS = _per_language(_TEXT)  # a label, a title, a statement: never blank
_OPTIONAL_WORDS = _per_language({"type": "string"})  # help and units: may be blank
_CHOICE = {
    "type": "object",
    "required": ["value", "label"],
    "properties": {"value": {"type": "string", "minLength": 1}, "label": _WORDS},
    "additionalProperties": False,
}
# A reason code and the statement an applicant can be given, for one direction of a feature.
_REASON = {
    "type": "object",
    "required": ["code", "statement"],
    "properties": {"code": _TEXT, "statement": _WORDS},
    "additionalProperties": False,
}
# How an offer may change a feature (scoring/engine/counterfactuals.py): a number by steps within a range,
# or a choice to one of ``to``. The boolean of earlier bundles ("the applicant can change it") is still read,
# and gives no offer. The checks a schema cannot state are in _actionable_problems.
_ACTIONABLE = {
    "type": ["boolean", "object"],
    "properties": {
        "direction": {"enum": list(DIRECTIONS)},
        "min": {"type": "number"},
        "max": {"type": "number"},
        "step": {"type": "number", "exclusiveMinimum": 0},
        "to": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
    },
    "additionalProperties": False,
}
_FEATURE = {
    "type": "object",
    "required": ["name", "kind", "label"],
    "properties": {
        "name": _TEXT,
        "kind": {"enum": ["categorical", "integer", "number"]},
        "label": _WORDS,
        "help": _OPTIONAL_WORDS,
        "section": {"type": "string"},
        "unit": _OPTIONAL_WORDS,
        "choices": {"type": "array", "minItems": 1, "items": _CHOICE},
        "min": {"type": ["number", "null"]},
        "max": {"type": ["number", "null"]},
        "actionable": _ACTIONABLE,
        "reasons": {
            "type": "object",
            "required": ["raises", "lowers"],
            "properties": {"raises": _REASON, "lowers": _REASON},
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
    # A categorical input needs its list of values; a numeric one has a range, not choices.
    "if": {"properties": {"kind": {"const": "categorical"}}},
    "then": {"required": ["choices"], "not": {"anyOf": [{"required": ["min"]}, {"required": ["max"]}]}},
    "else": {"not": {"required": ["choices"]}},
}
_REFERENCE_ENTRY = {
    "type": "object",
    "required": ["kind", "frequencies"],
    "properties": {
        "kind": {"enum": ["categorical", "numeric"]},
        "categories": {"type": "array", "items": {"type": "string"}},
        "edges": {"type": "array", "items": {"type": "number"}, "minItems": 2},
        "frequencies": {"type": "array", "items": {"type": "number", "minimum": 0}},
    },
}

METADATA_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://creditscore.invalid/schemas/bundle-metadata-3.json",
    "title": "creditscore metadata of an MLflow CatBoost model (MLmodel `metadata`)",
    "type": "object",
    "required": [
        "creditscore_schema",
        "name",
        "threshold",
        "refer_band",
        "risk_bands",
        "features",
        "validation_sample",
    ],
    "properties": {
        "creditscore_schema": {"const": SCHEMA_VERSION},
        "name": _TEXT,
        "description": {"type": "string"},
        # For the model card; a card without them says so (docs/model-lifecycle.md).
        "intended_use": {"type": "string"},
        "limitations": {"type": "string"},
        "target": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": _TEXT, "positive_class": {}, "meaning": {"type": "string"}},
        },
        "threshold": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "refer_band": {
            "type": "object",
            "required": ["lower", "upper"],
            "properties": {"lower": _PROBABILITY, "upper": _PROBABILITY},
            "additionalProperties": False,
        },
        "risk_bands": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "label", "upper"],
                "properties": {"name": _TEXT, "label": _WORDS, "upper": {**_PROBABILITY, "exclusiveMinimum": 0}},
                "additionalProperties": False,
            },
        },
        "sections": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "label"],
                "properties": {"name": _TEXT, "label": _WORDS},
                "additionalProperties": False,
            },
        },
        # Model features carry their reasons; protected attributes never give one.
        "features": {"type": "array", "minItems": 1, "items": {"allOf": [_FEATURE, {"required": ["reasons"]}]}},
        "protected_attributes": {"type": "array", "items": _FEATURE},
        "validation_sample": {
            "type": "object",
            "required": ["file", "target", "bad_value"],
            "properties": {
                # CSV only: reading parquet needs pyarrow, which the app does not install.
                "file": {"type": "string", "pattern": r"^[^/\\].*\.csv$"},
                "target": _TEXT,
                "bad_value": {"type": ["string", "integer", "boolean"]},
            },
            "additionalProperties": False,
        },
        "reference": {
            "type": "object",
            "properties": {
                "rows": {"type": "integer", "minimum": 1},
                "binning": {"type": "string"},
                "features": {"type": "object", "additionalProperties": _REFERENCE_ENTRY},
                "protected": {"type": "object", "additionalProperties": _REFERENCE_ENTRY},
                "score": _REFERENCE_ENTRY,
            },
        },
        "metrics": {"type": "object"},
        "training": {"type": "object"},
    },
}
Draft202012Validator.check_schema(METADATA_SCHEMA)
_VALIDATOR = Draft202012Validator(METADATA_SCHEMA)

# Version 2, before features carried reasons: refused for a new version, still read for a version
# registered under it, so an upgrade never stops the live model (its decisions keep plain sentences).
EARLIER_SCHEMA_VERSION = 2
_EARLIER_SCHEMA = copy.deepcopy(METADATA_SCHEMA)
_EARLIER_SCHEMA["properties"]["creditscore_schema"] = {"const": EARLIER_SCHEMA_VERSION}
_EARLIER_SCHEMA["properties"]["features"]["items"] = _FEATURE
_EARLIER_VALIDATOR = Draft202012Validator(_EARLIER_SCHEMA)

# What each required item is, said where it is missing so the refusal doubles as instructions.
_MEANING = {
    "creditscore_schema": (
        f"set it to {SCHEMA_VERSION}, the contract version this app reads (version 3 adds each feature's reasons)"
    ),
    "name": "a short name for the model",
    "threshold": "the probability of default at or above which an application is declined",
    "refer_band": "{lower, upper}: probabilities from lower up to the threshold are referred to a person",
    "risk_bands": "[{name, label, upper}], ascending, the last ending at 1.0, cut at the threshold",
    "features": "[{name, kind, label, ...}] in the model's column order",
    "validation_sample": "{file, target, bad_value}: the labelled CSV shipped in the bundle",
    "choices": "[{value, label}]: every value the model was trained on, with the text an officer reads",
    "value": "the category exactly as the model saw it in training",
    "label": "the text an officer or applicant reads",
    "file": "the CSV's name inside the bundle folder",
    "target": "the sample's column holding the outcome",
    "bad_value": "the target value that means the loan defaulted",
    "lower": "the lowest probability that is referred",
    "upper": "the band's highest probability (exclusive)",
    "kind": "categorical, integer or number",
    "reasons": (
        "{raises: {code, statement}, lowers: {code, statement}}: the reason given when the feature's value "
        "raised, or lowered, the risk of default"
    ),
    "raises": "{code, statement}: the reason given when the value raised the risk of default",
    "lowers": "{code, statement}: the reason given when the value lowered the risk of default",
    "code": "the reason code, such as SAVINGS_LOW; features may share one",
    "statement": "the reason as an applicant reads it, such as 'Insufficient savings'",
    "en": "a text given per language ({en: ..., fr: ...}) needs its English, the language every page falls back to",
    "actionable": (
        "how an offer may change the feature: {direction: down|up|any, step, min, max} for a number, "
        "{to: [values]} for a choice"
    ),
    "direction": "down, up or any: which way an offer may move the value",
    "step": "the amount an offer moves the value by, above 0",
}
# Band labels that promise a low (high) risk: never on a band holding declines (approvals).
_LOW_WORD = re.compile(r"\blow\b", re.IGNORECASE)
_HIGH_WORD = re.compile(r"\bhigh\b", re.IGNORECASE)
_NUMERIC_SIGNATURE_TYPES = {"long", "integer", "int", "double", "float"}
# Every MLflow column type a feature may have: text and booleans are categories, the rest numbers.
SIGNATURE_TYPES = frozenset({"string", "str", "boolean", *_NUMERIC_SIGNATURE_TYPES})


def check_metadata(
    metadata: Mapping[str, Any] | None, folder: Path, *, model: CatBoostClassifier | None = None
) -> list[str]:
    """Every way the bundle in ``folder`` with this MLmodel ``metadata`` misses the contract; [] when it meets it.

    ``model``: the classifier already read from the folder, to save reading it twice.
    """
    folder = Path(folder)
    problems: list[str] = []
    mlmodel = _read_mlmodel(folder, problems)
    if model is None:
        model = read_classifier(folder, mlmodel, problems)
    return problems + _metadata_problems(metadata, folder, mlmodel, model)


def inspect_bundle(
    folder: Path, *, registered: bool = False
) -> tuple[dict[str, Any] | None, CatBoostClassifier | None, list[str]]:
    """The folder's MLmodel and classifier, as far as they can be read, and every problem of the bundle.

    ``registered``: the files of a version already registered, which may be of the earlier contract.
    """
    folder = Path(folder)
    problems: list[str] = []
    mlmodel = _read_mlmodel(folder, problems)
    model = read_classifier(folder, mlmodel, problems)
    metadata = (mlmodel or {}).get("metadata")
    return mlmodel, model, problems + _metadata_problems(metadata, folder, mlmodel, model, registered=registered)


def check_bundle(folder: Path) -> list[str]:
    """Every problem of a bundle folder as it stands, with its MLmodel's own metadata."""
    return inspect_bundle(folder)[2]


def _metadata_problems(
    metadata: Any,
    folder: Path,
    mlmodel: Mapping[str, Any] | None,
    model: CatBoostClassifier | None,
    *,
    registered: bool = False,
) -> list[str]:
    if not isinstance(metadata, Mapping):
        metadata = {}
    earlier = registered and metadata.get("creditscore_schema") == EARLIER_SCHEMA_VERSION
    problems = _schema_problems(metadata, _EARLIER_VALIDATOR if earlier else _VALIDATOR)
    features = _valid_items(metadata.get("features"))
    protected = _valid_items(metadata.get("protected_attributes"))
    problems.extend(_feature_problems(features, protected, metadata.get("sections")))
    problems.extend(_policy_problems(metadata))
    if mlmodel is not None and features:
        problems.extend(_signature_problems(mlmodel.get("signature"), features))
    if model is not None and features:
        problems.extend(_model_problems(model, features))
    problems.extend(_reference_problems(metadata.get("reference"), features, protected))
    problems.extend(_sample_problems(metadata.get("validation_sample"), folder, features, protected))
    return problems


def refusal(problems: Sequence[str]) -> BundleRejected:
    """The exception for a bundle that misses the contract: every problem, then the command that fixes it."""
    lines = "\n".join(f"- {p}" for p in problems)
    count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
    return BundleRejected(
        f"The bundle does not meet the creditscore model contract (docs/model-bundle.md), {count}:\n{lines}\n"
        f"Complete it with: {FIX_COMMAND}",
        problems,
    )


# --- files --------------------------------------------------------------------------


def read_yaml(path: Path) -> Any:
    # libyaml's safe loader when PyYAML has it: the pure-Python one takes ~0.25 s for our MLmodel.
    text = path.read_text(encoding="utf-8")
    return yaml.load(text, Loader=yaml.CSafeLoader) if yaml.__with_libyaml__ else yaml.safe_load(text)


def _read_mlmodel(folder: Path, problems: list[str]) -> dict[str, Any] | None:
    path = folder / MLMODEL
    if not path.is_file():
        problems.append(
            "MLmodel: missing; save the model with mlflow.catboost.save_model (or log_model), "
            "which writes MLmodel with the catboost flavor and the signature."
        )
        return None
    try:
        mlmodel = read_yaml(path)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(f"MLmodel: not valid YAML ({exc}); write it with mlflow.catboost.save_model.")
        return None
    if not isinstance(mlmodel, dict):
        problems.append("MLmodel: must be a YAML mapping; write it with mlflow.catboost.save_model.")
        return None
    flavor = (mlmodel.get("flavors") or {}).get("catboost") if isinstance(mlmodel.get("flavors"), dict) else None
    if not isinstance(flavor, dict):
        problems.append("MLmodel flavors.catboost: missing; save the model with mlflow.catboost.save_model.")
    elif flavor.get("model_type", "CatBoostClassifier") != "CatBoostClassifier":
        problems.append(
            f"MLmodel flavors.catboost.model_type: {flavor.get('model_type')!r}; only a CatBoostClassifier "
            "gives a probability of default."
        )
    signature = mlmodel.get("signature")
    if not isinstance(signature, dict) or not signature.get("inputs"):
        problems.append(
            "MLmodel signature.inputs: missing; save the model with a signature "
            "(mlflow.catboost.save_model(..., signature=infer_signature(X, y)) or input_example=X.head())."
        )
    return mlmodel


def model_file(folder: Path, mlmodel: Mapping[str, Any] | None) -> tuple[Path | None, str]:
    """The model file MLmodel names, if it lies inside ``folder``, and its save format."""
    flavor = ((mlmodel or {}).get("flavors") or {}).get("catboost") or {}
    if not isinstance(flavor, dict):
        return None, "cbm"
    name = str(flavor.get("data") or "model.cb")
    path = (folder / name).resolve()
    inside = folder.resolve() in path.parents
    return (path if inside else None), str(flavor.get("save_format") or "cbm")


def read_classifier(folder: Path, mlmodel: Mapping[str, Any] | None, problems: list[str]) -> CatBoostClassifier | None:
    """The fitted classifier MLmodel names (or a bare model.cb), or None with the reason added to ``problems``."""
    path, save_format = model_file(folder, mlmodel)
    if mlmodel is None:  # a bare model.cb: still read, so its features can be compared with any schema
        path = folder / "model.cb" if (folder / "model.cb").is_file() else None
        if path is None:
            problems.append("model.cb: missing; mlflow.catboost.save_model writes it beside MLmodel.")
            return None
    if path is None or not path.is_file():
        problems.append("model file: the file named in MLmodel flavors.catboost.data is missing from the bundle.")
        return None
    try:
        model = CatBoostClassifier()
        model.load_model(str(path), format=save_format)
    except Exception as exc:  # catboost raises its own CatBoostError and sometimes others on garbage
        problems.append(f"{path.name} could not be loaded by CatBoost ({exc}); save the model again.")
        return None
    if not model.is_fitted():
        problems.append(f"{path.name}: holds no fitted model; save the trained classifier.")
        return None
    return model


# --- metadata -----------------------------------------------------------------------


def _schema_problems(metadata: Mapping[str, Any], validator: Draft202012Validator = _VALIDATOR) -> list[str]:
    found: list[str] = []
    wrong_items: dict[str, list[Any]] = {}  # list items of the wrong type, reported once per list
    errors = sorted(
        (e for error in validator.iter_errors(dict(metadata)) for e in _specific(error)),
        key=lambda e: [f"{p:>6}" for p in e.absolute_path],
    )
    for error in errors:
        path = list(error.absolute_path)
        where = _where(path, metadata)
        if error.validator == "required":
            # One error per missing key, each carrying the whole list: report every key once.
            for key in [k for k in error.validator_value if k not in (error.instance or {})]:
                line = f"{where}.{key}: missing; {_MEANING.get(key, 'required')}."
                found += [] if line in found else [line]
        elif error.validator == "const" and path == ["creditscore_schema"]:
            found.append(f"{where}: is {error.instance!r}; {_MEANING['creditscore_schema']}.")
        elif error.validator in ("if", "then", "else", "not"):
            found.append(f"{where}: a categorical feature needs choices and no min/max; a numeric one no choices.")
        elif error.validator == "type" and path and isinstance(path[-1], int):
            wrong_items.setdefault(_where(path[:-1], metadata), []).append(error.instance)
        else:
            key = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
            hint = f" ({_MEANING[key]})" if key in _MEANING else ""
            found.append(f"{where}: {error.message}{hint}.")
    for where, items in wrong_items.items():
        key = where.rsplit(".", 1)[-1]
        shown = ", ".join(repr(i) for i in items[:3]) + (", ..." if len(items) > 3 else "")
        found.append(f"{where}: {len(items)} item(s) of the wrong type ({shown}); {_MEANING.get(key, 'see the docs')}.")
    return found


def _specific(error: Any) -> list[Any]:
    """A text that is neither plain nor per language: what is wrong with the form it was given in, not
    that it matches neither (a blank string is "non-empty", a mapping without "en" is missing "en")."""
    if error.validator == "anyOf" and error.context:
        specific = [e for e in error.context if e.validator != "type"]
        if specific:
            return specific
    return [error]


def _where(path: Sequence[Any], metadata: Mapping[str, Any]) -> str:
    """A readable path to an item: list items of features and bands by their name, else by position."""
    text, node = "metadata", metadata
    for part in path:
        node = node[part] if isinstance(node, Mapping | list) else None
        name = node.get("name") if isinstance(part, int) and isinstance(node, Mapping) else None
        if isinstance(part, int):
            text += f"[{name}]" if isinstance(name, str) and name else f"[{part}]"
        else:
            text += f".{part}"
    return text


def _valid_items(raw: Any) -> list[Mapping[str, Any]]:
    """The feature mappings sound enough for the checks below (the schema reports the others)."""
    if not isinstance(raw, list):
        return []
    return [f for f in raw if isinstance(f, Mapping) and isinstance(f.get("name"), str) and f.get("kind")]


def choice_values(feature: Mapping[str, Any]) -> list[str]:
    return [c["value"] for c in feature.get("choices") or () if isinstance(c, Mapping) and "value" in c]


def _feature_problems(
    features: list[Mapping[str, Any]], protected: list[Mapping[str, Any]], sections: Any
) -> list[str]:
    found = []
    names = [f["name"] for f in [*features, *protected]]
    for name in sorted({n for n in names if names.count(n) > 1}):
        found.append(f"metadata.features: {name!r} is declared twice; each input needs one name.")
    declared = {s.get("name") for s in sections if isinstance(s, Mapping)} if isinstance(sections, list) else None
    for where, items in (("features", features), ("protected_attributes", protected)):
        for feature in items:
            item = f"metadata.{where}[{feature['name']}]"
            values = choice_values(feature)
            if len(set(values)) != len(values):
                found.append(f"{item}.choices: a value appears twice; list each value once.")
            low, high = feature.get("min"), feature.get("max")
            if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
                found.append(f"{item}: min {low} is above max {high}.")
            if feature.get("kind") == "integer":
                for key in ("min", "max"):
                    value = feature.get(key)
                    if isinstance(value, float) and not value.is_integer():
                        found.append(f"{item}.{key}: {value} is not a whole number, but the feature is an integer.")
            found.extend(actionable_problems(feature, f"{item}.actionable", protected=where == "protected_attributes"))
            section = feature.get("section")
            # Protected attributes have their own fieldset on the form; sections group model features.
            if where == "features" and section and declared is not None and section not in declared:
                found.append(f"{item}.section: {section!r} is not one of metadata.sections; add it there.")
    return found


def actionable_problems(feature: Mapping[str, Any], where: str, *, protected: bool) -> list[str]:
    """An offer's rule (``actionable``, named ``where``) must fit the feature: its kind, its choices and the
    range the product allows; and a protected attribute never has one."""
    rule = feature.get("actionable")
    if protected and rule not in (None, False):
        return [
            f"{where}: {feature['name']!r} is a protected attribute; an offer can never change it "
            "(and the model never sees it). Remove actionable."
        ]
    if not isinstance(rule, Mapping):
        return []  # absent, the earlier boolean, or reported by the schema
    if feature.get("kind") == "categorical":
        extra = sorted(set(rule) - {"to"})
        if extra or "to" not in rule:
            return [f"{where}: a categorical feature takes only {{to: [values]}}, the choices an offer may set."]
        unknown = sorted(set(rule["to"]) - set(choice_values(feature))) if isinstance(rule["to"], list) else []
        return [f"{where}.to: {unknown} are not among the feature's choices."] if unknown else []
    found = []
    if "to" in rule:
        found.append(f"{where}.to: only for categorical features; a number takes direction, step, min and max.")
    for key in ("direction", "step"):
        if key not in rule:
            found.append(f"{where}.{key}: missing; {_MEANING[key]}.")
    low, high = rule.get("min"), rule.get("max")
    numbers = {k: rule.get(k) for k in ("min", "max", "step") if isinstance(rule.get(k), int | float)}
    if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        found.append(f"{where}: min {low} is above max {high}.")
    low_end, high_end = feature.get("min"), feature.get("max")
    for key in ("min", "max"):
        value = numbers.get(key)
        below = isinstance(low_end, int | float) and value is not None and value < low_end
        above = isinstance(high_end, int | float) and value is not None and value > high_end
        if below or above:
            found.append(f"{where}.{key}: {value} is outside the feature's range ({low_end} to {high_end}).")
    if feature.get("kind") == "integer":
        for key, value in numbers.items():
            if isinstance(value, float) and not value.is_integer():
                found.append(f"{where}.{key}: {value} is not a whole number, but the feature is an integer.")
    return found


def _policy_problems(metadata: Mapping[str, Any]) -> list[str]:
    """The decision policy: refer band below the threshold, bands that never straddle a decision boundary."""
    threshold = metadata.get("threshold")
    band = metadata.get("refer_band")
    bands = metadata.get("risk_bands")
    if not _is_probability(threshold) or not isinstance(band, Mapping):
        return []
    found = []
    lower, upper = band.get("lower"), band.get("upper")
    if _is_probability(upper) and not math.isclose(upper, threshold, abs_tol=1e-9):
        found.append(
            f"metadata.refer_band.upper: {upper} differs from the threshold {threshold}; set it to the threshold."
        )
    if _is_probability(lower) and lower > threshold:
        found.append(f"metadata.refer_band.lower: {lower} is above the threshold {threshold}; it must not be.")
    if not isinstance(bands, list) or not all(
        isinstance(b, Mapping) and _is_probability(b.get("upper")) for b in bands
    ):
        return found
    uppers = [float(b["upper"]) for b in bands]
    if any(b <= a for a, b in itertools.pairwise(uppers)):
        found.append(f"metadata.risk_bands: upper bounds {uppers} must strictly increase.")
    if uppers and not math.isclose(uppers[-1], 1.0):
        found.append(f"metadata.risk_bands: the last band must end at 1.0, not {uppers[-1]}.")
    names = [str(b.get("name")) for b in bands]
    if len(set(names)) != len(names):
        found.append("metadata.risk_bands: band names must be unique.")
    edges = [("threshold", float(threshold))]
    if _is_probability(lower) and 0 < lower < threshold:
        edges.append(("refer_band.lower", float(lower)))
    for key, edge in edges:
        if edge < 1.0 and not any(math.isclose(edge, u, abs_tol=1e-9) for u in uppers):
            found.append(
                f"metadata.risk_bands: no band ends at the {key} {edge}, so a band holds two decisions; "
                f"end a band exactly at {edge}."
            )
    for b in bands:
        item = f"metadata.risk_bands[{b.get('name')}]"
        label = localized(b.get("label"), FALLBACK_LANGUAGE)
        if float(b["upper"]) > threshold + 1e-9 and _LOW_WORD.search(label):
            found.append(f"{item}: labelled {label!r} but ends above the threshold, so it holds declines.")
        if _is_probability(lower) and float(b["upper"]) <= lower + 1e-9 and _HIGH_WORD.search(label):
            found.append(f"{item}: labelled {label!r} but ends below the refer band, so it holds approvals only.")
    return found


def _is_probability(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


# --- the model and its files --------------------------------------------------------


def _signature_problems(signature: Any, features: list[Mapping[str, Any]]) -> list[str]:
    if not isinstance(signature, dict) or not signature.get("inputs"):
        return []  # reported with MLmodel
    try:
        columns = json.loads(signature["inputs"])
        names = [str(c["name"]) for c in columns]
    except (TypeError, ValueError, KeyError) as exc:
        return [f"MLmodel signature.inputs: not a JSON list of named columns ({exc})."]
    declared = [f["name"] for f in features]
    if names != declared:
        return [f"metadata.features: {_name_difference(declared, names, 'the signature')}"]
    found = []
    for column, feature in zip(columns, features, strict=True):
        numeric = str(column.get("type")) in _NUMERIC_SIGNATURE_TYPES
        if feature["kind"] != "categorical" and not numeric:
            found.append(
                f"metadata.features[{feature['name']}].kind: {feature['kind']}, but the signature types the "
                f"column {column.get('type')!r}."
            )
    return found


def _name_difference(declared: list[str], actual: list[str], source: str) -> str:
    extra = [n for n in declared if n not in actual]
    missing = [n for n in actual if n not in declared]
    parts = []
    if extra:
        parts.append(f"{extra} are not inputs of {source}")
    if missing:
        parts.append(f"{source} also takes {missing}")
    if not parts:
        parts.append(f"the order differs from {source}'s {actual}")
    return "; ".join(parts) + f". Declare exactly the columns of {source}, in its order."


def _model_problems(model: CatBoostClassifier, features: list[Mapping[str, Any]]) -> list[str]:
    declared = [f["name"] for f in features]
    model_names = list(model.feature_names_ or [])
    if model_names and model_names != declared:
        return [f"metadata.features: {_name_difference(declared, model_names, 'the model')}"]
    cats = {declared[i] for i in model.get_cat_feature_indices() if i < len(declared)}
    found = []
    for f in features:
        if (f["name"] in cats) != (f["kind"] == "categorical"):
            model_kind = "categorical" if f["name"] in cats else "numeric"
            found.append(f"metadata.features[{f['name']}].kind: {f['kind']}, but the model treats it as {model_kind}.")
    return found


def _reference_problems(reference: Any, features: list[Mapping[str, Any]], protected: list) -> list[str]:
    if not isinstance(reference, Mapping):
        return []
    found = []
    for group, items in (("features", features), ("protected", protected)):
        entries = reference.get(group)
        if not isinstance(entries, Mapping):
            continue
        known = {f["name"]: f for f in items}
        for name, entry in entries.items():
            if name not in known:
                found.append(f"metadata.reference.{group}.{name}: not a declared input; remove it.")
                continue
            if not isinstance(entry, Mapping):
                continue
            counts = entry.get("categories") if entry.get("kind") == "categorical" else entry.get("edges")
            bins = len(counts or ()) - (0 if entry.get("kind") == "categorical" else 1)
            if len(entry.get("frequencies") or ()) != bins:
                found.append(f"metadata.reference.{group}.{name}: frequencies do not match its bins.")
            values = choice_values(known[name])
            if entry.get("kind") == "categorical" and values and set(entry.get("categories") or ()) - set(values):
                unknown = sorted(set(entry.get("categories") or ()) - set(values))
                where = "features" if group == "features" else "protected_attributes"
                found.append(
                    f"metadata.{where}[{name}].choices: the model was trained on {unknown}, which are not "
                    "among the choices; add them."
                )
    return found


def _sample_problems(
    sample: Any, folder: Path, features: list[Mapping[str, Any]], protected: list[Mapping[str, Any]]
) -> list[str]:
    if not isinstance(sample, Mapping) or not isinstance(sample.get("file"), str):
        return []  # reported by the schema
    name = sample["file"]
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents or not path.is_file():
        return [f"validation sample {name!r}: missing from the bundle folder; ship the labelled sample with it."]
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises parser, decode and engine errors of many kinds
        return [f"validation sample {name!r}: cannot be read ({exc})."]
    found = []
    target = sample.get("target")
    missing = [f["name"] for f in features if f["name"] not in frame.columns]
    if missing:
        found.append(f"validation sample {name!r}: lacks the feature columns {missing}.")
    if isinstance(target, str) and target not in frame.columns:
        found.append(f"validation sample {name!r}: lacks the target column {target!r}.")
    elif isinstance(target, str):
        bad = str(sample.get("bad_value")).strip().lower()
        labels = frame[target].astype(str).str.strip().str.lower()
        if not (labels == bad).any() or (labels == bad).all():
            found.append(
                f"validation sample {name!r}: the target {target!r} needs both defaults "
                f"({sample.get('bad_value')!r}) and repaid loans to measure the model."
            )
    groups = [("features", f) for f in features] + [("protected_attributes", f) for f in protected]
    for group, feature in groups:
        values = choice_values(feature)
        if not values or feature["name"] not in frame.columns:
            continue
        seen = set(frame[feature["name"]].astype(str).str.strip())
        unknown = sorted(seen - set(values) - {""})
        if unknown:
            found.append(
                f"metadata.{group}[{feature['name']}].choices: the validation sample has {unknown[:5]}, "
                "which are not among the choices; add them with a label."
            )
    if len(frame) == 0:
        found.append(f"validation sample {name!r}: has no rows.")
    return found

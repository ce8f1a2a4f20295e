"""Credit policy rules beside the model: checked against a model's schema, evaluated with GoRules ZEN.

A policy is an ordered list of rules. Each rule has one or more conditions, each a ZEN unary
expression on one field of the application (a model feature, a protected attribute, or the model's
``probability`` and ``risk_band``), all of which must hold for the rule to fire; and an outcome:
``decline`` (a knock-out), ``refer`` (a referral trigger) or ``record`` (fires, changes nothing).

Every condition is compiled once by ZEN's expression engine and evaluated by it, in every channel:
one application at a time, or a frame at a time (each distinct value of a column is evaluated once,
then spread over the rows with numpy, so a million rows cost what their distinct values cost).
The same rules export as a ZEN decision model (JDM, a decision table with the "collect" hit policy)
that any GoRules tool runs with the same answers (tested), and import from one.

The order of a decision: knock-outs that apply before the model decline whatever the model says;
else the model's decision (threshold, refer band); then knock-outs after the model decline; then a
referral rule turns an approve into a refer. The first rule (in policy order) that changed the
outcome is the deciding rule. Pure code: no Django.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import zen

from scoring.engine.schema import APPROVE, CATEGORICAL, DECLINE, REFER, Feature

BEFORE_MODEL = "before_model"
AFTER_MODEL = "after_model"
STAGES = (BEFORE_MODEL, AFTER_MODEL)
RECORD = "record"
OUTCOMES = (DECLINE, REFER, RECORD)
# Fields the model gives, which a rule after the model may test.
PROBABILITY = "probability"
RISK_BAND = "risk_band"
MODEL_FIELDS = (PROBABILITY, RISK_BAND)
CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,39}$")
_STRING_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def gettext_noop(text: str) -> str:
    """Marks a problem's wording for translation (makemessages reads the name); the engine itself speaks English."""
    return text


class Problem(str):
    """A problem as the engine words it, in English (the string itself), keeping its ``template`` and ``values``
    so a caller with translations can word it in the reader's language: ``gettext(p.template) % p.values``."""

    template: str
    values: dict[str, object]

    def __new__(cls, template: str, **values: object) -> Problem:
        problem = super().__new__(cls, template % values if values else template)
        problem.template = template
        problem.values = values
        return problem

    def __reduce__(self):
        return (_problem, (self.template, self.values))

    def worded(self, translate: Callable[[str], str]) -> str:
        """The problem in the words ``translate`` gives its template (Django's gettext, for the reader)."""
        text = translate(self.template)
        return text % self.values if self.values else text


def word_problems(errors: Mapping[str, Sequence[str]], translate: Callable[[str], str]) -> dict[str, list[str]]:
    """Problems by key, each worded by ``translate`` when it is a Problem (any other text as it is)."""
    return {
        key: [p.worded(translate) if isinstance(p, Problem) else str(p) for p in problems]
        for key, problems in errors.items()
    }


def _problem(template: str, values: dict[str, object]) -> Problem:
    return Problem(template, **values)


class PolicyRejected(ValueError):
    """A policy that cannot be used: ``errors`` maps each rule's code (or ``policy``) to its problems."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = {k: list(v) for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))


class PolicyEvaluationError(RuntimeError):
    """A rule could not be evaluated on a value (it passed the checks, so the model changed under it)."""


@dataclass(frozen=True)
class Condition:
    field: str
    test: str  # a ZEN unary expression on the field's value, e.g. ``> 20000`` or ``"car (new)", "car (used)"``


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    statement: str  # what the applicant is told when the rule decides
    outcome: str
    stage: str
    conditions: tuple[Condition, ...]
    legal_basis: str = ""  # required when a condition tests a protected attribute
    statement_fr: str = ""  # the statement in French (optional): French readers get it, others the statement

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "statement": self.statement,
            "statement_fr": self.statement_fr,
            "outcome": self.outcome,
            "stage": self.stage,
            "conditions": [{"field": c.field, "test": c.test} for c in self.conditions],
            "legal_basis": self.legal_basis,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Rule:
        return cls(
            code=str(raw.get("code", "")),
            name=str(raw.get("name", "")),
            statement=str(raw.get("statement", "")),
            outcome=str(raw.get("outcome", "")),
            stage=str(raw.get("stage", "")),
            conditions=tuple(
                Condition(field=str(c.get("field", "")), test=str(c.get("test", ""))) for c in raw.get("conditions", ())
            ),
            legal_basis=str(raw.get("legal_basis", "") or ""),
            statement_fr=str(raw.get("statement_fr", "") or ""),
        )


@dataclass(frozen=True)
class Outcome:
    """What the policy made of one application."""

    decision: str
    model_decision: str
    fired: tuple[str, ...]  # codes of every rule that fired, in policy order
    deciding: Rule | None  # the rule that changed the model's decision, if any


@dataclass
class FrameOutcome:
    """What the policy made of many applications, aligned with the frame."""

    decisions: np.ndarray
    model_decisions: np.ndarray
    fired: np.ndarray  # (rows x rules) booleans
    deciding: np.ndarray  # per row: index of the deciding rule, -1 when the model decided
    rules: tuple[Rule, ...] = field(default=())

    def fired_codes(self, row: int) -> list[str]:
        return [self.rules[k].code for k in np.flatnonzero(self.fired[row]).tolist()]

    def fired_json(self) -> list[str]:
        """The JSON text of each row's fired codes (``[]`` for most rows), without a json.dumps per row."""
        texts = np.full(len(self.decisions), "[]", dtype=object)
        any_fired = self.fired.any(axis=1) if self.fired.size else np.zeros(len(self.decisions), dtype=bool)
        for row in np.flatnonzero(any_fired).tolist():
            texts[row] = json.dumps(self.fired_codes(row))
        return texts.tolist()

    def deciding_codes(self) -> list[str]:
        codes = np.asarray([r.code for r in self.rules] + [""], dtype=object)
        return codes[self.deciding].tolist()  # -1 picks the trailing ""


# --- checking a policy against a model's schema ------------------------------------------------


def check(rules: Sequence[Rule], fields: Mapping[str, Feature], band_names: Sequence[str]) -> dict[str, list[str]]:
    """Every problem of every rule, by rule code, against the model's fields (features and protected
    attributes by name) and its risk band names; an empty dict when the policy can be used."""
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for position, rule in enumerate(rules, start=1):
        key = rule.code or f"rule {position}"
        problems = _rule_problems(rule, fields, band_names)
        if rule.code in seen:
            problems.insert(0, Problem(gettext_noop("Another rule already has the code %(code)s."), code=rule.code))
        seen.add(rule.code)
        if problems:
            errors[key] = problems
    return errors


def _rule_problems(rule: Rule, fields: Mapping[str, Feature], band_names: Sequence[str]) -> list[str]:
    problems: list[str] = []
    if not CODE_PATTERN.match(rule.code):
        problems.append(
            Problem(
                gettext_noop("The code must be 2 to 40 capital letters, digits or underscores, starting with a letter.")
            )
        )
    if not rule.name.strip():
        problems.append(Problem(gettext_noop("Give the rule a name.")))
    if not rule.statement.strip():
        problems.append(Problem(gettext_noop("Give the statement an applicant is told when this rule decides.")))
    if rule.outcome not in OUTCOMES:
        problems.append(Problem(gettext_noop("The outcome must be one of %(choices)s."), choices=", ".join(OUTCOMES)))
    if rule.stage not in STAGES:
        problems.append(Problem(gettext_noop("The stage must be one of %(choices)s."), choices=", ".join(STAGES)))
    if not rule.conditions:
        problems.append(Problem(gettext_noop("A rule needs at least one condition.")))
    names = [c.field for c in rule.conditions]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(
            Problem(
                gettext_noop(
                    "Two conditions test %(field)s: write them as one, e.g. [6..72] or > 1000 and < 5000 as "
                    "[1000..5000]."
                ),
                field=name,
            )
        )
    for condition in rule.conditions:
        problems.extend(_condition_problems(rule, condition, fields, band_names))
    return problems


def _condition_problems(
    rule: Rule, condition: Condition, fields: Mapping[str, Feature], band_names: Sequence[str]
) -> list[str]:
    name = condition.field
    if name in MODEL_FIELDS:
        if rule.stage == BEFORE_MODEL:
            return [
                Problem(
                    gettext_noop("A rule before the model cannot test the model's %(field)s."),
                    field=name.replace("_", " "),
                )
            ]
        samples: list[object] = list(band_names) if name == RISK_BAND else [0.0, 0.05, 0.5, 1.0]
        choices = tuple(band_names) if name == RISK_BAND else None
        label = "risk band" if name == RISK_BAND else "probability of default"
    else:
        feature = fields.get(name)
        if feature is None:
            return [Problem(gettext_noop("The active model has no field %(field)s."), field=repr(name))]
        label = feature.label
        if feature.protected and not rule.legal_basis.strip():
            return [
                Problem(
                    gettext_noop(
                        "%(field)s is a protected attribute: a rule may test it only with its documented legal "
                        "basis (fill in the legal basis) - or remove the condition."
                    ),
                    field=feature.label,
                )
            ]
        if feature.kind == CATEGORICAL:
            samples, choices = list(feature.choices), tuple(feature.choices)
        else:
            low = feature.min if feature.min is not None else 0
            high = feature.max if feature.max is not None else 1_000_000
            samples, choices = [low, high, (low + high) / 2, 0, 1], None
    test = condition.test.strip()
    if not test:
        return [Problem(gettext_noop("The condition on %(field)s is empty."), field=label)]
    try:
        compiled = zen.compile_unary_expression(test)
    except Exception as exc:  # ZEN raises RuntimeError with its parser's message
        return [
            Problem(
                gettext_noop("The condition on %(field)s (%(test)s) is not a valid expression: %(error)s"),
                field=label,
                test=test,
                error=_zen_message(exc),
            )
        ]
    literals = [m.replace('\\"', '"') for m in _STRING_LITERAL.findall(test)]
    if choices is None and literals:
        return [
            Problem(
                gettext_noop("The condition on %(field)s (%(test)s) compares a number with text."),
                field=label,
                test=test,
            )
        ]
    if choices is not None:
        unknown = [v for v in literals if v not in choices]
        if unknown:
            return [
                Problem(
                    gettext_noop(
                        "The condition on %(field)s (%(test)s) names %(values)s, which is not one of its choices "
                        "(%(choices)s)."
                    ),
                    field=label,
                    test=test,
                    values=", ".join(repr(v) for v in unknown),
                    choices=", ".join(choices),
                )
            ]
    for sample in samples:
        try:
            result = compiled.evaluate({"$": sample})
        except Exception as exc:
            return [
                Problem(
                    gettext_noop("The condition on %(field)s (%(test)s) cannot be evaluated on %(value)s: %(error)s"),
                    field=label,
                    test=test,
                    value=repr(sample),
                    error=_zen_message(exc),
                )
            ]
        if not isinstance(result, bool):
            return [
                Problem(
                    gettext_noop("The condition on %(field)s (%(test)s) does not give yes or no (it gave %(result)s)."),
                    field=label,
                    test=test,
                    result=repr(result),
                )
            ]
    return []


def _zen_message(exc: BaseException) -> str:
    text = str(exc).split("\n", 1)[0]
    try:
        return str(json.loads(text).get("source", text))
    except (ValueError, AttributeError):
        return text


# --- evaluation ------------------------------------------------------------------------------


class CompiledPolicy:
    """A checked policy ready to evaluate: its conditions compiled by ZEN once."""

    def __init__(self, rules: Sequence[Rule], *, version_id: int | None = None, label: str = ""):
        self.rules = tuple(rules)
        self.version_id = version_id
        self.label = label
        self._compiled = [
            [(c.field, zen.compile_unary_expression(c.test.strip())) for c in rule.conditions] for rule in self.rules
        ]
        self.fields = sorted({c.field for rule in self.rules for c in rule.conditions})

    def __len__(self) -> int:
        return len(self.rules)

    def required(self, optional: Sequence[str]) -> dict[str, str]:
        """Of the optional fields (protected attributes), those a rule tests, with the message an application
        that leaves one out gets: a rule cannot be evaluated on a missing value, and is never assumed to pass."""
        found = {}
        for name in optional:
            rules = [r for r in self.rules if any(c.field == name for c in r.conditions)]
            if rules:
                named = ", ".join(f"\u201c{r.name}\u201d ({r.code})" for r in rules)
                found[name] = f"Required by the credit policy: rule {named} tests it."
        return found

    # One application.

    def evaluate(self, values: Mapping[str, object], model_decision: str) -> Outcome:
        """``values``: the application's features and protected attributes, its probability and band."""
        fired = np.zeros((1, len(self.rules)), dtype=bool)
        for k, conditions in enumerate(self._compiled):
            fired[0, k] = all(_holds(expression, values.get(name), name) for name, expression in conditions)
        outcome = self.decide(np.asarray([model_decision], dtype=object), fired)
        deciding = int(outcome.deciding[0])
        return Outcome(
            decision=str(outcome.decisions[0]),
            model_decision=model_decision,
            fired=tuple(outcome.fired_codes(0)),
            deciding=self.rules[deciding] if deciding >= 0 else None,
        )

    # Many applications.

    def evaluate_frame(self, columns: Mapping[str, Any], model_decisions: np.ndarray) -> FrameOutcome:
        """``columns``: each field a rule tests -> its values for every row (array or Series)."""
        rows = len(model_decisions)
        fired = np.ones((rows, len(self.rules)), dtype=bool)
        memo: dict[tuple[str, str], np.ndarray] = {}
        distinct: dict[str, tuple[np.ndarray, list]] = {}  # a field tested by several rules is factorized once
        for k, (rule, conditions) in enumerate(zip(self.rules, self._compiled, strict=True)):
            for condition, (name, expression) in zip(rule.conditions, conditions, strict=True):
                key = (name, condition.test.strip())
                if key not in memo:
                    if name not in distinct:
                        distinct[name] = _distinct(columns[name])
                    memo[key] = _column_holds(expression, *distinct[name], name)
                fired[:, k] &= memo[key]
        return self.decide(np.asarray(model_decisions, dtype=object), fired)

    def decide(self, model_decisions: np.ndarray, fired: np.ndarray) -> FrameOutcome:
        """The policy's decisions from the model's and the fired rules (rows x rules), vectorised."""
        rows = len(model_decisions)
        decisions = model_decisions.astype(object).copy()
        deciding = np.full(rows, -1, dtype=np.int64)

        def first_fired(outcome: str, stages: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
            """Which rows a rule of this kind fired on, and the first such rule (policy order) of each."""
            selected = [k for k, r in enumerate(self.rules) if r.outcome == outcome and r.stage in stages]
            if not selected:
                return np.zeros(rows, dtype=bool), deciding
            hits = fired[:, selected]
            return hits.any(axis=1), np.asarray(selected)[hits.argmax(axis=1)]

        # Knock-outs before the model decline whatever the model said, and are the reason even where it declined.
        hit, which = first_fired(DECLINE, (BEFORE_MODEL,))
        decisions[hit], deciding[hit] = DECLINE, which[hit]
        # Knock-outs after the model decline what the model did not.
        hit, which = first_fired(DECLINE, (AFTER_MODEL,))
        change = hit & (decisions != DECLINE)
        decisions[change], deciding[change] = DECLINE, which[change]
        # Referral triggers turn an approval into a referral.
        hit, which = first_fired(REFER, STAGES)
        change = hit & (decisions == APPROVE)
        decisions[change], deciding[change] = REFER, which[change]
        return FrameOutcome(
            decisions=decisions, model_decisions=model_decisions, fired=fired, deciding=deciding, rules=self.rules
        )

    def rule_reason(self, rule: Rule, values: Mapping[str, object]) -> dict[str, Any]:
        """The deciding rule as the first principal reason, in the shape of a model reason."""
        first_field = rule.conditions[0].field if rule.conditions else ""
        return {
            "feature": first_field,
            "label": rule.name,
            "value": values.get(first_field),
            "contribution": None,
            "code": rule.code,
            "statement": rule.statement,
            # Decisions are append-only: the reason carries each language's statement, as the rule had it then.
            **({"statement_fr": rule.statement_fr} if rule.statement_fr.strip() else {}),
            "sentence": rule.statement,
            "rule": True,
        }


def reason_statement(reason: Mapping[str, Any], language: str | None) -> str:
    """A recorded reason's statement in ``language`` ("fr", "fr-fr", "en-gb"...): the French statement a
    rule carried when the decision was made, for a French reader; otherwise the statement as recorded."""
    if (language or "").lower().split("-")[0] == "fr":
        french = str(reason.get("statement_fr") or "").strip()
        if french:
            return french
    return str(reason.get("statement") or "")


def _holds(expression: Any, value: object, name: str) -> bool:
    try:
        return expression.evaluate({"$": _plain(value)}) is True
    except Exception as exc:
        raise PolicyEvaluationError(
            f"The rule on {name} could not be evaluated on {value!r}: {_zen_message(exc)}"
        ) from exc


def _distinct(values: Any) -> tuple[np.ndarray, list]:
    """Each row's code and the distinct values of a column (a missing value is one of them)."""
    codes, uniques = pd.factorize(pd.Series(values, copy=False), use_na_sentinel=False)
    return codes, uniques.tolist()


def _column_holds(expression: Any, codes: np.ndarray, uniques: list, name: str) -> np.ndarray:
    results = np.fromiter((_holds(expression, value, name) for value in uniques), dtype=bool, count=len(uniques))
    return results[codes] if len(codes) else np.zeros(0, dtype=bool)


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return value


# --- ZEN decision model (JDM) import and export ------------------------------------------------

JDM_FORMAT = "creditscore-policy"


def to_jdm(rules: Sequence[Rule], *, name: str = "Credit policy") -> dict[str, Any]:
    """The rules as a ZEN decision model: one decision table, hit policy "collect", a column per field;
    each row outputs the rule's code, outcome and stage. Our own fields (name, statement, legal basis)
    ride along in the row's ``_description`` and the graph's ``creditscore`` mapping, so an export
    imports back the same."""
    fields = sorted({c.field for rule in rules for c in rule.conditions})
    inputs = [{"id": f"in_{n}", "name": n, "field": n} for n in fields]
    outputs = [
        {"id": "out_code", "name": "Rule", "field": "code"},
        {"id": "out_outcome", "name": "Outcome", "field": "outcome"},
        {"id": "out_stage", "name": "Stage", "field": "stage"},
    ]
    table_rules = []
    for rule in rules:
        row: dict[str, str] = {"_id": rule.code, "_description": rule.name}
        for name in fields:
            tests = [c.test.strip() for c in rule.conditions if c.field == name]  # at most one (see check)
            row[f"in_{name}"] = tests[0] if tests else ""
        row["out_code"] = json.dumps(rule.code)
        row["out_outcome"] = json.dumps(rule.outcome)
        row["out_stage"] = json.dumps(rule.stage)
        table_rules.append(row)
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            {"id": "input", "type": "inputNode", "name": "Application", "position": {"x": 80, "y": 160}},
            {
                "id": "rules",
                "type": "decisionTableNode",
                "name": name,
                "position": {"x": 360, "y": 160},
                "content": {"hitPolicy": "collect", "inputs": inputs, "outputs": outputs, "rules": table_rules},
            },
            {"id": "output", "type": "outputNode", "name": "Fired rules", "position": {"x": 720, "y": 160}},
        ],
        "edges": [
            {"id": "input-rules", "sourceId": "input", "targetId": "rules", "type": "edge"},
            {"id": "rules-output", "sourceId": "rules", "targetId": "output", "type": "edge"},
        ],
        "creditscore": {
            "format": JDM_FORMAT,
            "rules": [
                {
                    "code": r.code,
                    "name": r.name,
                    "statement": r.statement,
                    "statement_fr": r.statement_fr,
                    "legal_basis": r.legal_basis,
                }
                for r in rules
            ],
        },
    }


def from_jdm(document: Mapping[str, Any]) -> list[Rule]:
    """Rules from a ZEN decision model exported here (or written by hand in the same shape: one decision
    table whose rows output ``code``, ``outcome`` and ``stage``). Raises PolicyRejected naming what is wrong."""
    tables = [n for n in document.get("nodes", ()) if isinstance(n, Mapping) and n.get("type") == "decisionTableNode"]
    if len(tables) != 1:
        raise PolicyRejected(
            {"policy": [Problem(gettext_noop("The decision model must hold exactly one decision table."))]}
        )
    content = tables[0].get("content") or {}
    if content.get("hitPolicy") != "collect":
        raise PolicyRejected(
            {
                "policy": [
                    Problem(gettext_noop('The decision table must use the "collect" hit policy: every rule counts.'))
                ]
            }
        )
    inputs = {i.get("id"): i.get("field") for i in content.get("inputs", ())}
    outputs = {o.get("field"): o.get("id") for o in content.get("outputs", ())}
    missing = [f for f in ("code", "outcome", "stage") if f not in outputs]
    if missing:
        raise PolicyRejected(
            {
                "policy": [
                    Problem(
                        gettext_noop("The decision table has no output column %(columns)s."), columns=", ".join(missing)
                    )
                ]
            }
        )
    extra = {r.get("code"): r for r in (document.get("creditscore") or {}).get("rules", ()) if isinstance(r, Mapping)}
    rules = []
    errors: dict[str, list[str]] = {}
    for position, row in enumerate(content.get("rules", ()), start=1):
        try:
            code = json.loads(row.get(outputs["code"], "") or '""')
            outcome = json.loads(row.get(outputs["outcome"], "") or '""')
            stage = json.loads(row.get(outputs["stage"], "") or '""')
        except ValueError:
            errors[f"row {position}"] = [Problem(gettext_noop('Its outputs must be quoted text, e.g. "DECLINE".'))]
            continue
        conditions = tuple(
            Condition(field=str(inputs[key]), test=str(value).strip())
            for key, value in row.items()
            if key in inputs and str(value or "").strip()
        )
        known = extra.get(code, {})
        rules.append(
            Rule(
                code=str(code),
                name=str(known.get("name") or row.get("_description") or code),
                statement=str(known.get("statement", "")),
                outcome=str(outcome),
                stage=str(stage),
                conditions=conditions,
                legal_basis=str(known.get("legal_basis", "") or ""),
                statement_fr=str(known.get("statement_fr", "") or ""),
            )
        )
    if errors:
        raise PolicyRejected(errors)
    return rules

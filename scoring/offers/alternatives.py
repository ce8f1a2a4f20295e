"""Alternatives for a recorded decision: the search (scoring/engine/counterfactuals.py) run on its features.

Reads only: it never writes a decision. An officer takes an alternative up by starting a new application with
its terms, recorded as a counter-offer of the original (``services.score_application(counter_offer_of=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from django.utils.translation import get_language, gettext, ngettext

from scoring import display
from scoring.engine import APPROVE, LoadedModel
from scoring.engine.counterfactuals import Alternative, Change, Decide, search
from scoring.engine.labels import FALLBACK_LANGUAGE
from scoring.engine.policy import PROBABILITY, RISK_BAND, CompiledPolicy, PolicyEvaluationError
from scoring.engine.schema import CATEGORICAL, Feature, unit_for
from scoring.lifecycle import registry
from scoring.models import ModelVersion, Prediction
from scoring.policy import registry as policy_registry

# The decisions an officer asks "what could we offer instead?" about.
OFFERED_FOR = frozenset({"decline", "refer"})


@dataclass(frozen=True)
class Offers:
    """The alternatives for one decision, or the plain sentence saying why there are none."""

    prediction: Prediction
    alternatives: tuple[Alternative, ...]
    message: str
    model_version: ModelVersion | None = None
    candidates: int = 0

    @property
    def applies(self) -> bool:
        """Whether the decision is one offers are made for (declined or referred)."""
        return self.prediction.decision in OFFERED_FOR


def alternatives_for(prediction: Prediction, loaded_model: LoadedModel, *, decide: Decide | None = None) -> Offers:
    """Up to three sets of terms ``loaded_model`` approves for this decision's application, each re-scored.

    ``decide``: (frame of candidate features, probabilities) -> decisions, for a credit policy that adds its
    rules to the model's decision; the model's own threshold and refer band without it.
    """
    not_offered = _not_offered(prediction)
    if not_offered is not None:
        return not_offered
    missing = [n for n in loaded_model.feature_names if n not in prediction.features]
    if missing:
        return Offers(
            prediction,
            (),
            gettext("The active model takes inputs this decision does not have, so no offer can be computed."),
        )
    features = {n: prediction.features[n] for n in loaded_model.feature_names}
    found = search(loaded_model, features, decide=decide)
    if found.alternatives:
        count = len(found.alternatives)
        message = ngettext(
            "%(count)d alternative that would be approved.", "%(count)d alternatives that would be approved.", count
        ) % {"count": count}
    elif not found.actionable:
        message = gettext("No alternative: the model in use declares no terms an offer may change.")
    else:
        message = gettext(
            "No alternative within the limits: no change of %(terms)s (one of them or two together) would be approved."
        ) % {"terms": _listed(found.actionable)}
    return Offers(prediction, found.alternatives, message, candidates=found.candidates)


def offers_for(prediction: Prediction, *, decide: Decide | None = None) -> Offers:
    """The alternatives under the active model, the one a counter-offer would be scored by.

    Raises ModelUnavailable when no model is active (only for a decision offers are made for).
    """
    not_offered = _not_offered(prediction)
    if not_offered is not None:
        return not_offered
    active = registry.get_active()
    if decide is None:
        decide = policy_decide(active.model, policy_registry.get_active(), prediction.protected or {})
    try:
        offers = alternatives_for(prediction, active.model, decide=decide)
    except PolicyEvaluationError as exc:
        offers = Offers(
            prediction,
            (),
            gettext("No alternative can be checked against the credit policy: %(error)s") % {"error": exc},
        )
    return replace(offers, model_version=active.version)


def policy_decide(model: LoadedModel, policy: CompiledPolicy | None, protected: Mapping[str, object]) -> Decide | None:
    """The live credit policy's decisions on candidate terms (None without a policy: the model's own).

    An offer must pass the policy like any application: a knock-out or a referral rule that fires on the
    new terms keeps it off the list. The applicant's protected attributes are the recorded ones."""
    if policy is None:
        return None

    def decide(frame: pd.DataFrame, probabilities: np.ndarray) -> np.ndarray:
        rows = len(frame)
        values: dict[str, object] = {n: frame[n].to_numpy() for n in model.feature_names}
        values |= {n: np.full(rows, protected.get(n), dtype=object) for n in (p.name for p in model.protected)}
        values |= {PROBABILITY: probabilities, RISK_BAND: model.band(probabilities)}
        missing = [n for n in policy.fields if n not in values]
        if missing:
            raise PolicyEvaluationError(
                gettext("The credit policy tests %(fields)s, which the model does not have.")
                % {"fields": ", ".join(missing)}
            )
        return policy.evaluate_frame({n: values[n] for n in policy.fields}, model.decide(probabilities)).decisions

    return decide


def _not_offered(prediction: Prediction) -> Offers | None:
    if prediction.decision == APPROVE:
        return Offers(
            prediction, (), gettext("The model approved this application: there is nothing to offer instead.")
        )
    if prediction.decision not in OFFERED_FOR:
        return Offers(prediction, (), gettext("Offers are made for declined and referred decisions only."))
    return None


def _listed(features: tuple[Feature, ...]) -> str:
    """The terms an offer may change, named in the page's language: "a, b or c"."""
    language = get_language() or FALLBACK_LANGUAGE
    words = [f.in_language(language).label.lower() for f in features]
    if len(words) == 1:
        return words[0]
    return gettext("%(some)s or %(last)s") % {"some": ", ".join(words[:-1]), "last": words[-1]}


def change_text(change: Change) -> str:
    """'Loan amount 6,000 DM instead of 9,000 DM', as an officer reads it, in the page's language."""
    feature = change.feature.in_language(get_language() or FALLBACK_LANGUAGE)
    return gettext("%(label)s %(offered)s instead of %(given)s") % {
        "label": feature.label,
        "offered": _value_text(feature, change.after),
        "given": _value_text(feature, change.before),
    }


def _value_text(feature: Feature, value: object) -> str:
    """A choice's label, or the number in the page's format with its unit ("6 000 DM" in French)."""
    if feature.kind != CATEGORICAL and isinstance(value, int | float) and not isinstance(value, bool):
        return display.money(value, unit_for(value, feature.unit))
    return feature.value_text(value)

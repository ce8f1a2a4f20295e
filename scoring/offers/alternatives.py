"""Alternatives for a recorded decision: the search (scoring/engine/counterfactuals.py) run on its features.

Reads only: it never writes a decision. An officer takes an alternative up by starting a new application with
its terms, recorded as a counter-offer of the original (``services.score_application(counter_offer_of=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from scoring.engine import APPROVE, LoadedModel
from scoring.engine.counterfactuals import Alternative, Decide, search
from scoring.lifecycle import registry
from scoring.models import ModelVersion, Prediction

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
            prediction, (), "The active model takes inputs this decision does not have, so no offer can be computed."
        )
    features = {n: prediction.features[n] for n in loaded_model.feature_names}
    found = search(loaded_model, features, decide=decide)
    if found.alternatives:
        count = len(found.alternatives)
        message = f"{count} alternative{'' if count == 1 else 's'} the model approves."
    elif not found.actionable:
        message = "No alternative: the model in use declares no terms an offer may change."
    else:
        message = (
            f"No alternative within the limits: no change of {_listed(found.actionable)} "
            "(one of them or two together) would be approved."
        )
    return Offers(prediction, found.alternatives, message, candidates=found.candidates)


def offers_for(prediction: Prediction, *, decide: Decide | None = None) -> Offers:
    """The alternatives under the active model, the one a counter-offer would be scored by.

    Raises ModelUnavailable when no model is active (only for a decision offers are made for).
    """
    not_offered = _not_offered(prediction)
    if not_offered is not None:
        return not_offered
    active = registry.get_active()
    offers = alternatives_for(prediction, active.model, decide=decide)
    return replace(offers, model_version=active.version)


def _not_offered(prediction: Prediction) -> Offers | None:
    if prediction.decision == APPROVE:
        return Offers(prediction, (), "The model approved this application: there is nothing to offer instead.")
    if prediction.decision not in OFFERED_FOR:
        return Offers(prediction, (), "Offers are made for declined and referred decisions only.")
    return None


def _listed(labels: tuple[str, ...]) -> str:
    words = [label.lower() for label in labels]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]

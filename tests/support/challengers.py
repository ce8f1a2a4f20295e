"""A challenger bundle and typed applications for the shadow challenger tests."""

from __future__ import annotations

from scoring.lifecycle import registry
from tests.support.batch_files import synthetic_frame
from tests.support.lifecycle_fixtures import bundle_variant

# The challenger bundle: the champion's model file under a more lenient decision policy, so the same
# probabilities lead to other decisions: approve below 20 % (champion: 10.96 %), decline from 30 % (16.95 %).
CHALLENGER_THRESHOLD, CHALLENGER_REFER_LOWER = 0.3, 0.2


def lenient_bundle(target):
    bundle_variant(target, threshold=str(CHALLENGER_THRESHOLD))
    text = (target / "MLmodel").read_text()
    text = text.replace("lower: 0.1096", f"lower: {CHALLENGER_REFER_LOWER}").replace("upper: 0.1096\n", "upper: 0.2\n")
    (target / "MLmodel").write_text(text)
    return target


def typed_applications(rows: int, seed: int = 11) -> list[tuple[str, dict]]:
    """(reference, inputs as JSON types) pairs: the reference sample's values, typed by the champion's schema."""
    model = registry.get_active().model
    found = []
    for record in synthetic_frame(rows, seed=seed).to_dict("records"):
        reference = record.pop("external_ref")
        application = model.validate(record, text=True)
        protected = {k: v for k, v in application.protected.items() if v is not None}
        found.append((reference, {**application.features, **protected}))
    return found


def shadow_rows(prediction, tmp_path) -> None:
    """A challenger started and stopped (two ChallengerAssignment rows) and its ShadowScore of ``prediction``."""
    from scoring.lifecycle import challengers, shadow, versions

    challenger = versions.register_bundle(path=lenient_bundle(tmp_path / "challenger"))
    challengers.start_challenger(version=challenger, user=None)
    assert shadow.score_in_shadow(prediction_ids=[prediction.pk], version_id=challenger.pk) == 1
    challengers.stop_challenger(user=None)

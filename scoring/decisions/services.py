"""Writes of decisions: score-and-record (form, API one and many), reviews, and the daily counts they keep.

These functions are the only code that creates Prediction and Review rows (batch chunks
write theirs through ``scoring.batch.worker`` with the counting below). Each owns its transaction.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from functools import cache

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from psycopg import sql

from accounts import permissions
from scoring.decisions import selectors
from scoring.decisions.presentation import DecisionView
from scoring.engine import InvalidApplication, frame_from_records
from scoring.engine.policy import CompiledPolicy, PolicyEvaluationError
from scoring.exceptions import DuplicateApplication, IdempotencyConflict, InvalidReview, ModelUnavailable, NotAllowed
from scoring.lifecycle import registry, shadow
from scoring.models import (
    Channel,
    DailyCounts,
    DailyStat,
    DailyTotal,
    Decision,
    MonthlyStat,
    OverrideApproval,
    Prediction,
    ReferralAssignment,
    Review,
)
from scoring.monitoring import metrics
from scoring.policy import registry as policy_registry


def score_application(
    *,
    user: AbstractBaseUser,
    inputs: Mapping[str, object],
    channel: Channel | str,
    external_ref: str = "",
    idempotency_key: str | None = None,
    check_duplicates: bool = False,
    counter_offer_of: Prediction | None = None,
) -> Prediction:
    """Validate, score, explain and record one application; no decision leaves without its row.

    With ``check_duplicates``, an application this officer decided recently (selectors.recent_duplicates)
    raises DuplicateApplication instead of being recorded twice; the officer or client asks again to
    record it anyway. ``counter_offer_of``: the decision whose offered terms this application takes up,
    which the user must be allowed to see (NotAllowed otherwise); it keeps its reference, so only the same
    terms count as a duplicate. Raises InvalidApplication (nothing is written) or ModelUnavailable.
    """
    started = time.perf_counter()
    if counter_offer_of is not None and not permissions.can_view_prediction(user, counter_offer_of):
        raise NotAllowed(gettext("You may not make a counter-offer of a decision you cannot see."))
    active = registry.get_active()
    application = active.model.validate(inputs, text=_typed_as_text(channel))
    if check_duplicates:
        reference = "" if counter_offer_of is not None else (external_ref or "").strip()
        [existing] = selectors.recent_duplicates(user=user, applications=[(reference, application.features)])
        if existing is not None:
            raise DuplicateApplication(existing)
    policy = policy_registry.get_active()
    if policy is not None:
        required = policy.required([p.name for p in active.model.protected])
        missing = {n: [m] for n, m in required.items() if application.protected.get(n) is None}
        if missing:
            raise InvalidApplication(missing)
    try:
        score = active.model.score_one(
            application.features,
            reason_count=settings.SCORING_REASON_COUNT,
            policy=policy,
            protected=application.protected,
        )
    except PolicyEvaluationError as exc:  # the policy does not fit the model: no decision rather than a wrong one
        raise ModelUnavailable(str(exc)) from exc
    engine_seconds = time.perf_counter() - started
    prediction = Prediction(
        user=user,
        channel=channel,
        model_version=active.version,
        inputs=dict(inputs),
        features=application.features,
        protected=application.protected,
        probability=score.probability,
        decision=score.decision,
        threshold=active.model.threshold,
        refer_lower=active.model.refer_lower,
        risk_band=score.risk_band,
        reasons=[r.as_dict() for r in score.reasons],
        external_ref=(external_ref or "").strip(),
        idempotency_key=idempotency_key,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        counter_offer_of=counter_offer_of,
        **policy_fields(
            policy, model_decision=score.model_decision, fired=score.policy_rules, deciding=score.deciding_rule
        ),
    )
    _record_decision(prediction)
    metrics.record_prediction(prediction, engine_seconds=engine_seconds, total_seconds=time.perf_counter() - started)
    shadow.shadow_after_commit([prediction.pk])  # the challenger, if any, once the decision is committed
    return prediction


def policy_fields(
    policy: CompiledPolicy | None, *, model_decision: str, fired: Sequence[str], deciding: str
) -> dict[str, object]:
    """What a decision records of the credit policy around the model."""
    return {
        "policy_version_id": policy.version_id if policy is not None else None,
        "model_decision": model_decision,
        "policy_rules": list(fired),
        "deciding_rule": deciding,
    }


def _typed_as_text(channel: Channel | str) -> bool:
    """Whether a channel's numbers may come as text: the web form's are what the officer typed;
    the API's are JSON, where the schema says a number is a JSON number and a string is refused."""
    return channel == Channel.WEB


# The counters a new decision adds to each of its aggregate rows, in statement order.
_COUNTERS = ("count", "probability_sum", "overridden", "reviewed", "final_approve", "final_refer", "final_decline")
# Its aggregate rows in the lock order every writer uses (see _count), with their unique keys.
_AGGREGATES = (
    (DailyStat, "one_daily_stat", ("day", "user_id", "model_version_id", "channel", "decision", "risk_band")),
    (MonthlyStat, "one_monthly_stat", ("day", "user_id", "model_version_id", "channel", "decision", "risk_band")),
    (DailyTotal, "one_daily_total", ("day", "model_version_id", "channel", "decision", "risk_band")),
)


def _record_decision(prediction: Prediction) -> None:
    """Write one new decision and add it to its three aggregate rows, all or nothing.

    On PostgreSQL this is one statement, so one round trip and its own transaction: the
    aggregate rows' locks are held for about a millisecond instead of across the six round trips
    of the ORM way, which let concurrent requests of one officer queue behind each other
    (47 decisions/s against more than 150, bench/README.md). Elsewhere, the ORM in a transaction.
    """
    if connection.vendor != "postgresql":
        with transaction.atomic():
            prediction.save(force_insert=True)
            count_decisions(prediction, count=1, probability_sum=prediction.probability)
        return
    if prediction.created_at is None:
        prediction.created_at = timezone.now()
    fields, statement = _decision_statement()
    day = timezone.localdate(prediction.created_at)
    counts = {"count": 1, "probability_sum": prediction.probability, f"final_{prediction.decision}": 1}
    key = {
        "user_id": prediction.user_id,
        "model_version_id": prediction.model_version_id,
        "channel": prediction.channel,
        "decision": prediction.decision,
        "risk_band": prediction.risk_band,
    }
    params = [f.get_db_prep_save(getattr(prediction, f.attname), connection) for f in fields]
    for model, _, names in _AGGREGATES:
        row = key | {"day": day.replace(day=1) if model is MonthlyStat else day}
        params.extend(row[n] for n in names)
        params.extend(counts.get(c, 0) for c in _COUNTERS)
    # Alone, the statement is its own transaction; inside a caller's, a savepoint keeps a failure from
    # aborting the caller's transaction, as the ORM's atomic block does.
    with transaction.atomic() if connection.in_atomic_block else nullcontext(), connection.cursor() as cursor:
        cursor.execute(statement, params)
        prediction.pk = cursor.fetchone()[0]
    prediction._state.adding = False
    prediction._state.db = connection.alias


@cache
def _decision_statement() -> tuple[list, str]:
    """The decision's columns and the one statement that records it (built once: it never changes)."""
    fields = [f for f in Prediction._meta.concrete_fields if not f.primary_key]
    upserts = []
    for model, constraint, names in _AGGREGATES:
        table = sql.Identifier(model._meta.db_table)
        columns = [*names, *_COUNTERS]
        upserts.append(
            sql.SQL(
                "INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ON CONSTRAINT {constraint} "
                "DO UPDATE SET {sums} RETURNING 1"
            ).format(
                table=table,
                columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
                values=sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                constraint=sql.Identifier(constraint),
                sums=sql.SQL(", ").join(
                    sql.SQL("{c} = {table}.{c} + EXCLUDED.{c}").format(c=sql.Identifier(c), table=table)
                    for c in _COUNTERS
                ),
            )
        )
    statement = sql.SQL(
        "WITH decision AS (INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING id), "
        "day_row AS ({day}), month_row AS ({month}), total_row AS ({total}) "
        "SELECT (SELECT id FROM decision), (SELECT count(*) FROM day_row), "
        "(SELECT count(*) FROM month_row), (SELECT count(*) FROM total_row)"
    ).format(
        table=sql.Identifier(Prediction._meta.db_table),
        columns=sql.SQL(", ").join(sql.Identifier(f.column) for f in fields),
        values=sql.SQL(", ").join(sql.Placeholder() * len(fields)),
        day=upserts[0],
        month=upserts[1],
        total=upserts[2],
    )
    return fields, statement.as_string()  # plain ASCII names: no connection needed to quote them


def record_review(
    *,
    user: AbstractBaseUser,
    prediction: Prediction,
    outcome: Review.Outcome | str,
    reason_code: str = "",
    justification: str = "",
) -> Review:
    """Record an officer's review of a decision. An override needs a reason and a justification.

    The officer who made the decision reviews it; an open referral may be decided by any officer of
    the same team. A change beyond the officer's authority (an override above ``OVERRIDE_PD_LIMIT``,
    or any change of a case that carries their own override) is recorded with ``needs_approval``:
    it counts once a credit manager approves it (decide_approval). While it waits, no other review.
    """
    if not permissions.can_review(user, prediction):
        raise NotAllowed(
            gettext("Only the officer who made a decision, or their team for an open referral, can review it.")
        )
    outcome = Review.Outcome(outcome)
    justification = (justification or "").strip()
    errors: dict[str, list[str]] = {}
    if outcome == Review.Outcome.AGREE:
        if prediction.decision == Decision.REFER:
            errors["outcome"] = [gettext("A referred case needs your decision: approve or decline.")]
        final = prediction.decision
    else:
        final = outcome.value
    # Deciding a referred case is the officer's job, not an override of the model; but like an
    # override it needs a reason code and a written basis in the file.
    referred = prediction.decision == Decision.REFER
    overridden = not referred and final != prediction.decision
    if (overridden or referred) and not reason_code:
        errors["reason_code"] = [gettext("Choose a reason for this decision.")]
    if reason_code and reason_code not in Review.ReasonCode.values:
        errors["reason_code"] = [gettext("Unknown reason code.")]
    if (overridden or referred) and len(justification) < 10:
        errors["justification"] = [
            gettext("An override needs a written justification (at least 10 characters).")
            if overridden
            else gettext("A decision on a referred case needs a written justification (at least 10 characters).")
        ]
    if outcome != Review.Outcome.AGREE and final == prediction.decision and prediction.decision != Decision.REFER:
        errors["outcome"] = [gettext("That is the model's own decision: choose 'Agree' instead.")]
    if errors:
        raise InvalidReview(errors)
    with transaction.atomic():
        lock_reviews_of(prediction)
        earlier = list(selectors.review_list(prediction=prediction))
        before = DecisionView(prediction, earlier)
        if before.pending_review is not None:
            raise InvalidReview({"outcome": [str(PENDING_MESSAGE)]})
        if prediction.user_id != user.pk and earlier:  # a teammate decided the referral meanwhile
            raise NotAllowed(gettext("This referral was decided by another officer."))
        previous_final = before.final_decision
        standing = [r for r in earlier if before.stands(r)]
        own_override = any(r.overridden and r.user_id == user.pk for r in standing)
        beyond_limit = overridden and prediction.probability > settings.OVERRIDE_PD_LIMIT
        needs_approval = final != previous_final and (beyond_limit or own_override)
        review = Review.objects.create(
            prediction=prediction,
            user=user,
            outcome=outcome,
            final_decision=final,
            overridden=overridden,
            needs_approval=needs_approval,
            reason_code=reason_code or "",
            justification=justification,
        )
        changes = {"reviewed": 0 if earlier else 1}
        if not needs_approval:
            changes |= _outcome_changes(review, standing, previous_final)
        _count(prediction, **changes)
    metrics.record_review(review)
    return review


PENDING_MESSAGE = gettext_lazy(
    "A change of this decision is waiting for a credit manager's approval: no other review until then."
)


def _outcome_changes(review: Review, standing: list[Review], previous_final: str) -> dict[str, int]:
    """What a review that now stands adds to the daily counts: a first override, and the final outcome's move."""
    changes = {"overridden": 1 if review.overridden and not any(r.overridden for r in standing) else 0}
    if review.final_decision != previous_final:  # the final outcome moves from one count to the other
        changes |= {f"final_{previous_final}": -1, f"final_{review.final_decision}": 1}
    return changes


def decide_approval(*, user: AbstractBaseUser, prediction: Prediction, approved: bool, note: str) -> OverrideApproval:
    """A credit manager approves or rejects the change waiting on a decision, with a note.

    Approved, the change becomes the final outcome; rejected, the outcome before it stands. Nobody
    answers their own request (nor one on their own decision). Raises NotAllowed or InvalidReview.
    """
    note = (note or "").strip()
    if not note:
        raise InvalidReview({"note": [gettext("Write a note: why you approve or reject this change.")]})
    with transaction.atomic():
        lock_reviews_of(prediction)
        earlier = list(selectors.review_list(prediction=prediction))
        before = DecisionView(prediction, earlier)
        review = before.pending_review
        if review is None:
            raise InvalidReview({"note": [gettext("No change of this decision is waiting for approval.")]})
        if not permissions.can_approve(user, review):
            raise NotAllowed(
                gettext("A credit manager of the officer's team, other than the officer, answers this request.")
            )
        approval = OverrideApproval.objects.create(review=review, user=user, approved=approved, note=note)
        if approved:
            standing = [r for r in earlier if r is not review and before.stands(r)]
            _count(prediction, **_outcome_changes(review, standing, before.final_decision))
    return approval


def take_referral(*, user: AbstractBaseUser, prediction: Prediction) -> ReferralAssignment:
    """Assign an open referral to this officer (a new row; the latest one is the assignee)."""
    if not permissions.can_take_referral(user, prediction):
        raise NotAllowed(gettext("Only an officer of the team can take an open referral."))
    if prediction.reviews.exists():
        raise NotAllowed(gettext("This referral was already decided."))
    return ReferralAssignment.objects.create(prediction=prediction, assignee=user)


# Namespace of the advisory locks taken on decisions under review ("REVW"), apart from any other.
_REVIEW_LOCK_NAMESPACE = 0x52455657


def lock_reviews_of(prediction: Prediction) -> None:
    """One review of a decision at a time, until the transaction ends: what is counted depends on the reviews before it.

    An advisory lock, not SELECT ... FOR UPDATE: locking the decision's row needs UPDATE privilege on
    decisions, which the app's role must not have (docs/audit-and-security.md). The key is the id
    folded into 31 bits; two decisions sharing a key only wait for each other. SQLite runs one write
    transaction at a time, so it needs nothing.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_REVIEW_LOCK_NAMESPACE, prediction.pk % 2147483648])


# --- API scoring: idempotent single scoring and vectorised many -----------------


def score_application_once(
    *,
    user: AbstractBaseUser,
    inputs: Mapping[str, object],
    channel: Channel | str,
    idempotency_key: str,
    external_ref: str = "",
    check_duplicates: bool = False,
    counter_offer_of: Prediction | None = None,
) -> tuple[Prediction, bool]:
    """Score once per (user, idempotency key): a repeat returns the stored prediction and ``False``.

    The unique constraint decides between concurrent requests, not a check-then-insert:
    the loser's insert fails and it returns the winner's row. Reusing a key for a
    different request raises IdempotencyConflict. A replay is not a duplicate: it is checked first.
    """
    stored = _idempotent_replay(user=user, key=idempotency_key, inputs=inputs, external_ref=external_ref)
    if stored is not None:
        return stored, False
    try:
        prediction = score_application(
            user=user,
            inputs=inputs,
            channel=channel,
            external_ref=external_ref,
            idempotency_key=idempotency_key,
            check_duplicates=check_duplicates,
            counter_offer_of=counter_offer_of,
        )
    except DuplicateApplication as exc:
        if exc.existing.idempotency_key != idempotency_key:
            raise
        # A concurrent request with this key won between the replay check and the duplicate check.
        stored = _idempotent_replay(user=user, key=idempotency_key, inputs=inputs, external_ref=external_ref)
        return stored, False
    except IntegrityError:
        stored = _idempotent_replay(user=user, key=idempotency_key, inputs=inputs, external_ref=external_ref)
        if stored is None:
            raise
        return stored, False
    return prediction, True


def _idempotent_replay(
    *, user: AbstractBaseUser, key: str, inputs: Mapping[str, object], external_ref: str
) -> Prediction | None:
    stored = Prediction.objects.filter(user=user, idempotency_key=key).select_related("model_version", "user").first()
    if stored is None:
        return None
    if stored.inputs != dict(inputs) or stored.external_ref != (external_ref or "").strip():
        raise IdempotencyConflict(
            gettext(
                "This Idempotency-Key was already used for a different request; use a new key for a new application."
            )
        )
    return stored


def score_applications(
    *,
    user: AbstractBaseUser,
    applications: Sequence[tuple[Mapping[str, object], str]],
    channel: Channel | str,
    check_duplicates: Sequence[bool] | None = None,
) -> list[Prediction | InvalidApplication | DuplicateApplication]:
    """Score many (inputs, external_ref) pairs at once; one result per item, in order.

    Each item is validated on its own (an invalid one becomes its InvalidApplication); an item whose
    ``check_duplicates`` flag is set and that this officer decided recently becomes its DuplicateApplication;
    the valid ones are scored in one vectorised call and stored with one bulk insert,
    together with their daily counts, in one transaction.
    """
    started = time.perf_counter()
    active = registry.get_active()
    model = active.model
    results: list[Prediction | InvalidApplication | DuplicateApplication | None] = [None] * len(applications)
    valid: list[tuple[int, object]] = []
    policy = policy_registry.get_active()
    required = policy.required([p.name for p in model.protected]) if policy is not None else {}
    for index, (inputs, _ref) in enumerate(applications):
        try:
            application = model.validate(inputs, text=_typed_as_text(channel))
            missing = {n: [m] for n, m in required.items() if application.protected.get(n) is None}
            if missing:
                raise InvalidApplication(missing)
            valid.append((index, application))
        except InvalidApplication as exc:
            results[index] = exc
    if check_duplicates is not None:
        checked = [(index, application) for index, application in valid if check_duplicates[index]]
        found = selectors.recent_duplicates(
            user=user,
            applications=[((applications[i][1] or "").strip(), a.features) for i, a in checked],
        )
        for (index, _), existing in zip(checked, found, strict=True):
            if existing is not None:
                results[index] = DuplicateApplication(existing)
        valid = [(index, application) for index, application in valid if results[index] is None]
    if valid:
        frame = frame_from_records(model, [application.features for _, application in valid])
        protected = {p.name: [a.protected.get(p.name) for _, a in valid] for p in model.protected}
        try:
            scores = model.score_frame(
                frame,
                reasons_for="all",
                reason_count=settings.SCORING_REASON_COUNT,
                policy=policy,
                protected=protected,
            )
        except PolicyEvaluationError as exc:
            raise ModelUnavailable(str(exc)) from exc
        deciding = scores.policy.deciding_codes() if scores.policy is not None else None
        latency_ms = round((time.perf_counter() - started) * 1000 / len(valid), 3)
        rows = [
            Prediction(
                user=user,
                channel=channel,
                model_version=active.version,
                inputs=dict(applications[index][0]),
                features=application.features,
                protected=application.protected,
                probability=float(scores.probabilities[k]),
                decision=str(scores.decisions[k]),
                threshold=model.threshold,
                refer_lower=model.refer_lower,
                risk_band=str(scores.risk_bands[k]),
                reasons=[r.as_dict() for r in scores.reasons[k] or ()],
                external_ref=(applications[index][1] or "").strip(),
                latency_ms=latency_ms,
                **policy_fields(
                    policy,
                    model_decision=str(scores.model_decisions[k]),
                    fired=scores.policy.fired_codes(k) if scores.policy is not None else (),
                    deciding=deciding[k] if deciding is not None else "",
                ),
            )
            for k, (index, application) in enumerate(valid)
        ]
        with transaction.atomic():
            created = Prediction.objects.bulk_create(rows)
            groups: dict[tuple, list] = defaultdict(lambda: [0, 0.0, None])
            for prediction in created:
                group = groups[(timezone.localdate(prediction.created_at), prediction.decision, prediction.risk_band)]
                group[0] += 1
                group[1] += prediction.probability
                group[2] = prediction
            for count, probability_sum, sample in groups.values():
                count_decisions(sample, count=count, probability_sum=probability_sum)
        for count, _, sample in groups.values():
            metrics.record_predictions(
                decision=sample.decision,
                risk_band=sample.risk_band,
                channel=str(channel),
                model_version=active.version.pk,
                count=count,
            )
        for (index, _), prediction in zip(valid, created, strict=True):
            results[index] = prediction
        shadow.shadow_after_commit(prediction.pk for prediction in created)
    return results  # type: ignore[return-value]


def count_decisions(sample: Prediction, *, count: int, probability_sum: float) -> None:
    """Add ``count`` new decisions like ``sample`` (same day, officer, version, channel, decision and band)."""
    _count(sample, count=count, probability_sum=probability_sum, **{f"final_{sample.decision}": count})


def _count(prediction: Prediction, **increments: float) -> None:
    """Add to the prediction's daily aggregate rows (created on first use), in the caller's transaction.

    Three rows: the officer's day (DailyStat) and month (MonthlyStat), and all officers' day
    (DailyTotal), always in that order, so concurrent writers take their row locks in the same order.
    """
    increments = {k: v for k, v in increments.items() if v}
    if not increments:
        return
    key = {
        "day": timezone.localdate(prediction.created_at),
        "model_version_id": prediction.model_version_id,
        "channel": prediction.channel,
        "decision": prediction.decision,
        "risk_band": prediction.risk_band,
    }
    _add(DailyStat, {**key, "user_id": prediction.user_id}, increments)
    _add(MonthlyStat, {**key, "day": key["day"].replace(day=1), "user_id": prediction.user_id}, increments)
    _add(DailyTotal, key, increments)


def _add(model: type[DailyCounts], key: dict, increments: dict[str, float]) -> None:
    updates = {k: F(k) + v for k, v in increments.items()}
    if model.objects.filter(**key).update(**updates):
        return
    try:
        with transaction.atomic():
            model.objects.create(**key, **increments)
    except IntegrityError:  # another transaction created the row first
        model.objects.filter(**key).update(**updates)

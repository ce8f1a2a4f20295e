"""Shadow challengers: start and stop the validated version that scores live decisions beside the champion.

Starting a shadow needs one model administrator, not two: a challenger never changes a decision,
it only scores decisions already recorded (scoring/lifecycle/shadow.py). These functions are the
only writers of ChallengerAssignment rows; every process finds the current challenger through a
shared-cache marker, read at most every ``MODEL_CHECK_INTERVAL`` seconds, like the active model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from scoring.engine import BundleRejected, LoadedModel
from scoring.engine.schema import CATEGORICAL
from scoring.exceptions import ChallengerRefused
from scoring.lifecycle import registry
from scoring.lifecycle.markers import ActiveMarker
from scoring.models import ChallengerAssignment, ModelVersion

log = logging.getLogger(__name__)

# Versions that passed every validation check: validated ones, and retired ones that were once live.
CHALLENGER_STATUSES = (ModelVersion.Status.VALIDATED, ModelVersion.Status.RETIRED)

_MARKER = ActiveMarker(
    "creditscore:challenger-model-version",
    "challenger",
    lambda: ChallengerAssignment.objects.current_version_id(),
)
# (challenger version id or None, monotonic time it was read): one tuple, so a reader sees a consistent pair.
_seen: tuple[int | None, float] = (None, float("-inf"))


def current_challenger_id() -> int | None:
    """The version scoring in shadow now, or None: at most one marker read per check interval per process."""
    global _seen
    value, read_at = _seen
    now = time.monotonic()
    if now - read_at < registry.check_interval():
        return value
    value = _MARKER.read()
    _seen = (value, now)
    return value


def reset() -> None:
    """Forget the challenger this process last read (tests)."""
    global _seen
    _seen = (None, float("-inf"))


def schema_misfits(challenger: LoadedModel, champion: LoadedModel) -> list[str]:
    """Why the champion's validated inputs cannot feed the challenger; empty when every one can.

    The shadow scores the features each decision recorded, which are the champion's: every feature the
    challenger needs must be one of them, of the same kind, and a category must be one the challenger takes.
    """
    given = {f.name: f for f in champion.features}
    problems = []
    missing = [f.name for f in challenger.features if f.name not in given]
    if missing:
        problems.append(
            _("the live form and API do not provide these features: %(names)s") % {"names": ", ".join(missing)}
        )
    for feature in challenger.features:
        live = given.get(feature.name)
        if live is None:
            continue
        if (feature.kind == CATEGORICAL) != (live.kind == CATEGORICAL):
            problems.append(
                _("%(name)s is %(kind)s for the challenger but %(live)s in the live inputs")
                % {"name": feature.name, "kind": feature.kind, "live": live.kind}
            )
        elif feature.kind == CATEGORICAL:
            unknown = [c for c in live.choices if c not in feature.choices]
            if unknown:
                problems.append(
                    _("%(name)s takes values the challenger does not know: %(values)s")
                    % {"name": feature.name, "values": ", ".join(unknown)}
                )
    return problems


def start_challenger(*, version: ModelVersion, user: AbstractBaseUser | None, note: str = "") -> ChallengerAssignment:
    """Make ``version`` the challenger of the active champion; raises ChallengerRefused with the reason.

    Refused: a version that did not pass validation, the active version itself, no active version, a
    version whose features the live inputs do not provide, or while another challenger is running
    (stop it first: at most one at a time).
    """
    version.refresh_from_db()
    if version.status not in CHALLENGER_STATUSES:
        raise ChallengerRefused(
            _("%(version)s is %(status)s: only a version that passed validation can be a challenger.")
            % {"version": version, "status": version.get_status_display().lower()}
        )
    champion = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    if champion is None:
        raise ChallengerRefused(_("No version is active: a challenger needs a champion to shadow."))
    try:
        misfits = schema_misfits(registry.get_loaded(version), registry.get_loaded(champion))
    except (BundleRejected, OSError) as exc:
        raise ChallengerRefused(
            _("%(version)s cannot be loaded: %(error)s") % {"version": version, "error": exc}
        ) from exc
    if misfits:
        raise ChallengerRefused(
            _("%(version)s cannot shadow %(champion)s: %(problems)s.")
            % {"version": version, "champion": champion, "problems": "; ".join(misfits)}
        )
    try:
        with transaction.atomic():
            latest = ChallengerAssignment.objects.order_by("-id").first()
            if latest is not None and latest.action == ChallengerAssignment.Action.START:
                if latest.version_id == version.pk:
                    raise ChallengerRefused(_("%(version)s is already the challenger.") % {"version": version})
                raise ChallengerRefused(
                    _("%(current)s is the challenger now: stop it before starting another.")
                    % {"current": latest.version}
                )
            assignment = ChallengerAssignment.objects.create(
                version=version, action=ChallengerAssignment.Action.START, previous=latest, user=user, note=note
            )
            transaction.on_commit(lambda: _MARKER.publish(version.pk))
    except IntegrityError as exc:  # another change of the challenger committed after the same row
        raise ChallengerRefused(_("The challenger was changed at the same time; reload and try again.")) from exc
    log.info("model version %s started as challenger by %s", version, user)
    return assignment


def stop_challenger(
    *, user: AbstractBaseUser | None, version: ModelVersion | None = None, note: str = ""
) -> ChallengerAssignment:
    """Stop the running challenger (``version``: the one the user saw running); its scores are kept."""
    try:
        with transaction.atomic():
            latest = ChallengerAssignment.objects.select_related("version").order_by("-id").first()
            if latest is None or latest.action != ChallengerAssignment.Action.START:
                raise ChallengerRefused(_("No challenger is running."))
            if version is not None and latest.version_id != version.pk:
                raise ChallengerRefused(
                    _("%(version)s is not the challenger; %(current)s is.")
                    % {"version": version, "current": latest.version}
                )
            assignment = ChallengerAssignment.objects.create(
                version=latest.version, action=ChallengerAssignment.Action.STOP, previous=latest, user=user, note=note
            )
            transaction.on_commit(lambda: _MARKER.publish(None))
    except IntegrityError as exc:
        raise ChallengerRefused(_("The challenger was changed at the same time; reload and try again.")) from exc
    log.info("challenger %s stopped by %s", latest.version, user)
    return assignment


def challenger_history() -> Sequence[ChallengerAssignment]:
    """Every start and stop, newest first (the admin page and the comparison page's choice of challenger)."""
    return list(ChallengerAssignment.objects.select_related("version", "user").order_by("-id"))

"""Domain errors users can act on, defined once and mapped once per surface (form, API, batch)."""

from django.utils.translation import gettext

from scoring.engine import BundleRejected, InvalidApplication


class ModelUnavailable(Exception):
    """No model version is active, or the active one cannot be loaded."""


class NotAllowed(Exception):
    """The user may not do this to this object (for example, review another officer's case)."""


class ActivationConflict(NotAllowed):
    """Another activation of a model version committed while this one was being made; nothing changed."""

    def __init__(self, message: str | None = None):
        super().__init__(message or gettext("Another activation happened at the same time; reload and try again."))


class ChallengerRefused(NotAllowed):
    """A version that cannot start (or a challenger that cannot stop) shadow scoring, with the reason."""


class InvalidReview(Exception):
    """A review that breaks the rules (override without justification, ...); ``errors`` by field."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class InvalidSimulation(Exception):
    """A policy simulation that cannot be run as asked (a bad window, rules that do not fit); ``errors`` by field."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class InvalidBacktest(Exception):
    """A backtest that cannot be run as asked (a bad period, a policy that does not fit the version); by field."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in errors.items()))


__all__ = [
    "ActivationConflict",
    "BundleRejected",
    "ChallengerRefused",
    "InvalidApplication",
    "InvalidBacktest",
    "InvalidReview",
    "InvalidSimulation",
    "ModelUnavailable",
    "NotAllowed",
]


# --- API -----------------------------------------------------------------


class IdempotencyConflict(Exception):
    """An Idempotency-Key was reused by the same user for a different request."""


class DuplicateApplication(Exception):
    """The officer already decided this application (same reference or same validated inputs) recently.

    ``existing`` is that decision; nothing new was recorded. The caller may score again on purpose.
    """

    def __init__(self, existing):
        self.existing = existing
        day = existing.created_at.date().isoformat()
        super().__init__(gettext("Already decided as #%(pk)s on %(day)s.") % {"pk": existing.pk, "day": day})


# --- Batch scoring ------------------------------------------------------


class InvalidBatchFile(Exception):
    """An uploaded batch file refused before any work is queued (size, header, row count); ``errors`` by topic."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(" ".join(v) for v in errors.values()))


class BatchJobFinished(Exception):
    """The batch job has already finished, so it cannot be cancelled."""


__all__ += ["BatchJobFinished", "DuplicateApplication", "IdempotencyConflict", "InvalidBatchFile"]


# --- Adverse-action notices ---------------------------------------------


class NotFinalDecline(Exception):
    """A notice was asked for a decision whose final outcome is not a decline; nothing was issued."""


class InvalidNotice(Exception):
    """The applicant's details for a notice are missing or unusable; ``errors`` by field."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


__all__ += ["InvalidNotice", "NotFinalDecline"]

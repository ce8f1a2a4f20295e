"""Which credit policy version is live, compiled once per process and switched like the model.

Every process asks (at most every ``MODEL_CHECK_INTERVAL`` seconds, through the shared cache's marker
when there is one, else the database) which policy version is active. Compiling a policy takes
milliseconds, so the switch is inline: a request holds on to the CompiledPolicy it got, so a request
in flight finishes on the version it started with, and no request fails during an activation.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from scoring.engine.policy import CompiledPolicy
from scoring.lifecycle.markers import ActiveMarker
from scoring.models import PolicyVersion

_MAX_COMPILED = 8


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: CompiledPolicy | None = None
        self.checked_at = float("-inf")
        self.compiled: dict[int, CompiledPolicy] = {}


_state = _State()


def _interval() -> float:
    return float(getattr(settings, "MODEL_CHECK_INTERVAL", 1.0))


def get_active() -> CompiledPolicy | None:
    """The live policy, compiled; None when no policy version is active (the model alone decides)."""
    if time.monotonic() - _state.checked_at < _interval():
        return _state.active
    with _state.lock:
        if time.monotonic() - _state.checked_at < _interval():
            return _state.active
        active_id = active_policy_id()
        _state.active = compiled(active_id) if active_id else None
        _state.checked_at = time.monotonic()
        return _state.active


def compiled(version: PolicyVersion | int) -> CompiledPolicy:
    """Any version's compiled rules (the live one, a batch job's pinned one, a draft being simulated)."""
    version_id = version if isinstance(version, int) else version.pk
    found = _state.compiled.get(version_id)
    # Only versions past the draft stage are fixed; a draft's rules may change between two calls.
    if found is not None:
        return found
    if isinstance(version, int):
        version = PolicyVersion.objects.get(pk=version_id)
    policy = CompiledPolicy(version.engine_rules(), version_id=version.pk, label=version.label)
    if not version.is_draft:
        while len(_state.compiled) >= _MAX_COMPILED:
            _state.compiled.pop(next(iter(_state.compiled)))
        _state.compiled[version_id] = policy
    return policy


_MARKER = ActiveMarker(
    "creditscore:active-policy-version",
    "credit policy version",
    lambda: PolicyVersion.objects.filter(status=PolicyVersion.Status.ACTIVE).values_list("pk", flat=True).first(),
)


def active_policy_id() -> int | None:
    """Which policy version is live: the shared cache key when set, else (and to refill it) the database."""
    return _MARKER.read()


def publish_active(version_id: int | None) -> None:
    """Tell every process which policy version is now live (called after the activation commits)."""
    _MARKER.publish(version_id)


def reset() -> None:
    """Forget what this process knows (tests, and after an activation in this process)."""
    with _state.lock:
        _state.active = None
        _state.checked_at = float("-inf")
        _state.compiled.clear()

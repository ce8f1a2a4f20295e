"""Test-only settings for the hot-swap test and bench: the project's settings plus a tiny scoring endpoint."""

from creditscore.settings import *  # noqa: F403

ROOT_URLCONF = "tests.support.hotswap_urls"

# The bench reads which version each Celery worker serves, so it needs results.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None  # noqa: F405

# A cold switch to a large model, made reproducible: HOTSWAP_SLOW_LOAD="<bundle name>:<seconds>" makes
# every load of the bundle whose MLmodel metadata is named so take that much longer in this process
# (the engine's loader is wrapped before the registry imports it). The hot-swap test and bench use it
# to check that no request waits for such a load.
_slow_load = env.str("HOTSWAP_SLOW_LOAD", default="")  # noqa: F405
if _slow_load:
    import time as _time

    import scoring.engine as _engine

    _slow_name, _, _slow_seconds = _slow_load.rpartition(":")
    _real_load_bundle = _engine.load_bundle

    def _load_bundle_slowly(path, *args, **kwargs):
        model = _real_load_bundle(path, *args, **kwargs)
        if model.metadata.get("name") == _slow_name:
            _time.sleep(float(_slow_seconds))
        return model

    _engine.load_bundle = _load_bundle_slowly

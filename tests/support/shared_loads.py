"""One load of a bundle's bytes per test session, for fixtures that register the committed bundle.

Registering a bundle reads it twice (the files given, then the stored copy) and each read parses
the MLmodel, checks it against the contract and loads CatBoost: about a third of a second, paid
again by every test that starts from an active model (``active_version``), for files that never
change. While a fixture registers, ``load_bundle`` answers from a cache keyed by the files' sha256,
so identical bytes are parsed once per session. Only the fixture's set-up is served this way: what
a test then does (its own registrations, the registry's load of the active version) reads the files
for real, and tests of registration itself call ``register_bundle`` without it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from scoring.engine import LoadedModel, bundle_file_hashes
from scoring.lifecycle import versions

_LOADED: dict[tuple, LoadedModel] = {}


def _load_once(path: str | Path, **options) -> LoadedModel:
    key = (tuple(sorted(bundle_file_hashes(Path(path)).items())), tuple(sorted(options.items())))
    if key not in _LOADED:
        _LOADED[key] = _real_load(path, **options)
    model = copy.copy(_LOADED[key])
    # Fresh containers: a version built from this load must not share them with the next test's.
    model.metadata = copy.deepcopy(model.metadata)
    model.file_hashes = dict(model.file_hashes)
    return model


_real_load = versions.load_bundle


@contextmanager
def bundle_loads_shared() -> Iterator[None]:
    """Within the block, registrations load each distinct set of bundle files once per session."""
    with mock.patch.object(versions, "load_bundle", _load_once):
        yield

"""A model version's reason statements and feature labels in one language, read once per process."""

from __future__ import annotations

from collections.abc import Mapping

from scoring.engine.schema import localized_schema

# (version id, language) -> (statement by reason code, label by feature name). A version's metadata never
# changes after registration, so what is read from it once holds for the life of the process.
_REASON_LIBRARIES: dict[tuple[int, str], tuple[dict[str, str], dict[str, str]]] = {}


def reason_library(version, language: str) -> tuple[dict[str, str], dict[str, str]]:
    """A model version's reason statements (by code) and feature labels (by name) in ``language``."""
    key = (version.pk, language)
    found = _REASON_LIBRARIES.get(key)
    if found is None:
        schema = localized_schema(version.metadata or {}, language)
        statements: dict[str, str] = {}
        labels: dict[str, str] = {}
        for spec in schema.get("features") or ():
            if not isinstance(spec, Mapping):
                continue
            labels[str(spec.get("name"))] = str(spec.get("label") or "")
            for reason in (spec.get("reasons") or {}).values():
                if isinstance(reason, Mapping) and reason.get("code"):
                    statements.setdefault(str(reason["code"]), str(reason.get("statement") or ""))
        found = (statements, labels)
        if len(_REASON_LIBRARIES) > 256:
            _REASON_LIBRARIES.clear()
        _REASON_LIBRARIES[key] = found
    return found

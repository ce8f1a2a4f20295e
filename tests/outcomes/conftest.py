"""Fixtures of the loan outcome tests: decided applications to report outcomes for."""

from __future__ import annotations

import pytest

from scoring.models import Decision
from tests.support.applications import decided


@pytest.fixture
def decisions(officer, active_version):
    """Three decisions by the officer: LOAN-1 and LOAN-2 have their own reference, two others share DUP."""
    return [
        decided(officer, Decision.APPROVE, external_ref="LOAN-1"),
        decided(officer, Decision.APPROVE, external_ref="LOAN-2"),
        decided(officer, Decision.DECLINE, external_ref="DUP"),
        decided(officer, Decision.REFER, external_ref="DUP"),
    ]

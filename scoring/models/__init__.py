"""The scoring app's tables, one module per concept, all under the one ``scoring`` app label.

Migrations and the rest of the code import them from here (``scoring.models.Prediction``).
"""

from scoring.models.audit import ExportLog
from scoring.models.backtests import Backtest
from scoring.models.batch import BatchChunk, BatchJob, BatchRowError
from scoring.models.challengers import ChallengerAssignment, ShadowScore
from scoring.models.choices import Channel, Decision
from scoring.models.decisions import OverrideApproval, Prediction, ReferralAssignment, Review, final_decision_of
from scoring.models.fields import JSONTextField
from scoring.models.monitoring import DriftReport
from scoring.models.notices import AdverseActionNotice, NoticeIsFinal
from scoring.models.outcomes import LoanOutcome, OutcomeUpload
from scoring.models.policy import (
    PolicyActivation,
    PolicyCondition,
    PolicyIsFrozen,
    PolicyRule,
    PolicySimulation,
    PolicyVersion,
)
from scoring.models.totals import DailyCounts, DailyStat, DailyTotal, MonthlyStat
from scoring.models.versions import ModelActivation, ModelLoad, ModelVersion

__all__ = [
    "AdverseActionNotice",
    "Backtest",
    "BatchChunk",
    "BatchJob",
    "BatchRowError",
    "ChallengerAssignment",
    "Channel",
    "DailyCounts",
    "DailyStat",
    "DailyTotal",
    "Decision",
    "DriftReport",
    "ExportLog",
    "JSONTextField",
    "LoanOutcome",
    "ModelActivation",
    "ModelLoad",
    "ModelVersion",
    "MonthlyStat",
    "NoticeIsFinal",
    "OutcomeUpload",
    "OverrideApproval",
    "PolicyActivation",
    "PolicyCondition",
    "PolicyIsFrozen",
    "PolicyRule",
    "PolicySimulation",
    "PolicyVersion",
    "Prediction",
    "ReferralAssignment",
    "Review",
    "ShadowScore",
    "final_decision_of",
]

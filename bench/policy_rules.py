"""A realistic credit policy of 15 rules for the German credit product, for the batch benchmark.

Knock-outs before the model (product limits, age of majority), knock-outs after it (risk band with
amount or history), referral triggers (officer authority, long terms, thin cases) and two rules that
only record. They test numbers, choices, the probability and the band, alone and in pairs, as a
lender's policy does.
"""

from __future__ import annotations

from scoring.engine.policy import AFTER_MODEL, BEFORE_MODEL, RECORD, Condition, Rule
from scoring.engine.schema import DECLINE, REFER

OVERDRAWN = "... < 0 DM"
CRITICAL = "critical account/ other credits existing (not at this bank)"


def rule(code, outcome, stage, *conditions, legal_basis=""):
    return Rule(
        code=code,
        name=code.replace("_", " ").capitalize(),
        statement=f"Credit policy: {code.replace('_', ' ').lower()}.",
        outcome=outcome,
        stage=stage,
        conditions=tuple(Condition(f, t) for f, t in conditions),
        legal_basis=legal_basis,
    )


RULES = [
    rule("UNDER_AGE_OF_MAJORITY", DECLINE, BEFORE_MODEL, ("age_in_years", "< 18"), legal_basis="Contractual capacity."),
    rule("AMOUNT_ABOVE_PRODUCT_MAXIMUM", DECLINE, BEFORE_MODEL, ("credit_amount", "> 50000")),
    rule("AMOUNT_BELOW_PRODUCT_MINIMUM", DECLINE, BEFORE_MODEL, ("credit_amount", "< 250")),
    rule("TERM_ABOVE_PRODUCT_MAXIMUM", DECLINE, BEFORE_MODEL, ("duration_in_month", "> 84")),
    rule(
        "CRITICAL_HISTORY_HIGH_BAND",
        DECLINE,
        AFTER_MODEL,
        ("credit_history", f'"{CRITICAL}"'),
        ("risk_band", '"D", "E"'),
    ),
    rule("BAND_E_LARGE_AMOUNT", DECLINE, AFTER_MODEL, ("risk_band", '"E"'), ("credit_amount", "> 8000")),
    rule("AMOUNT_ABOVE_OFFICER_LIMIT", REFER, AFTER_MODEL, ("credit_amount", "> 20000")),
    rule("TERM_ABOVE_72_MONTHS", REFER, AFTER_MODEL, ("duration_in_month", "> 72")),
    rule(
        "OVERDRAWN_LARGE_LOAN",
        REFER,
        AFTER_MODEL,
        ("status_of_existing_checking_account", f'"{OVERDRAWN}"'),
        ("credit_amount", "> 10000"),
    ),
    rule("HIGHER_PD_LONG_TERM", REFER, AFTER_MODEL, ("probability", "> 0.12"), ("duration_in_month", ">= 48")),
    rule(
        "UNEMPLOYED_LARGE_LOAN",
        REFER,
        AFTER_MODEL,
        ("present_employment_since", '"unemployed"'),
        ("credit_amount", "> 5000"),
    ),
    rule(
        "MANY_CREDITS_HERE",
        REFER,
        AFTER_MODEL,
        ("number_of_existing_credits_at_this_bank", '"4_or_5_credits", "6_or_more_credits"'),
    ),
    rule("LARGE_BUSINESS_LOAN", REFER, AFTER_MODEL, ("purpose", '"business"'), ("credit_amount", "> 15000")),
    rule(
        "NO_SAVINGS_HIGH_INSTALMENT",
        RECORD,
        AFTER_MODEL,
        ("savings_account_and_bonds", '"unknown/ no savings account"'),
        ("installment_rate_in_percentage_of_disposable_income", '"35_pct_or_more"'),
    ),
    rule(
        "NO_PROPERTY_LONG_TERM",
        RECORD,
        AFTER_MODEL,
        ("property", '"unknown / no property"'),
        ("duration_in_month", "> 36"),
    ),
]

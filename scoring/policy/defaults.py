"""The credit policy a new installation starts with, for the bundled German credit product.

An applicant below the age of majority is declined (age is a protected attribute here, so the rule
carries its legal basis); an amount above 20,000 DM or a term above 72 months is referred to an
officer. No other rule tests a protected attribute.
"""

from __future__ import annotations

from scoring.engine.policy import AFTER_MODEL, BEFORE_MODEL, Condition, Rule
from scoring.engine.schema import DECLINE, REFER

NAME = "German credit: standard policy"

AGE_OF_MAJORITY_BASIS = (
    "Contractual capacity: a minor cannot enter a binding credit agreement on their own (German Civil Code, "
    "BGB sections 2, 106-108; a guardian also needs the family court's approval, sections 1643 and 1854). "
    "Age is tested only against the age of majority, never as a credit-risk factor."
)

RULES = (
    Rule(
        code="UNDER_AGE_OF_MAJORITY",
        name="Applicant under 18",
        statement="The applicant has not reached the age of majority needed to enter a credit agreement.",
        statement_fr="Le demandeur n'a pas atteint l'âge de la majorité requis pour conclure un contrat de crédit.",
        outcome=DECLINE,
        stage=BEFORE_MODEL,
        conditions=(Condition(field="age_in_years", test="< 18"),),
        legal_basis=AGE_OF_MAJORITY_BASIS,
    ),
    Rule(
        code="AMOUNT_ABOVE_OFFICER_LIMIT",
        name="Amount above 20,000 DM",
        statement="The amount requested is above what we can approve without a credit officer's review.",
        statement_fr="Le montant demandé dépasse ce que nous pouvons accorder sans l'examen d'un chargé de crédit.",
        outcome=REFER,
        stage=AFTER_MODEL,
        conditions=(Condition(field="credit_amount", test="> 20000"),),
    ),
    Rule(
        code="TERM_ABOVE_PRODUCT_LIMIT",
        name="Term above 72 months",
        statement="The repayment term requested is longer than this product's standard terms.",
        statement_fr="La durée de remboursement demandée dépasse les durées standard de ce produit.",
        outcome=REFER,
        stage=AFTER_MODEL,
        conditions=(Condition(field="duration_in_month", test="> 72"),),
    ),
)

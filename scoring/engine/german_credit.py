"""The German Credit data set's fields as loan officers see them: labels, help, sections, ranges.

Training writes these into the bundle's metadata; the app's forms read them from there.
"""

from __future__ import annotations

from typing import Any

SECTIONS = [
    {"name": "loan", "label": "The loan"},
    {"name": "applicant", "label": "The applicant"},
    {"name": "finances", "label": "Finances and assets"},
    {"name": "history", "label": "Credit history"},
    {"name": "monitoring", "label": "Fairness monitoring (optional)"},
]

RISK_BAND_LABELS = ["Very low risk", "Low risk", "Moderate risk", "High risk", "Very high risk"]

# The model features in the order of the source file (and of the model). Choices of
# categorical features are filled in from the data, so they always match what the model saw.
FEATURES: list[dict[str, Any]] = [
    {
        "name": "status_of_existing_checking_account",
        "kind": "categorical",
        "label": "Checking account balance",
        "help": "Balance of the applicant's current account at this bank, in Deutsche Mark (DM).",
        "section": "finances",
    },
    {
        "name": "duration_in_month",
        "kind": "integer",
        "label": "Loan duration",
        "unit": "months",
        "min": 1,
        "max": 120,
        "help": "How long the loan runs. The training data has 4 to 72 months.",
        "section": "loan",
    },
    {
        "name": "credit_history",
        "kind": "categorical",
        "label": "Credit history",
        "help": "How the applicant has repaid earlier and current credits, here and elsewhere.",
        "section": "history",
    },
    {
        "name": "purpose",
        "kind": "categorical",
        "label": "Purpose of the loan",
        "help": "What the money is for.",
        "section": "loan",
    },
    {
        "name": "credit_amount",
        "kind": "integer",
        "label": "Loan amount",
        "unit": "DM",
        "min": 100,
        "max": 100000,
        "help": "Amount requested, in Deutsche Mark. The training data has 250 to 18,424 DM.",
        "section": "loan",
    },
    {
        "name": "savings_account_and_bonds",
        "kind": "categorical",
        "label": "Savings and bonds",
        "help": "Balance of savings accounts and bonds, in Deutsche Mark (DM).",
        "section": "finances",
    },
    {
        "name": "present_employment_since",
        "kind": "categorical",
        "label": "Employed since",
        "help": "How long the applicant has held the present job.",
        "section": "applicant",
    },
    {
        "name": "installment_rate_in_percentage_of_disposable_income",
        "kind": "integer",
        "label": "Instalment as % of disposable income",
        "unit": "",
        "min": 1,
        "max": 4,
        "help": (
            "Band 1 to 4 as coded in the source data. The corrected code table "
            "(Grömping 2019) reads 1 = 35% or more, 2 = 25 to 35%, 3 = 20 to 25%, 4 = under 20%."
        ),
        "section": "loan",
    },
    {
        "name": "other_debtors_or_guarantors",
        "kind": "categorical",
        "label": "Other debtors or guarantors",
        "help": "Whether someone else shares the debt (co-applicant) or vouches for it (guarantor).",
        "section": "applicant",
    },
    {
        "name": "present_residence_since",
        "kind": "integer",
        "label": "Years at present residence",
        "unit": "",
        "min": 1,
        "max": 4,
        "help": (
            "Band 1 to 4 as coded in the source data. The corrected code table "
            "(Grömping 2019) reads 1 = under 1 year, 2 = 1 to 4 years, 3 = 4 to 7 years, 4 = 7 years or more."
        ),
        "section": "applicant",
    },
    {
        "name": "property",
        "kind": "categorical",
        "label": "Property",
        "help": "The most valuable asset the applicant owns.",
        "section": "finances",
    },
    {
        "name": "other_installment_plans",
        "kind": "categorical",
        "label": "Other instalment plans",
        "help": "Instalment credits the applicant has with other banks or with stores.",
        "section": "history",
    },
    {
        "name": "housing",
        "kind": "categorical",
        "label": "Housing",
        "help": "Whether the applicant rents, owns, or lives somewhere for free.",
        "section": "applicant",
    },
    {
        "name": "number_of_existing_credits_at_this_bank",
        "kind": "integer",
        "label": "Existing credits at this bank",
        "unit": "",
        "min": 1,
        "max": 10,
        "help": "Credits the applicant already has at this bank. The training data has 1 to 4; more are scored like 4.",
        "section": "history",
    },
    {
        "name": "job",
        "kind": "categorical",
        "label": "Job",
        "help": "Kind of employment and qualification.",
        "section": "applicant",
    },
    {
        "name": "number_of_people_being_liable_to_provide_maintenance_for",
        "kind": "integer",
        "label": "People financially dependent",
        "unit": "",
        "min": 1,
        "max": 10,
        "help": (
            "People the applicant is liable to support. The training data has only 1 or 2; more are scored like 2."
        ),
        "section": "applicant",
    },
    {
        "name": "telephone",
        "kind": "categorical",
        "label": "Telephone",
        "help": "Whether a telephone is registered in the applicant's name.",
        "section": "applicant",
    },
]

# Kept out of the model; described so that fairness monitoring can record them.
PROTECTED_ATTRIBUTES: list[dict[str, Any]] = [
    {
        "name": "personal_status_and_sex",
        "kind": "categorical",
        "label": "Personal status and sex",
        "help": "Recorded for fairness monitoring only; never used to score.",
        "section": "monitoring",
    },
    {
        "name": "age_in_years",
        "kind": "integer",
        "label": "Age",
        "unit": "years",
        "min": 18,
        "max": 100,
        "help": "Recorded for fairness monitoring only; never used to score.",
        "section": "monitoring",
    },
    {
        "name": "foreign_worker",
        "kind": "categorical",
        "label": "Foreign worker",
        "help": "Recorded for fairness monitoring only; never used to score.",
        "section": "monitoring",
    },
]

# Ordered categories are listed in their natural order so that a form's drop-down reads
# low to high; every other categorical lists its values alphabetically.
CHOICE_ORDER = {
    "status_of_existing_checking_account": [
        "no checking account",
        "... < 0 DM",
        "0 <= ... < 200 DM",
        "... >= 200 DM / salary assignments for at least 1 year",
    ],
    "savings_account_and_bonds": [
        "unknown/ no savings account",
        "... < 100 DM",
        "100 <= ... < 500 DM",
        "500 <= ... < 1000 DM",
        "... >= 1000 DM",
    ],
    "present_employment_since": [
        "unemployed",
        "... < 1 year",
        "1 <= ... < 4 years",
        "4 <= ... < 7 years",
        "... >= 7 years",
    ],
}

FEATURE_NAMES = [f["name"] for f in FEATURES]
PROTECTED_NAMES = [f["name"] for f in PROTECTED_ATTRIBUTES]
CATEGORICAL_FEATURES = [f["name"] for f in FEATURES if f["kind"] == "categorical"]

# What an officer reads for each value the data (and so the model) holds: the data set's
# coded wording ("... < 0 DM") is kept as the value the model scores, never shown as is.
CHOICE_LABELS: dict[str, dict[str, str]] = {
    "status_of_existing_checking_account": {
        "no checking account": "No current account",
        "... < 0 DM": "Overdrawn (below 0 DM)",
        "0 <= ... < 200 DM": "0 to 200 DM",
        "... >= 200 DM / salary assignments for at least 1 year": "200 DM or more, or salary paid in for a year",
    },
    "credit_history": {
        "all credits at this bank paid back duly": "All credits at this bank repaid on time",
        "critical account/ other credits existing (not at this bank)": "Critical account or credits elsewhere",
        "delay in paying off in the past": "Late repayments in the past",
        "existing credits paid back duly till now": "Current credits repaid on time so far",
        "no credits taken/ all credits paid back duly": "No credits taken, or all repaid on time",
    },
    "purpose": {
        "business": "Business",
        "car (new)": "New car",
        "car (used)": "Used car",
        "domestic appliances": "Domestic appliances",
        "education": "Education",
        "furniture/equipment": "Furniture or equipment",
        "others": "Other",
        "radio/television": "Radio or television",
        "repairs": "Repairs",
        "retraining": "Retraining",
    },
    "savings_account_and_bonds": {
        "unknown/ no savings account": "No savings account, or not known",
        "... < 100 DM": "Under 100 DM",
        "100 <= ... < 500 DM": "100 to 500 DM",
        "500 <= ... < 1000 DM": "500 to 1,000 DM",
        "... >= 1000 DM": "1,000 DM or more",
    },
    "present_employment_since": {
        "unemployed": "Unemployed",
        "... < 1 year": "Less than 1 year",
        "1 <= ... < 4 years": "1 to 4 years",
        "4 <= ... < 7 years": "4 to 7 years",
        "... >= 7 years": "7 years or more",
    },
    "other_debtors_or_guarantors": {
        "co-applicant": "Co-applicant",
        "guarantor": "Guarantor",
        "none": "None",
    },
    "property": {
        "building society savings agreement/ life insurance": "Building society savings or life insurance",
        "car or other, not in attribute Savings account/bonds": "Car or other property",
        "real estate": "Real estate",
        "unknown / no property": "No property, or not known",
    },
    "other_installment_plans": {"bank": "At a bank", "none": "None", "stores": "At stores"},
    "housing": {"for free": "Lives for free", "own": "Owns", "rent": "Rents"},
    "job": {
        "management/ self-employed/ highly qualified employee/ officer": (
            "Management, self-employed or highly qualified"
        ),
        "skilled employee / official": "Skilled employee or official",
        "unemployed/ unskilled - non-resident": "Unemployed or unskilled, non-resident",
        "unskilled - resident": "Unskilled, resident",
    },
    "telephone": {"none": "None", "yes, registered under the customers name": "Yes, in the applicant's name"},
    "personal_status_and_sex": {
        "female : divorced/separated/married": "Female: divorced, separated or married",
        "male : divorced/separated": "Male: divorced or separated",
        "male : married/widowed": "Male: married or widowed",
        "male : single": "Male: single",
    },
    "foreign_worker": {"no": "No", "yes": "Yes"},
}

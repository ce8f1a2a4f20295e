"""The German Credit data set's fields as loan officers see them: labels, help, sections, choices, reasons.

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
        # An offer may shorten or lengthen the loan in steps of six months, within the 6 to 72 months
        # of the product (and of the training data).
        "actionable": {"direction": "any", "min": 6, "max": 72, "step": 6},
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
        # An offer may lend less, down to the product's smallest loan, in steps of 50 DM.
        "actionable": {"direction": "down", "min": 250, "step": 50},
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
        "kind": "categorical",
        "label": "Instalment as share of disposable income",
        "help": "The monthly instalment as a percentage of the applicant's disposable income.",
        "section": "loan",
    },
    {
        "name": "other_debtors_or_guarantors",
        "kind": "categorical",
        "label": "Other debtors or guarantors",
        "help": "Whether someone else shares the debt (co-applicant) or vouches for it (guarantor).",
        "section": "applicant",
        # An offer may ask for a guarantor; it never removes a co-applicant or guarantor the applicant has.
        "actionable": {"to": ["guarantor"]},
    },
    {
        "name": "present_residence_since",
        "kind": "categorical",
        "label": "Time at present residence",
        "help": "How long the applicant has lived at the present address.",
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
        "kind": "categorical",
        "label": "Existing credits at this bank",
        "help": "How many credits the applicant already has at this bank, including this one.",
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
        "kind": "categorical",
        "label": "People financially dependent",
        "help": "How many people the applicant is liable to support.",
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

# Four fields are band codes 1-4 (or 1-2) in the source file. Training recodes them into these
# values, following the corrected code table of Groemping (2019, "South German Credit Data:
# Correcting a Widely Used Data Set"); the CSV itself stays as published.
BAND_CODES: dict[str, dict[int, str]] = {
    "installment_rate_in_percentage_of_disposable_income": {
        4: "under_20_pct",
        3: "20_to_25_pct",
        2: "25_to_35_pct",
        1: "35_pct_or_more",
    },
    "present_residence_since": {
        1: "under_1_year",
        2: "1_to_4_years",
        3: "4_to_7_years",
        4: "7_years_or_more",
    },
    "number_of_existing_credits_at_this_bank": {
        1: "1_credit",
        2: "2_or_3_credits",
        3: "4_or_5_credits",
        4: "6_or_more_credits",
    },
    "number_of_people_being_liable_to_provide_maintenance_for": {2: "0_to_2_people", 1: "3_or_more_people"},
}

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
    # The band codes low to high (dict order above).
    **{name: list(codes.values()) for name, codes in BAND_CODES.items()},
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
    "installment_rate_in_percentage_of_disposable_income": {
        "under_20_pct": "Under 20 %",
        "20_to_25_pct": "20 to 25 %",
        "25_to_35_pct": "25 to 35 %",
        "35_pct_or_more": "35 % or more",
    },
    "present_residence_since": {
        "under_1_year": "Less than 1 year",
        "1_to_4_years": "1 to 4 years",
        "4_to_7_years": "4 to 7 years",
        "7_years_or_more": "7 years or more",
    },
    "number_of_existing_credits_at_this_bank": {
        "1_credit": "1",
        "2_or_3_credits": "2 or 3",
        "4_or_5_credits": "4 or 5",
        "6_or_more_credits": "6 or more",
    },
    "number_of_people_being_liable_to_provide_maintenance_for": {
        "0_to_2_people": "0 to 2",
        "3_or_more_people": "3 or more",
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


# The reason-code library: for each model feature, the code and the applicant-grade statement
# given when its value raised the risk of default, and when it lowered it. Statements follow
# the sample reasons of Regulation B (ECOA); several features may share a code.
REASONS: dict[str, dict[str, dict[str, str]]] = {
    "status_of_existing_checking_account": {
        "raises": {"code": "CHECKING_LOW", "statement": "Balance of checking account too low"},
        "lowers": {"code": "CHECKING_GOOD", "statement": "Balance of checking account sufficient"},
    },
    "duration_in_month": {
        "raises": {"code": "DURATION_LONG", "statement": "Duration of credit requested too long"},
        "lowers": {"code": "DURATION_SHORT", "statement": "Duration of credit requested is short"},
    },
    "credit_history": {
        "raises": {"code": "HISTORY_DELINQUENT", "statement": "Delinquent past or present credit obligations"},
        "lowers": {"code": "HISTORY_GOOD", "statement": "Good record of repaying credit"},
    },
    "purpose": {
        "raises": {"code": "PURPOSE_RISK", "statement": "Purpose of credit carries a higher risk"},
        "lowers": {"code": "PURPOSE_SAFE", "statement": "Purpose of credit carries a lower risk"},
    },
    "credit_amount": {
        "raises": {"code": "AMOUNT_HIGH", "statement": "Amount of credit requested too high"},
        "lowers": {"code": "AMOUNT_SUITED", "statement": "Amount of credit requested is suitable"},
    },
    "savings_account_and_bonds": {
        "raises": {"code": "SAVINGS_LOW", "statement": "Insufficient savings"},
        "lowers": {"code": "SAVINGS_GOOD", "statement": "Sufficient savings"},
    },
    "present_employment_since": {
        "raises": {"code": "EMPLOYMENT_SHORT", "statement": "Length of employment too short"},
        "lowers": {"code": "EMPLOYMENT_STABLE", "statement": "Length of employment sufficient"},
    },
    "installment_rate_in_percentage_of_disposable_income": {
        "raises": {"code": "OBLIGATIONS_HIGH", "statement": "Excessive obligations in relation to income"},
        "lowers": {"code": "OBLIGATIONS_LOW", "statement": "Instalment affordable in relation to income"},
    },
    "other_debtors_or_guarantors": {
        "raises": {"code": "GUARANTOR_NONE", "statement": "No suitable guarantor or co-applicant"},
        "lowers": {"code": "GUARANTOR_GOOD", "statement": "Guarantor or co-applicant supports the credit"},
    },
    "present_residence_since": {
        "raises": {"code": "RESIDENCE_SHORT", "statement": "Too short a period of residence"},
        "lowers": {"code": "RESIDENCE_LONG", "statement": "Long period of residence"},
    },
    "property": {
        "raises": {"code": "COLLATERAL_LOW", "statement": "Insufficient collateral"},
        "lowers": {"code": "COLLATERAL_GOOD", "statement": "Sufficient collateral"},
    },
    "other_installment_plans": {
        "raises": {"code": "OBLIGATIONS_HIGH", "statement": "Excessive obligations in relation to income"},
        "lowers": {"code": "OTHER_CREDIT_NONE", "statement": "No instalment credit elsewhere"},
    },
    "housing": {
        "raises": {"code": "HOUSING", "statement": "Housing situation does not support the credit"},
        "lowers": {"code": "HOUSING_GOOD", "statement": "Housing situation supports the credit"},
    },
    "number_of_existing_credits_at_this_bank": {
        "raises": {"code": "CREDITS_WITH_US", "statement": "Number of credits with us does not support the credit"},
        "lowers": {"code": "CREDITS_WITH_US_GOOD", "statement": "Number of credits with us supports the credit"},
    },
    "job": {
        "raises": {"code": "OCCUPATION", "statement": "Type of occupation does not support the credit"},
        "lowers": {"code": "OCCUPATION_GOOD", "statement": "Type of occupation supports the credit"},
    },
    "number_of_people_being_liable_to_provide_maintenance_for": {
        "raises": {"code": "DEPENDANTS", "statement": "Number of dependants does not support the credit"},
        "lowers": {"code": "DEPENDANTS_GOOD", "statement": "Number of dependants supports the credit"},
    },
    "telephone": {
        "raises": {"code": "TELEPHONE", "statement": "Telephone listing does not support the credit"},
        "lowers": {"code": "TELEPHONE_GOOD", "statement": "Telephone listing supports the credit"},
    },
}

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


# Every text above in French, by its English: the bundle gives each as {en: ..., fr: ...} (docs/languages.md).
# A bank's French, as a French lender words a credit file; "DM" stays the currency's symbol.
FRENCH: dict[str, str] = {
    # Sections and risk bands
    "The loan": "Le crédit",
    "The applicant": "Le demandeur",
    "Finances and assets": "Finances et patrimoine",
    "Credit history": "Historique de crédit",
    "Fairness monitoring (optional)": "Suivi de l'équité (facultatif)",
    "Very low risk": "Risque très faible",
    "Low risk": "Risque faible",
    "Moderate risk": "Risque modéré",
    "High risk": "Risque élevé",
    "Very high risk": "Risque très élevé",
    # Labels, help and units
    "Checking account balance": "Solde du compte courant",
    "Balance of the applicant's current account at this bank, in Deutsche Mark (DM).": (
        "Solde du compte courant du demandeur dans notre banque, en Deutsche Mark (DM)."
    ),
    "Loan duration": "Durée du crédit",
    "months": "mois",
    "How long the loan runs. The training data has 4 to 72 months.": (
        "Durée de remboursement du crédit. Les données d'apprentissage vont de 4 à 72 mois."
    ),
    "How the applicant has repaid earlier and current credits, here and elsewhere.": (
        "Comment le demandeur a remboursé ses crédits passés et en cours, chez nous et ailleurs."
    ),
    "Purpose of the loan": "Objet du crédit",
    "What the money is for.": "L'usage prévu des fonds.",
    "Loan amount": "Montant du crédit",
    "Amount requested, in Deutsche Mark. The training data has 250 to 18,424 DM.": (
        "Montant demandé, en Deutsche Mark. Les données d'apprentissage vont de 250 à 18 424 DM."
    ),
    "Savings and bonds": "Épargne et obligations",
    "Balance of savings accounts and bonds, in Deutsche Mark (DM).": (
        "Solde des comptes d'épargne et des obligations, en Deutsche Mark (DM)."
    ),
    "Employed since": "Ancienneté dans l'emploi",
    "How long the applicant has held the present job.": (
        "Depuis combien de temps le demandeur occupe son emploi actuel."
    ),
    "Instalment as share of disposable income": "Mensualité en part du revenu disponible",
    "The monthly instalment as a percentage of the applicant's disposable income.": (
        "La mensualité en pourcentage du revenu disponible du demandeur."
    ),
    "Other debtors or guarantors": "Autres débiteurs ou garants",
    "Whether someone else shares the debt (co-applicant) or vouches for it (guarantor).": (
        "Si une autre personne partage la dette (co-emprunteur) ou s'en porte garante (caution)."
    ),
    "Time at present residence": "Ancienneté dans le logement actuel",
    "How long the applicant has lived at the present address.": (
        "Depuis combien de temps le demandeur vit à son adresse actuelle."
    ),
    "Property": "Patrimoine",
    "The most valuable asset the applicant owns.": "Le bien de plus grande valeur que possède le demandeur.",
    "Other instalment plans": "Autres crédits en cours",
    "Instalment credits the applicant has with other banks or with stores.": (
        "Crédits amortissables du demandeur auprès d'autres banques ou de magasins."
    ),
    "Housing": "Logement",
    "Whether the applicant rents, owns, or lives somewhere for free.": (
        "Si le demandeur est locataire, propriétaire ou logé gratuitement."
    ),
    "Existing credits at this bank": "Crédits en cours dans notre banque",
    "How many credits the applicant already has at this bank, including this one.": (
        "Nombre de crédits que le demandeur a déjà dans notre banque, celui-ci compris."
    ),
    "Job": "Emploi",
    "Kind of employment and qualification.": "Type d'emploi et qualification.",
    "People financially dependent": "Personnes à charge",
    "How many people the applicant is liable to support.": "Nombre de personnes que le demandeur a à sa charge.",
    "Telephone": "Téléphone",
    "Whether a telephone is registered in the applicant's name.": (
        "Si une ligne téléphonique est enregistrée au nom du demandeur."
    ),
    "Personal status and sex": "Situation personnelle et sexe",
    "Recorded for fairness monitoring only; never used to score.": (
        "Recueilli pour le suivi de l'équité uniquement ; jamais utilisé pour la notation."
    ),
    "Age": "Âge",
    "years": "ans",
    "Foreign worker": "Travailleur étranger",
    # Choices
    "No current account": "Pas de compte courant",
    "Overdrawn (below 0 DM)": "À découvert (moins de 0 DM)",
    "0 to 200 DM": "De 0 à 200 DM",
    "200 DM or more, or salary paid in for a year": "200 DM ou plus, ou salaire domicilié depuis un an",
    "All credits at this bank repaid on time": "Tous les crédits chez nous remboursés à l'échéance",
    "Critical account or credits elsewhere": "Compte à risque ou crédits dans d'autres établissements",
    "Late repayments in the past": "Retards de remboursement par le passé",
    "Current credits repaid on time so far": "Crédits en cours remboursés à l'échéance jusqu'ici",
    "No credits taken, or all repaid on time": "Aucun crédit, ou tous remboursés à l'échéance",
    "Business": "Activité professionnelle",
    "New car": "Voiture neuve",
    "Used car": "Voiture d'occasion",
    "Domestic appliances": "Électroménager",
    "Education": "Études",
    "Furniture or equipment": "Mobilier ou équipement",
    "Other": "Autre",
    "Radio or television": "Radio ou télévision",
    "Repairs": "Travaux",
    "Retraining": "Reconversion professionnelle",
    "No savings account, or not known": "Pas de compte d'épargne, ou inconnu",
    "Under 100 DM": "Moins de 100 DM",
    "100 to 500 DM": "De 100 à 500 DM",
    "500 to 1,000 DM": "De 500 à 1 000 DM",
    "1,000 DM or more": "1 000 DM ou plus",
    "Unemployed": "Sans emploi",
    "Less than 1 year": "Moins d'un an",
    "1 to 4 years": "De 1 à 4 ans",
    "4 to 7 years": "De 4 à 7 ans",
    "7 years or more": "7 ans ou plus",
    "Co-applicant": "Co-emprunteur",
    "Guarantor": "Caution",
    "None": "Aucun",
    "Building society savings or life insurance": "Épargne-logement ou assurance vie",
    "Car or other property": "Voiture ou autre bien",
    "Real estate": "Bien immobilier",
    "No property, or not known": "Aucun bien, ou inconnu",
    "At a bank": "Auprès d'une banque",
    "At stores": "Auprès de magasins",
    "Lives for free": "Logé gratuitement",
    "Owns": "Propriétaire",
    "Rents": "Locataire",
    "Management, self-employed or highly qualified": "Cadre, indépendant ou hautement qualifié",
    "Skilled employee or official": "Employé qualifié ou fonctionnaire",
    "Unemployed or unskilled, non-resident": "Sans emploi ou non qualifié, non résident",
    "Unskilled, resident": "Non qualifié, résident",
    "Under 20 %": "Moins de 20 %",
    "20 to 25 %": "De 20 à 25 %",
    "25 to 35 %": "De 25 à 35 %",
    "35 % or more": "35 % ou plus",
    "1": "1",
    "2 or 3": "2 ou 3",
    "4 or 5": "4 ou 5",
    "6 or more": "6 ou plus",
    "0 to 2": "De 0 à 2",
    "3 or more": "3 ou plus",
    "Yes, in the applicant's name": "Oui, au nom du demandeur",
    "Female: divorced, separated or married": "Femme : divorcée, séparée ou mariée",
    "Male: divorced or separated": "Homme : divorcé ou séparé",
    "Male: married or widowed": "Homme : marié ou veuf",
    "Male: single": "Homme : célibataire",
    "No": "Non",
    "Yes": "Oui",
    # Reason statements
    "Balance of checking account too low": "Solde du compte courant insuffisant",
    "Balance of checking account sufficient": "Solde du compte courant suffisant",
    "Duration of credit requested too long": "Durée du crédit demandé trop longue",
    "Duration of credit requested is short": "Durée du crédit demandé courte",
    "Delinquent past or present credit obligations": "Incidents de remboursement passés ou en cours",
    "Good record of repaying credit": "Bon historique de remboursement",
    "Purpose of credit carries a higher risk": "Objet du crédit présentant un risque plus élevé",
    "Purpose of credit carries a lower risk": "Objet du crédit présentant un risque plus faible",
    "Amount of credit requested too high": "Montant du crédit demandé trop élevé",
    "Amount of credit requested is suitable": "Montant du crédit demandé adapté",
    "Insufficient savings": "Épargne insuffisante",
    "Sufficient savings": "Épargne suffisante",
    "Length of employment too short": "Ancienneté dans l'emploi insuffisante",
    "Length of employment sufficient": "Ancienneté dans l'emploi suffisante",
    "Excessive obligations in relation to income": "Charges excessives par rapport aux revenus",
    "Instalment affordable in relation to income": "Mensualité supportable au regard des revenus",
    "No suitable guarantor or co-applicant": "Absence de caution ou de co-emprunteur adapté",
    "Guarantor or co-applicant supports the credit": "Caution ou co-emprunteur favorable au crédit",
    "Too short a period of residence": "Ancienneté dans le logement insuffisante",
    "Long period of residence": "Ancienneté dans le logement importante",
    "Insufficient collateral": "Garanties insuffisantes",
    "Sufficient collateral": "Garanties suffisantes",
    "No instalment credit elsewhere": "Aucun crédit en cours ailleurs",
    "Housing situation does not support the credit": "Situation de logement défavorable au crédit",
    "Housing situation supports the credit": "Situation de logement favorable au crédit",
    "Number of credits with us does not support the credit": "Nombre de crédits chez nous défavorable au crédit",
    "Number of credits with us supports the credit": "Nombre de crédits chez nous favorable au crédit",
    "Type of occupation does not support the credit": "Type d'emploi défavorable au crédit",
    "Type of occupation supports the credit": "Type d'emploi favorable au crédit",
    "Number of dependants does not support the credit": "Nombre de personnes à charge défavorable au crédit",
    "Number of dependants supports the credit": "Nombre de personnes à charge favorable au crédit",
    "Telephone listing does not support the credit": "Ligne téléphonique défavorable au crédit",
    "Telephone listing supports the credit": "Ligne téléphonique favorable au crédit",
}


def in_both_languages(text: str) -> dict[str, str] | str:
    """A text of this module as the bundle gives it: {en, fr}; plain text only for a symbol such as "DM"."""
    if text in FRENCH:
        return {"en": text, "fr": FRENCH[text]}
    return text


def bilingual_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """The bundle metadata with every text of this module given in English and French."""
    described = dict(metadata)

    def one(item: dict[str, Any]) -> dict[str, Any]:
        item = dict(item)
        for key in ("label", "help", "unit"):
            if isinstance(item.get(key), str):
                item[key] = in_both_languages(item[key])
        if item.get("choices"):
            item["choices"] = [{**c, "label": in_both_languages(c["label"])} for c in item["choices"]]
        if item.get("reasons"):
            item["reasons"] = {
                d: {**r, "statement": in_both_languages(r["statement"])} for d, r in item["reasons"].items()
            }
        return item

    for key in ("sections", "risk_bands", "features", "protected_attributes"):
        if isinstance(described.get(key), list):
            described[key] = [one(item) for item in described[key]]
    return described

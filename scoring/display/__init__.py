"""Values as people read them: one way to show each kind of value in the active language.

``values`` formats numbers, percentages, money, dates and bundle texts for pages, printed notices and model
cards; ``reasons`` reads a model version's reason statements and labels in a language. Machine formats (API
JSON, CSV exports) never go through here.
"""

from scoring.display.reasons import reason_library
from scoring.display.values import date, integer, moment, money, number, percent, text

__all__ = ["date", "integer", "moment", "money", "number", "percent", "reason_library", "text"]

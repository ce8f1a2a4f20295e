"""Loan outcomes in: what happened to each decided loan, from a CSV upload, the API or a command."""

"""Backtests: a model version and a credit policy replayed on the stored decisions of a period."""

"""Adverse-action notices: produced by the officer for a final decline, kept as issued, shown and downloaded."""

"""Audit: the append-only decision history for auditors, its CSV export, the model timeline and access log."""

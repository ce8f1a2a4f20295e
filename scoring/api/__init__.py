"""The DRF API of the scoring app."""

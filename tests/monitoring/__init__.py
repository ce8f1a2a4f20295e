"""Tests of scoring.monitoring."""

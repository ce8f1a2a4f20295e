"""Tests of scoring.engine."""

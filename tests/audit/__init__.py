"""Tests of scoring.audit."""

"""Tests of scoring.decisions."""

"""Tests of scoring.batch."""

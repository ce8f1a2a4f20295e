"""Tests of scoring.api."""

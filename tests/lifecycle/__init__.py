"""Tests of scoring.lifecycle."""

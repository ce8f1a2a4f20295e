"""Tests of accounts: the authorization matrix, log-in throttling and security settings."""

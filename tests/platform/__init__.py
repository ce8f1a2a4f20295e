"""Tests of the project as deployed: settings, compose and Prometheus files, logs, benchmarks."""

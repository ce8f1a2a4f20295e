"""Monitoring: Prometheus metrics, drift and fairness reports, daily rates and their charts."""

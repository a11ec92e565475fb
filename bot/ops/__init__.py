"""Operability: Prometheus metrics, loop heartbeats and readiness, and the /metrics, /healthz,
/readyz and /status endpoints.
"""

"""Anomaly review: small pure detectors (rules), the facts a record states (facts) and where an
expected price comes from (prices). The sweep that runs them is scheduler/anomalies.py."""

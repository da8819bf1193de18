"""`make lab`: the simulated world as a Prometheus exporter, a real Prometheus, and the cockpit.

Not part of the wheel: it needs prometheus-client (a test extra) and the Debian Prometheus.
"""

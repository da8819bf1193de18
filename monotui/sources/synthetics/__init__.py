"""Synthetic checks beside the canary: `[[rollouts.synthetics]]` of kind `blackbox` (results that
blackbox_exporter put in Prometheus) and `http` (probes monotui runs itself), each read per track
(baseline, canary, canary+flag). This package imports nothing on import: its modules are loaded
by the configuration (settings) and by the builder."""

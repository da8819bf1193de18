"""The in-cluster autopilot (`monotui autopilot`): unattended judgement with leader election.

- `names`: one `coordination.k8s.io/v1` Lease per rollout, named after the routed resource.
- `lease`, `microtime`: the Lease read and written compare-and-set, MicroTime as the API wants it.
- `elector`: client-go's acquire/renew/release over one Lease, on local clocks.
- `resume`: the state a new leader continues from, stored in the Lease with every renewal.
- `leadership`: one rollout's election thread, the gate its automation asks, its status.
- `window`: the cockpit's side: follow the Leases, defer to a live holder, show it.
- `jsonlog`, `metrics`, `endpoints`, `runner`: the process: JSON lines, /metrics, /healthz,
  /readyz, graceful shutdown.
"""

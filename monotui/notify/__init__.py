"""Notifications: `[[notify]]` sinks (Slack, Teams, Discord, a generic webhook) fed by the event
bus, and each action as a Kubernetes Event.

`settings` (the config models), `compose` (events to messages, one per state change, with the
snapshot's numbers: `message`, `wording`), the payload of each platform (`slack_payload`,
`teams_payload`, `discord_payload`, `webhook_payload`, escaped by `escape`), the delivery
(`courier`: its own thread, a rate limit, batching, retries; `spool`: the on-disk queue; `ledger`:
what was told, across restarts; `transport` and `slack_bot`: HTTP through the bounded client,
secrets from `secret`), `kube_events`, and the wiring (`build`, `notifier`, `attach`).

This package imports nothing heavy at import time: `monotui.config` imports `settings`.
"""

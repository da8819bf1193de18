"""monotui: a terminal cockpit for canary rollouts."""

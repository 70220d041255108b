"""The Slack side: the gateway (retries, pacing, lookups) and one publisher per surface."""

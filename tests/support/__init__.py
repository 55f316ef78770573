"""What the test tiers share: repository paths, waiting for a condition, example manifests, rule
YAML, promtool, SLO factories and the PromQL the dashboards and docs read."""

"""The read-only web UI: overview, SLO and SLA pages served from the resources' status.

`model` and `pages` (with `charts`) are pure: rows, states, filters and HTML from object bodies
and chart series. `data` reads what a page needs beyond the status (range queries for charts,
firing alerts) through the configured backends; `watch` keeps a cache of the objects for
`slo-operator ui` (the operator feeds its own from kopf's watch); `server` serves GET only.
"""

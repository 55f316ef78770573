"""Grafana dashboards generated from the API models and the recorded-series contract.

Pure: models in, dashboard JSON (plain dicts) out. It sits beside `convert`, above `rules` (whose
`series` module names every recorded series and label) and below `backends`.
"""

"""`slo-operator report`: evaluated statuses plus the recorded series behind them, as HTML and
Markdown for review cycles. `gather` reads (the evaluation engine, range queries) into `model`;
`render` is pure (charts and text from the model)."""

"""The background jobs `weir serve` runs as threads, where AWS runs Lambda functions on a
schedule: alert evaluation and delivery (`alerts`). They drive domain services and hold
no logic of their own beyond when to run them."""

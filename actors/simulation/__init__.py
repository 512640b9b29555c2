"""Market data, strategies, paper trading and the simulation driver."""

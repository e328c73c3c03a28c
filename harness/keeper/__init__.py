"""The liquidation keeper: what is liquidatable (health), the keeper's
ledger and its ports, and the standalone keeper's view of a chain."""

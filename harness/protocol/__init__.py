"""The protocol as the harness's tools see it: its standard markets, how
market parameters are written in YAML, where its vaults live, and one
reader of its whole state off a chain. Shared by the twin, the keeper and
the live tools; imports only chains/ and the model."""

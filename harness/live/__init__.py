"""Live networks: deploy configs, the resumable deploy, the manifest, the
code checks, the event indexer and the audit. Imports only chains/,
protocol/ and the model."""

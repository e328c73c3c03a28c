"""Chains: one interface (Chain, TxResult) over every backend - revm in
process, raw JSON-RPC, ape - plus the ABI codec, the compile cache and a
chain that fails on purpose. Imports nothing else from the harness."""

"""The isomargin harness: chain backends, the model-vs-chain twin, drills,
the keeper and live-network tools. Packages, lowest first: chains,
protocol, twin, keeper, drills, live (README.md, "Architecture").

Kept empty of imports: `import harness.chains.revm` loads only what it needs.
"""

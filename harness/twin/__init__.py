"""The twin: the protocol deployed on a chain with its model alongside,
driven in lockstep and compared (Twin), the standard world, the chain-side
invariants and the Hypothesis state machine shared by the stateful test
and scripts/bench_harness.py."""

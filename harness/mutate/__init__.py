"""Mutation testing of the contracts (and, through cosmic-ray, of the model).

How strong the harness is, measured: small faults are written into the
sources, one per mutant, and each mutant must be caught by the stateful
machine or the unit tests. A mutant nobody catches is either equivalent
(recorded, with a reason, in tests/mutation/equivalents.yaml) or a gap in
the tests.

    sources.py      the contracts as the compiler sees them: deployables, their modules, typed ASTs
    operators.py    mutation operators over Vyper's AST, as source-span edits
    mutant.py       a mutant: stable id, the edit, its diff
    pymutants.py    the model's mutants, from cosmic-ray's operators
    fingerprint.py  what "same bytecode" means (metadata stripped)
    sandbox.py      isolated copies of the repository, one per mutant
    probe.py        runs inside a copy: build, stateful fast path, tests
    runner.py       baseline, parallel probes, time limits
    report.py       JSON and Markdown reports, kill rates
    equivalents.py  the reviewed equivalents file and --check
    cli.py          `./isomargin mutate`, `ape run mutate`
"""

"""The mutation tool itself: each operator makes the mutation it names on
a small contract, mutants compile, unchanged code is recognised as
equivalent, ids are stable, and mutants of a kind the harness must catch
are killed end to end (in sandboxes: the real tree is never touched)."""
import json
import shutil
from pathlib import Path

import pytest
from vyper.compiler import compile_code

from harness.mutate import equivalents
from harness.mutate.fingerprint import fingerprint, strip_metadata
from harness.mutate.generate import contract_mutants
from harness.mutate.mutant import write_mutated
from harness.mutate.runner import Config, Runner
from harness.mutate.sources import analyse

ROOT = Path(__file__).resolve().parents[2]

SNIPPET = '''
# @version 0.4.3
LIMIT: constant(uint256) = 7
UNUSED: constant(uint256) = 5
BPS: constant(uint256) = 10_000

total: public(uint256)
owner: public(address)
names: public(DynArray[uint256, 5])
label: public(String[10])


@internal
@pure
def _split(a: uint256, b: uint256) -> uint256:
    return a * 3 + b


@internal
@pure
def _mixed(a: uint256, who: address) -> uint256:
    return a


@external
def poke(x: uint256, d: uint256) -> uint256:
    assert x > 0, "zero"
    if x < LIMIT:
        self.total = x
    if x >= BPS:
        self.total += x
    local: uint256 = x - 1
    fee: uint256 = (x * d + BPS - 1) // BPS
    share: uint256 = x * d // BPS
    if d == 2:
        local = min(local, fee)
    return self._split(local, share) + self._mixed(fee, msg.sender) + max(fee, share)
'''


def _tree(tmp_path, source=SNIPPET, name="Snippet.vy"):
    (tmp_path / "contracts").mkdir(exist_ok=True)
    (tmp_path / "contracts" / name).write_text(source)
    return tmp_path


def _changes(root, operator):
    return [(m.original, m.replacement, m) for m in contract_mutants(root, operators=[operator])]


def _line_of(m, text):
    return m.apply(text).splitlines()[m.line - 1].strip()


@pytest.fixture
def snippet(tmp_path):
    return _tree(tmp_path)


def test_boundary_swaps_strict_and_inclusive_comparisons(snippet):
    got = {(o, r, _line_of(m, SNIPPET)) for o, r, m in _changes(snippet, "boundary")}
    assert got == {(">", ">=", 'assert x >= 0, "zero"'), ("<", "<=", "if x <= LIMIT:"), (">=", ">", "if x > BPS:")}


def test_equality_negates(snippet):
    assert [(o, r, _line_of(m, SNIPPET)) for o, r, m in _changes(snippet, "equality")] == \
        [("==", "!=", "if d != 2:")]


def test_arithmetic_swaps_plus_minus_and_times_floordiv(snippet):
    lines = {_line_of(m, SNIPPET) for _, _, m in _changes(snippet, "arithmetic")}
    assert "return a // 3 + b" in lines
    assert "return a * 3 - b" in lines
    assert "self.total -= x" in lines
    assert "local: uint256 = x + 1" in lines
    assert "share: uint256 = x * d * BPS" in lines


def test_rounding_swaps_ceiling_and_floor(snippet):
    lines = {_line_of(m, SNIPPET) for _, _, m in _changes(snippet, "rounding")}
    assert "fee: uint256 = (x * d) // BPS" in lines                     # ceil -> floor
    assert "share: uint256 = (x * d + BPS - 1) // BPS" in lines         # floor -> ceil
    # The ceiling's own `// BPS` is not turned into a double ceiling.
    assert not any("BPS - 1 + BPS - 1" in line for line in lines)


def test_remove_assert_and_state_writes(snippet):
    asserts = [_line_of(m, SNIPPET) for _, _, m in _changes(snippet, "remove-assert")]
    assert asserts == ["pass"]
    writes = [m for _, _, m in _changes(snippet, "remove-state-write")]
    assert sorted(m.original for m in writes) == ["self.total += x", "self.total = x"]
    # A local variable is no state: `local = min(...)` stays.
    assert all("local" not in m.original for m in writes)


def test_swap_arguments_only_of_the_same_type(snippet):
    swaps = [(o, r) for o, r, _ in _changes(snippet, "swap-arguments")]
    assert ("local, share", "share, local") in swaps
    assert ("local, fee", "fee, local") not in swaps                    # min commutes: always equivalent
    assert not any("msg.sender" in o for o, _ in swaps)                 # uint256 and address: never


def test_constants_off_by_one_but_not_type_sizes(snippet):
    changes = {(o, r) for o, r, _ in _changes(snippet, "constant-off-by-one")}
    assert {("7", "8"), ("7", "6"), ("3", "4"), ("3", "2"), ("2", "3"), ("2", "1")} <= changes
    assert ("10_000", "10001") in changes
    # DynArray[uint256, 5] and String[10] are types, not values.
    assert ("10", "11") not in changes
    assert sorted(r for o, r in changes if o == "5") == ["4", "6"]      # UNUSED only, not the array bound


def test_min_max_swap(snippet):
    assert sorted((o, r) for o, r, _ in _changes(snippet, "min-max")) == [("max", "min"), ("min", "max")]


def test_every_mutant_of_the_snippet_compiles_or_is_a_type_change(snippet):
    failures = []
    for m in contract_mutants(snippet):
        try:
            compile_code(m.apply(SNIPPET), output_formats=["bytecode_runtime"])
        except Exception as err:
            failures.append((m.operator, m.original, m.replacement, type(err).__name__))
    # Swaps keep types and constants stay in range: everything compiles here.
    assert failures == []


def test_ids_are_stable_and_distinct(snippet):
    a = [m.id for m in contract_mutants(snippet)]
    b = [m.id for m in contract_mutants(snippet)]
    assert a == b and len(set(a)) == len(a)
    # An unrelated file appearing does not change the snippet's ids.
    _tree(snippet, "# @version 0.4.3\nx: public(uint256)\n", "Other.vy")
    assert {m.id for m in contract_mutants(snippet) if m.path.endswith("Snippet.vy")} == set(a)


def _fp(source):
    out = compile_code(source, output_formats=["abi", "bytecode", "bytecode_runtime"])
    return fingerprint(out)


def test_equivalence_is_same_code_modulo_metadata(snippet):
    unused = next(m for m in contract_mutants(snippet, operators=["constant-off-by-one"])
                  if m.original == "5" and m.replacement == "6")
    assert _fp(unused.apply(SNIPPET)) == _fp(SNIPPET)                  # an unused constant: equivalent
    assert _fp(SNIPPET + "\n# a comment\n") == _fp(SNIPPET)            # metadata (integrity hash) ignored
    boundary = contract_mutants(snippet, operators=["boundary"])[0]
    assert _fp(boundary.apply(SNIPPET)) != _fp(SNIPPET)
    code = compile_code(SNIPPET, output_formats=["bytecode"])["bytecode"]
    assert len(strip_metadata(code)) < len(code[2:])


def test_modules_are_mutated_and_rebuild_their_importers(tmp_path):
    root = _tree(tmp_path, "# @version 0.4.3\nfrom modules import lib\n\n@external\ndef f(x: uint256) -> uint256:\n"
                 "    return lib.g(x)\n", "Main.vy")
    (root / "contracts" / "modules").mkdir()
    (root / "contracts" / "modules" / "lib.vy").write_text(
        "@internal\n@pure\ndef g(x: uint256) -> uint256:\n    return x + 1\n")
    tree = analyse(root)
    assert sorted(tree.deployables) == ["Main"]                          # modules/ holds no deployable
    lib = [m for m in contract_mutants(root, tree=tree) if m.path == "contracts/modules/lib.vy"]
    assert lib and all(m.affects == ["Main"] for m in lib)


def test_a_mutant_is_written_into_a_copy_only(snippet, tmp_path_factory):
    copy = tmp_path_factory.mktemp("copy")
    shutil.copytree(snippet / "contracts", copy / "contracts")
    m = contract_mutants(snippet, operators=["min-max"])[0]
    write_mutated(copy, m)
    assert (snippet / m.path).read_text() == SNIPPET
    assert (copy / m.path).read_text() == m.apply(SNIPPET)


def test_check_fails_on_unlisted_survivors_only(tmp_path):
    rows = [{"id": "aaa", "status": "survived", "where": "x:1:1", "operator": "boundary", "original": "<",
             "replacement": "<=", "detail": None},
            {"id": "bbb", "status": "survived", "where": "x:2:1", "operator": "min-max", "original": "min",
             "replacement": "max", "detail": None},
            {"id": "ccc", "status": "killed"}]
    path = tmp_path / "equivalents.yaml"
    path.write_text("equivalents:\n  - id: bbb\n    reason: both operands are equal on every path\n")
    equivalents.apply(rows, equivalents.load(path))
    assert [r["id"] for r in equivalents.failures(rows)] == ["aaa"]
    assert rows[1]["status"] == "equivalent" and "both operands" in rows[1]["detail"]
    path.write_text("equivalents:\n  - id: bbb\n")
    with pytest.raises(ValueError):
        equivalents.load(path)                                          # no reason, no entry


def test_the_reviewed_equivalents_file_is_well_formed():
    equivalents.load(ROOT / equivalents.DEFAULT)


# ---------------------------------------------------------------- end to end

def _known_killable():
    """Rounding risk.vy's fee ceilings down: every fee rounds against the
    trader, every trade pays one, and the model, unmutated, still rounds
    up, so the stateful fast path must see the difference within its
    budget. (Not every ceiling is that exposed: exposure.vy's valuation
    ceiling and risk.vy's loss ceiling survived 30 x 30 steps, which is
    what the mutation report is for.)"""
    ceil_to_floor = [m for m in contract_mutants(ROOT, "modules/risk.vy", ["rounding"])
                     if "- 1" in m.original and "- 1" not in m.replacement and "BPS - 1" in m.original]
    return ceil_to_floor[:2]


def test_known_killable_mutants_are_killed_end_to_end(tmp_path):
    chosen = _known_killable()
    assert len(chosen) >= 1, "risk.vy's fees no longer round up with the ceiling idiom: choose other mutants"
    runner = Runner(ROOT, Config(jobs=2, timeout=300, examples=30, steps=30, unit=False, workdir=tmp_path))
    try:
        runner.baseline("contract", sorted(analyse(ROOT).deployables))
        results = runner.run(chosen)
    finally:
        runner.close()
    verdicts = [(m.where, r["status"], r.get("killed_by"), r.get("detail")) for m, r in zip(chosen, results)]
    assert all(r["status"] == "killed" for r in results), json.dumps(verdicts, indent=1)
    assert all("stateful" in r["killed_by"] for r in results)
    # The real tree is as it was.
    assert all(m.original in (ROOT / m.path).read_text() for m in chosen)


def test_tests_naming_the_mutated_function_run_first(tmp_path):
    from harness.mutate.probe import _ordered
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    (tmp_path / "tests" / "test_twins.py").write_text("")
    (tmp_path / "tests" / "unit" / "test_a.py").write_text("def test_x(): pass\n")
    (tmp_path / "tests" / "unit" / "test_b.py").write_text("engine.liquidate(p)\nengine.liquidate(q)\n")
    (tmp_path / "tests" / "unit" / "test_c.py").write_text("liquidated = 1  # a longer word is no match\n")
    got = _ordered(tmp_path, ["tests/test_twins.py", "tests/unit"], ["liquidate", "Engine"])
    assert got == ["tests/test_twins.py", "tests/unit/test_b.py", "tests/unit/test_a.py", "tests/unit/test_c.py"]
    assert _ordered(tmp_path, ["tests/unit"], []) == ["tests/unit"]

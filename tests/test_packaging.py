"""Packaging: `model` and `harness` as installed packages (pyproject.toml, `./isomargin setup`).

The import checks run in a fresh interpreter from a directory outside the checkout, with
no PYTHONPATH: tests/conftest.py puts the repository on sys.path for the suite itself,
which would hide an install that does not work for anyone else.
"""
import ast
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DIST = "isomargin"


def _run_outside(tmp_path, code, **kw):
    """`python -c code` in this environment's interpreter, from tmp_path, repository off the path."""
    assert ROOT not in tmp_path.resolve().parents, "tmp_path must be outside the checkout"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, **kw)


def _requirement_lines(path):
    """requirements.txt's requirements, comments and blank lines dropped, whitespace normalised."""
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(re.sub(r"\s+", "", line))
    return out


def _core_requirements():
    """The installed distribution's unconditional requirements (those not behind an extra)."""
    reqs = importlib.metadata.requires(DIST) or []
    return [r for r in reqs if not re.search(r"\bextra\s*==", r)]


def test_model_and_harness_import_from_outside_the_checkout(tmp_path):
    code = """
import json
import harness, harness.protocol.markets, model
from model import MarketParams
p = MarketParams(initial_margin_bps=1_000, maintenance_margin_bps=500, open_fee_bps=10, close_fee_bps=10,
                 liquidation_fee_bps=100, min_liquidation_reward=5 * 10**6, insurance_share_bps=2_000,
                 max_profit_bps=30_000, borrow_rate=0, staleness=3_600, min_collateral=10 * 10**6, oi_cap=10**15)
print(json.dumps({"model": model.__file__, "harness": harness.__file__, "params": p.as_tuple()}))
"""
    r = _run_outside(tmp_path, code)
    assert r.returncode == 0, f"import from {tmp_path} failed (is the package installed? ./isomargin setup):\n{r.stderr}"
    got = json.loads(r.stdout.strip().splitlines()[-1])
    # The editable install must resolve to this checkout, not to some other copy on the path.
    assert Path(got["model"]).resolve() == ROOT / "model" / "__init__.py"
    assert Path(got["harness"]).resolve() == ROOT / "harness" / "__init__.py"
    assert got["params"] == [1_000, 500, 10, 10, 100, 5 * 10**6, 2_000, 30_000, 0, 3_600, 10 * 10**6, 10**15]


def test_the_core_install_has_no_dependencies_and_the_harness_extra_is_requirements_txt():
    assert _core_requirements() == [], "the model must install without chain dependencies"
    harness_extra = sorted(re.sub(r"\s+", "", r.split(";", 1)[0])
                           for r in importlib.metadata.requires(DIST) if re.search(r'extra\s*==\s*"harness"', r))
    # requirements.txt stays the one list of pins: the extra is read from it, never a copy.
    assert harness_extra == sorted(_requirement_lines(ROOT / "requirements.txt"))


def _allowed_third_party():
    """Import names of the core install's declared dependencies (none today)."""
    declared = {re.split(r"[\s;<>=!~\[]", r, maxsplit=1)[0].lower().replace("_", "-") for r in _core_requirements()}
    return {top for top, dists in importlib.metadata.packages_distributions().items()
            if any(d.lower().replace("_", "-") in declared for d in dists)}


def test_model_imports_only_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"model"} | _allowed_third_party()
    files = sorted((ROOT / "model").rglob("*.py"))
    assert len(files) > 20, files      # a wrong root would pass vacuously
    bad = []
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(), filename=str(f))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
                  and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("__import__", "import_module")):
                # A dynamic import would slip past the walk: model/ has none, keep it so.
                bad.append(f"{f.relative_to(ROOT)}:{node.lineno}: dynamic import")
                continue
            else:
                continue
            bad += [f"{f.relative_to(ROOT)}:{node.lineno}: import {n}" for n in names
                    if n.split(".")[0] not in allowed]
    assert bad == [], "model/ must stay on the standard library (pyproject.toml declares no dependency):\n" + "\n".join(bad)


def test_importing_the_model_loads_no_third_party_module(tmp_path):
    # The runtime view of the rule above: what `import model` drags in, transitively.
    code = """
import json, sys
before = set(sys.modules)
import model
print(json.dumps(sorted({m.split(".")[0] for m in set(sys.modules) - before})))
"""
    r = _run_outside(tmp_path, code)
    assert r.returncode == 0, r.stderr
    loaded = json.loads(r.stdout.strip().splitlines()[-1])
    assert "model" in loaded
    assert [m for m in loaded if m != "model" and m not in sys.stdlib_module_names] == []


VENV = ROOT / ".venv"


def _npm_anvil():
    """The platform binary `npm ci` installed, or None when setup ran without npm."""
    for cand in sorted(ROOT.glob("node_modules/@foundry-rs/anvil-*/bin/anvil")):
        if os.access(cand, os.X_OK) and subprocess.run([cand, "--version"], capture_output=True).returncode == 0:
            return cand.resolve()
    return None


def test_an_activated_venv_finds_anvil_as_ape_foundry_does(tmp_path):
    """Issue 10 item 4: `source .venv/bin/activate && ape test --network ethereum:local:foundry`
    raised FoundryNotInstalledError, anvil being only on the wrapper's PATH."""
    anvil = _npm_anvil()
    if anvil is None:
        pytest.skip("no anvil under node_modules: setup ran without npm (ISOMARGIN_SKIP_ANVIL=1)")
    assert (VENV / "bin" / "activate").is_file(), "no .venv: run ./isomargin setup"
    # A bare PATH, as in a new shell: only the activation may bring anvil in. shutil.which is
    # ape-foundry's own lookup (FoundryProvider.anvil_bin), then it runs `anvil --version`.
    script = (f'source "{VENV}/bin/activate" && python -c "import shutil; print(shutil.which(\'anvil\'))"'
              ' && anvil --version')
    r = subprocess.run(["bash", "-c", script], cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    found, version = r.stdout.splitlines()[0], r.stdout.splitlines()[1]
    assert Path(found) == VENV / "bin" / "anvil"
    assert Path(found).resolve() == anvil        # the pinned npm binary, not some other anvil
    assert version.startswith("anvil Version: "), version


def test_setup_again_installs_nothing(tmp_path):
    """Setup is idempotent: a second run is all stamp checks, no pip, no npm, no relinking."""
    runs = [subprocess.run([str(ROOT / "isomargin"), "setup"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=900) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    last = runs[-1].stderr
    assert "installing" not in last and "linked" not in last, last
    assert "setup ok: python" in last and "up to date" in last, last
    if _npm_anvil() is not None:
        assert (VENV / "bin" / "anvil").resolve() == _npm_anvil()


def _readme_model_example():
    """The python block of README.md's "Using the model alone"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Using the model alone\n", 1)[1].split("\n## ", 1)[0]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    assert m, "README's 'Using the model alone' has no python block"
    return m.group(1)


def test_the_readme_model_example_builds_market_params_by_keyword():
    from model import MarketParams
    fields = set(MarketParams.__dataclass_fields__)
    calls = [n for n in ast.walk(ast.parse(_readme_model_example()))
             if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "MarketParams"]
    assert calls, "the example builds no MarketParams"
    for c in calls:
        # Twelve unnamed integers were unreadable and silently wrong when fields moved.
        assert c.args == [] and {k.arg for k in c.keywords} == fields


def test_the_readme_model_example_runs_from_outside_the_checkout_and_prints_what_it_says(tmp_path):
    code = _readme_model_example()
    # Each print's trailing comment is what the README promises it prints.
    expected = [line.split("#", 1)[1].strip() for line in code.splitlines()
                if line.lstrip().startswith("print(") and "#" in line]
    assert len(expected) >= 3, expected
    r = _run_outside(tmp_path, code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == expected


def test_the_model_imports_with_no_site_packages_at_all(tmp_path):
    # What the core install promises a project without ape, vyper or web3: -I -S gives the
    # interpreter the standard library only, then the checkout is the one path added.
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import model
from model import MarketParams, Protocol
p = Protocol(deployer="owner", guardian="guardian")
print(type(p.engine).__name__, MarketParams.__dataclass_fields__.__len__())
"""
    r = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["Engine", "12"]

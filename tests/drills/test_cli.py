"""`ape run drill` as a user runs it: arguments, report folder, errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APE = str(Path(sys.executable).with_name("ape"))


def _ape_run(*args):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([APE, "run", "drill", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_offline_drill_from_the_command_line(tmp_path):
    out = tmp_path / "report"
    p = _ape_run("tests/drills/data/tiny.yaml", "--backend", "model", "--out", str(out), "--no-progress")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "tiny on model: ok" in p.stdout and f"report: {out}/report.md" in p.stdout
    f = json.loads((out / "report.json").read_text())
    assert f["format"] == "isomargin-drill-report/2" and f["positions"]["liquidated"] == 2
    assert (out / "price.png").stat().st_size > 0
    # Again into the same folder, without plots: the first run's PNGs go, the user's own file stays.
    (out / "notes.txt").write_text("mine")
    p = _ape_run("tests/drills/data/tiny.yaml", "--backend", "model", "--out", str(out), "--no-progress", "--no-plots")
    assert p.returncode == 0, p.stderr[-2000:]
    assert not list(out.glob("*.png")) and (out / "notes.txt").read_text() == "mine"
    assert (out / "report.json").exists()


def test_a_broken_scenario_is_refused_with_its_place(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("markets: {ETH: {price: 2000, path: [{gap: {drop_pct: 150}}]}}\n"
                   "liquidity: {deposit: 1}\ntraders: {cohorts: [{count: 1, leverage: 2, collateral: 10}]}\n")
    p = _ape_run(str(bad), "--backend", "model", "--no-progress")
    assert p.returncode != 0
    assert "markets.ETH.path[0].gap.drop_pct: must be in (0, 100)" in p.stderr


def test_a_drill_over_raw_json_rpc_agrees_with_the_model_backend(tmp_path):
    """--backend rpc: a fresh anvil, driven over raw JSON-RPC, the model
    checked every step; its figures are the model backend's."""
    reports = {}
    for backend in ("rpc", "model"):
        out = tmp_path / backend
        p = _ape_run("tests/drills/data/tiny.yaml", "--backend", backend, "--out", str(out), "--no-progress",
                     "--no-plots")
        assert p.returncode == 0, p.stderr[-2000:]
        reports[backend] = json.loads((out / "report.json").read_text())
    rpc, model = reports["rpc"], reports["model"]
    assert rpc["backend"].startswith("rpc:http://127.0.0.1:")
    assert rpc["model_agreement"]["disagreements"] == 0 and rpc["model_agreement"]["steps_checked"] > 0
    assert rpc["positions"] == model["positions"] and rpc["positions"]["liquidated"] == 2


def test_a_drill_without_its_node_says_so_in_one_line(tmp_path):
    p = _ape_run("tests/drills/data/tiny.yaml", "--backend", "rpc", "--rpc", "http://127.0.0.1:9", "--no-progress")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "no JSON-RPC node at http://127.0.0.1:9" in p.stderr
    p = _ape_run("tests/drills/data/tiny.yaml", "--rpc", "http://127.0.0.1:9", "--backend", "revm", "--no-progress")
    assert p.returncode == 2 and "--rpc is for --backend rpc" in p.stderr

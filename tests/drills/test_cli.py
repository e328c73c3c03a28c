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

"""`ape run drill compare A B`: the figures that moved between two reports,
amounts in USDC beside base units, and one line (exit 2) for a report that
is missing or not a report."""
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from harness.drills.compare import CompareError, compare, load, render
from harness.drills.drill import run_drill
from harness.drills.report import figures, write_report
from harness.drills.scenario import load_scenario

HERE = Path(__file__).parent
TINY = HERE / "data" / "tiny.yaml"
ROOT = HERE.parents[1]
APE = str(Path(sys.executable).with_name("ape"))


def _figures(**params):
    """The tiny drill on the model, its ETH market's parameters changed."""
    s = load_scenario(TINY)
    if params:
        eth = s.markets[0]
        s = replace(s, markets=(replace(eth, params=replace(eth.params, **params)),) + tuple(s.markets[1:]))
    r = run_drill(s, "model", None, progress=False)
    assert r.status == "ok", r.failure
    return r, figures(r)


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """The tiny drill as it is, and with the insurance share at 50% (20% in the scenario)."""
    out = {}
    for name, params in (("a", {}), ("b", {"insurance_share_bps": 5_000})):
        r, f = _figures(**params)
        folder = tmp_path_factory.mktemp(name)
        write_report(r, folder, plots=False)
        out[name] = (folder, f)
    return out


def test_the_same_report_compares_equal(two):
    _, f = two["a"]
    c = compare(f, f)
    assert c.figures == [] and c.scenario == [] and c.unchanged > 20
    assert "Every figure is the same" in render(c)


def test_what_moved_is_listed_with_its_difference(two):
    (_, fa), (_, fb) = two["a"], two["b"]
    c = compare(fa, fb)
    moved = {x.path: x for x in c.figures}
    # The insurance cuts move between the fund and the pool; the positions do not.
    cuts = moved["insurance_fund.cuts_received"]
    assert (cuts.a, cuts.b) == (fa["insurance_fund"]["cuts_received"], fb["insurance_fund"]["cuts_received"])
    assert cuts.b > cuts.a and cuts.delta == cuts.b - cuts.a and cuts.amount
    assert "positions.liquidated" not in moved and "positions.opened" not in moved
    assert any("insurance_share_bps" in x.path for x in c.scenario)
    text = render(c)
    usdc = f"{cuts.b / 10**6:,.6f} USDC ({cuts.b})"
    assert f"| `insurance_fund.cuts_received` |" in text and usdc in text


def test_a_report_of_another_format_is_refused(two):
    _, f = two["a"]
    with pytest.raises(CompareError, match="different formats"):
        compare(f, {**f, "format": "isomargin-drill-report/1"})


def test_compare_from_the_command_line(two, tmp_path):
    (a, _), (b, _) = two["a"], two["b"]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = tmp_path / "diff.md"
    p = subprocess.run([APE, "run", "drill", "compare", str(a), str(b / "report.json"), "--out", str(out)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "insurance_fund.cuts_received" in p.stdout and out.read_text() == p.stdout
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "report.json").write_text("{not json")
    for args, said in (([str(a)], "compare takes two reports"),
                       ([str(a), str(tmp_path / "nowhere")], "no drill report there"),
                       ([str(a), str(tmp_path / "broken")], "not a drill report")):
        p = subprocess.run([APE, "run", "drill", "compare", *args], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
        assert p.returncode == 2 and said in p.stderr and "Traceback" not in p.stderr, (args, p.stderr[-1500:])

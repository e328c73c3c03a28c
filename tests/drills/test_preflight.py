"""Refusals found on the model before anything is deployed: leverage a
market cannot take, and drills in which most positions would be refused."""
from dataclasses import replace
from pathlib import Path

from harness.chains.revm import RevmChain
from harness.drills.drill import run_drill
from harness.drills.preflight import LEVERAGE_REASON, preflight
from harness.drills.scenario import load_scenario
from .test_cli import _ape_run

ROOT = Path(__file__).resolve().parents[2]
TINY = Path(__file__).parent / "data" / "tiny.yaml"

# ETH's standard initial margin is 10%: 5x fits, 12x and 20x do not.
SCENARIO = """
markets:
  ETH:
    price: 2000
    path: [{flat: 1}, {crash: {steps: 2, drop_pct: 10}}]
liquidity: {deposit: 1_000_000}
traders:
  accounts: 2
  cohorts:
    - {count: COUNT_A, markets: ETH, leverage: LEV_A, collateral: 500}
    - {count: COUNT_B, markets: ETH, leverage: LEV_B, collateral: 500}
keepers: {count: 1}
"""


def _scenario(tmp_path, count_a=6, lev_a=5, count_b=2, lev_b=12):
    p = tmp_path / "lev.yaml"
    p.write_text(SCENARIO.replace("COUNT_A", str(count_a)).replace("LEV_A", str(lev_a))
                 .replace("COUNT_B", str(count_b)).replace("LEV_B", str(lev_b)))
    return p


def test_leverage_beyond_the_initial_margin_is_named_with_its_cohort(tmp_path):
    pf = preflight(load_scenario(_scenario(tmp_path)))
    assert pf.planned == 8 and pf.rejected == {LEVERAGE_REASON: 2} and not pf.mostly_rejected
    (lev,) = pf.leverage
    assert (lev.market, lev.initial_margin_bps, lev.refused, lev.sources) == ("ETH", 1_000, 2, ("traders.cohorts[1]",))
    assert (lev.highest_refused_tenths, lev.highest_accepted_tenths) == (120, 50)
    (message,) = pf.problems()
    assert "2 of 8 positions ask for more leverage" in message
    assert "ETH: initial_margin_bps 1000; 2 from traders.cohorts[1] at up to 12x; the most accepted in this drill is 5x" \
        in message


def test_every_position_refused_is_both_a_leverage_and_a_mostly_rejected_problem(tmp_path):
    pf = preflight(load_scenario(_scenario(tmp_path, lev_a=20, lev_b=20)))
    assert pf.rejected == {LEVERAGE_REASON: 8} and pf.mostly_rejected
    assert pf.leverage[0].highest_accepted_tenths is None
    leverage, most = pf.problems()
    assert "none of its positions is accepted" in leverage
    assert "8 of 8 positions would be rejected" in most


def test_most_refused_for_another_reason_is_caught_without_a_leverage_message():
    # A pool too small for the positions' reserves: the engine's liquidity check refuses them.
    pf = preflight(replace(load_scenario(TINY), lp_deposit=1_000 * 10**6))
    assert pf.leverage == () and pf.mostly_rejected
    assert LEVERAGE_REASON not in pf.rejected and pf.rejected_total > pf.planned / 2
    (message,) = pf.problems()
    assert "would be rejected" in message and next(iter(pf.rejected)) in message


def test_the_shipped_default_drill_passes():
    pf = preflight(load_scenario(ROOT / "drills" / "default.yaml"))
    assert pf.planned == 40 and pf.problems() == []


def test_the_model_refuses_what_the_chain_refuses(tmp_path):
    s = load_scenario(_scenario(tmp_path, count_a=3, lev_a=9.5, count_b=3, lev_b=10.5))
    pf = preflight(s)
    r = run_drill(s, "revm", RevmChain(n_accounts=s.accounts_needed()), progress=False)
    assert r.status == "ok", r.failure
    on_chain = {}
    for p in r.positions:
        if p.position_id is None:
            on_chain[p.reject_reason] = on_chain.get(p.reject_reason, 0) + 1
    assert on_chain == pf.rejected and pf.rejected.get(LEVERAGE_REASON, 0) > 0


def test_the_cli_stops_before_deploying_and_runs_when_allowed(tmp_path):
    path = _scenario(tmp_path, lev_a=20, lev_b=20)
    out = tmp_path / "report"
    p = _ape_run(str(path), "--backend", "revm", "--out", str(out), "--no-progress", "--no-plots")
    assert p.returncode == 2, p.stderr[-2000:]
    assert "positions ask for more leverage" in p.stderr and "Nothing was deployed" in p.stderr
    assert not out.exists()
    p = _ape_run(str(path), "--backend", "model", "--out", str(out), "--no-progress", "--no-plots",
                 "--allow-rejections")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "warning:" in p.stderr and "8 of 8 positions would be rejected" in p.stderr
    assert (out / "report.json").exists()


def test_an_offline_drill_opened_by_its_preflight_runs_on_to_the_same_report():
    from harness.drills.drill import Drill
    from harness.drills.report import figures
    s = load_scenario(TINY)
    offline = Drill(s, "model", None, progress=False)
    assert preflight(s, offline).problems() == []
    once, fresh = figures(offline.run()), figures(run_drill(s, "model", None, progress=False))
    once.pop("timing"), fresh.pop("timing")
    assert once == fresh and once["positions"]["liquidated"] == 2

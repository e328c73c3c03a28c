"""A drill's report: figures checked by hand on a tiny scenario, the same
report from the same seed, and the offline run's report in the same format.

tests/drills/data/tiny.yaml, no borrow fee, ETH from 2,000 gapping to 1,800
at step 2 (amounts in USDC; the report holds them x 1e6):

  A  long 9x:   paid 1,000: size 9,000, open fee 9, collateral 991.
                At 1,800 PnL -900: equity 91 < maintenance 450.
                Reward min(1% x 9,000, 991) = 90; the rest (1) pays the
                insurance fund 20% (0.2); the pool gets 991 - 90 - 0.2 = 900.8.
  B  long 9.5x: paid 1,000: size 9,500, open fee 9.5, collateral 990.5.
                At 1,800 PnL -950: equity 40.5; reward 95; 40.5 - 95 = -54.5:
                bad debt 54.5. Its shortfall (475 - 40.5 = 434.5) is deeper
                than A's (450 - 91 = 359), so the keeper takes it first: the
                insurance fund (50) covers 50, the pool absorbs 4.5; A's cut
                then leaves the fund at 0.2.
  C  long 2x:   paid 1,000: size 2,000, fee 2, collateral 998. Healthy at
                1,800 (798 >= 100); closed at the end: 998 - 200 - 2 = 796 back.
  D  short 5x:  paid 1,000: size 5,000, fee 5, collateral 995; closed at the
                end: 995 + 500 - 5 = 1,490 back (495 of it from the pool).

Pool: 100,000 deposit + 25.5 open fees + 895.5 (B's vault after the reward)
+ 50 (insurance cover) + 900.8 (A) + 202 (C's loss and fee) - 495 (D's gain)
= 101,578.8.
"""
import json
from pathlib import Path

import pytest

from harness.drills.drill import run_drill
from harness.drills.report import figures, write_report
from harness.chains.revm import RevmChain
from harness.drills.scenario import load_scenario

HERE = Path(__file__).parent
TINY = HERE / "data" / "tiny.yaml"
DEFAULT = HERE.parents[1] / "drills" / "default.yaml"
U = 10**6
# Figures only a chain can give; everything else must match an offline run.
CHAIN_ONLY = {"backend", "gas", "model_agreement", "timing"}


def _run(path, backend, **kw):
    s = load_scenario(path, **kw)
    chain = RevmChain(n_accounts=s.accounts_needed()) if backend == "revm" else None
    return run_drill(s, backend, chain, progress=False)


@pytest.fixture(scope="module")
def tiny():
    r = _run(TINY, "revm")
    assert r.status == "ok", r.failure
    return r, figures(r)


def test_positions_and_bad_debt_by_hand(tiny):
    _, f = tiny
    p = f["positions"]
    assert (p["opened"], p["rejected"], p["liquidated"]) == (4, 0, 2)
    assert (p["liquidated_at_bankruptcy"], p["closed_by_trader_with_bad_debt"]) == (1, 0)     # B
    assert (p["closed_by_trader"], p["open_at_end"]) == (2, 0)
    assert f["bad_debt"] == {"created": 54_500_000, "from_liquidations": 54_500_000, "from_trader_closes": 0,
                             "covered_by_insurance": 50 * U, "absorbed_by_pool": 4_500_000}
    assert f["liquidator_rewards"] == {"total": 185 * U, "by_keeper": {"keeper-0": 185 * U}}


def test_funds_by_hand(tiny):
    _, f = tiny
    assert f["insurance_fund"] == {"start": 50 * U, "end": 200_000, "min": 200_000,
                                   "cuts_received": 200_000, "covers_paid": 50 * U}
    assert f["pool"]["start_assets"] == 100_000 * U
    assert f["pool"]["end_assets"] == 101_578_800_000


def test_liquidation_order_delay_and_losses_by_hand(tiny):
    r, f = tiny
    assert [(e.step, e.reward, e.bad_debt, e.insurance_cover, e.insurance_cut, e.to_pool) for e in r.liquidations] == [
        (2, 95 * U, 54_500_000, 50 * U, 0, 895_500_000),          # B first: deepest
        (2, 90 * U, 0, 0, 200_000, 900_800_000),                  # then A
    ]
    assert f["delay_steps"] == {"max": 0, "mean": 0.0, "liquidations": 2, "missed_windows": 0,
                                "liquidatable_at_end": 0}
    # Losses: A 1,000, B 1,000, C 204, D -490 (a gain).
    assert sorted(p.loss for p in r.positions) == [-490 * U, 204 * U, 1_000 * U, 1_000 * U]
    loss = f["losses"]
    assert (loss["total"], loss["mean"], loss["median"], loss["p90"], loss["max"]) == (
        1_714 * U, 428_500_000.0, 1_000 * U, 1_000 * U, 1_000 * U)
    # As a share of stake: D -49% (bin -50..-40), C 20.4% (20..30), A and B 100% (last bin).
    counts = loss["histogram"]["counts"]
    assert (counts[5], counts[12], counts[19], sum(counts)) == (1, 1, 2, 4)


def test_series_and_checks(tiny):
    _, f = tiny
    s = f["series"]
    # Before the opens, after them, three price steps, after the final closes.
    assert s["phase"] == ["start", "opened", "step", "step", "step", "closed"]
    assert s["step"] == [0, 0, 1, 2, 3, 4]
    assert s["price"]["ETH"] == [2_000 * 10**8] * 3 + [1_800 * 10**8] * 3
    assert s["liquidatable"] == [0, 0, 0, 2, 0, 0] and s["liquidations"] == [0, 0, 0, 2, 0, 0]
    assert s["open_positions"] == [0, 4, 4, 2, 2, 0]
    a = f["model_agreement"]
    # Checked after setup, after opening, after each of 3 steps and after the closes.
    assert (a["checked"], a["steps_checked"], a["disagreements"]) == (True, 6, 0)
    assert (a["isolation_mode"], a["isolation_checks"]) == ("tx", 2)
    g = f["gas"]
    assert g["measured"] and g["liquidations_measured"] == 2 and g["liquidations_total"] > 0
    assert g["liquidation_cost_wei"] == g["liquidations_total"] * 10 * 10**9
    k = f["keepers"]["keeper-0"]
    assert (k["liquidated"], k["attempts"], k["lost_races"], k["rewards"]) == (2, 2, 0, 185 * U)


def test_same_seed_same_report(tmp_path):
    # Cohorts drawn from the seed: the default scenario exercises the randomness.
    a, b = _run(DEFAULT, "revm"), _run(DEFAULT, "revm")
    pa, pb = write_report(a, tmp_path / "a"), write_report(b, tmp_path / "b")
    ja, jb = json.loads(pa["json"].read_text()), json.loads(pb["json"].read_text())
    ja.pop("timing"), jb.pop("timing")
    assert ja == jb
    assert ja["positions"]["liquidated"] > 0 and ja["positions"]["liquidated_at_bankruptcy"] > 0
    for name in ("positions.csv", "liquidations.csv", "price.png", "losses.png", "gas.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    c = _run(DEFAULT, "revm", seed=8)
    assert figures(c)["positions"] != ja["positions"]      # another seed, another population


def _keys(x, path=""):
    if isinstance(x, dict):
        return {k2 for k, v in x.items() for k2 in {f"{path}.{k}"} | _keys(v, f"{path}.{k}")}
    return set()


def test_offline_report_has_the_chain_reports_format_and_figures(tiny, tmp_path):
    r_chain, f_chain = tiny
    r_model = _run(TINY, "model")
    f_model = figures(r_model)
    assert _keys(f_model) == _keys(f_chain)
    for key in set(f_chain) - CHAIN_ONLY:
        assert f_model[key] == f_chain[key] or key == "keepers", key
    assert {k: {**v, "gas_spent": None} for k, v in f_chain["keepers"].items()} == f_model["keepers"]
    assert f_model["gas"]["measured"] is False and f_model["gas"]["per_liquidation"]["mean"] is None
    assert f_model["model_agreement"]["checked"] is False
    paths = write_report(r_model, tmp_path / "offline")
    assert sorted(p.name for p in (tmp_path / "offline").iterdir()) == sorted(
        p.name for p in paths.values())
    assert {p.name for p in paths.values()} >= {"report.json", "report.md", "price.png", "open_interest.png",
                                                "insurance_pool.png", "losses.png", "gas.png"}


def test_tiny_on_the_ape_network_matches(tiny, accounts):
    from harness.chains.quiet_ape import QuietApeChain
    _, f_revm = tiny
    s = load_scenario(TINY)
    r = run_drill(s, "ape", QuietApeChain(list(accounts)), progress=False)
    assert r.status == "ok", r.failure
    f = figures(r)
    for key in set(f) - CHAIN_ONLY:
        if key != "keepers":
            assert f[key] == f_revm[key], key
    assert f["model_agreement"]["steps_checked"] == 6
    # Receipts: a real transaction's gas, well above revm's warm-state figure.
    assert f["gas"]["per_liquidation"]["min"] > f_revm["gas"]["per_liquidation"]["min"]


def test_orders_counted_from_the_model_events(tiny, tmp_path):
    r, f = tiny
    # Four opens and the two survivors' closes (close_all), every one executed.
    assert f["orders"] == {"requested": 6, "executed": 6, "cancelled": 0, "cancel_reasons": {}, "pending_at_end": 0}
    md = (write_report(r, tmp_path / "orders", plots=False)["md"]).read_text()
    assert "## Orders" in md and "6 requested, 6 executed, 0 cancelled, 0 pending at the end." in md


def test_an_engine_refusal_is_counted_with_its_reason(tmp_path):
    # A pool too small for the reserves: the engine refuses those opens
    # inside execute_order, so the order book cancels them.
    from dataclasses import replace
    s = replace(load_scenario(TINY), lp_deposit=1_000 * U)
    r = run_drill(s, "model", None, progress=False)
    f = figures(r)
    o = f["orders"]
    assert o["cancelled"] == sum(o["cancel_reasons"].values()) == f["positions"]["rejected"] > 0
    assert o["executed"] + o["cancelled"] == o["requested"] - o["pending_at_end"]
    assert set(o["cancel_reasons"]) == set(f["positions"]["rejected_reasons"])

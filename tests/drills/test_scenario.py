"""Scenario files: every shipped drill loads, and a broken one says where."""
from pathlib import Path

import pytest

from harness.drills.population import plan_population
from harness.drills.pricepath import PriceStep
from harness.drills.scenario import ScenarioError, load_scenario, rescale
from harness.protocol.params import DeprecatedKey

ROOT = Path(__file__).resolve().parents[2]
DRILLS = sorted((ROOT / "drills").glob("*.yaml"))
P = 10**8


def test_at_least_five_drills_ship_and_all_load():
    assert len(DRILLS) >= 5
    names = set()
    for path in DRILLS:
        s = load_scenario(path)
        names.add(s.name)
        assert s.steps > 0 and s.population > 0
        assert all(len(m.path) == s.steps for m in s.markets)
        assert s.accounts_needed() <= 20, f"{path.name} needs more accounts than ape's test network has"
    assert {"default", "cascade-1000"} <= names
    assert load_scenario(ROOT / "drills" / "cascade-1000.yaml").population == 1_000


def _write(tmp_path, text):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


BASE = """
markets:
  ETH:
    price: 2000
    path: [{flat: 1}, {crash: {steps: 4, drop_pct: 20}}, {gap: {drop_pct: 10}}, {stale: {steps: 2, drift_pct: -5}}]
liquidity: {deposit: 1000}
traders:
  cohorts: [{count: 10, leverage: 5, collateral: 100}]
"""


def test_old_param_keys_still_load_with_a_warning(tmp_path):
    """A drill's min_collateral / oi_cap were whole USDC: read as before, with a warning."""
    new = load_scenario(_write(tmp_path, BASE.replace("price: 2000", "price: 2000\n    params: {oi_cap_tokens: 20_000}")))
    with pytest.warns(DeprecatedKey, match=r"s\.yaml: markets\.ETH\.params\.oi_cap is deprecated.*oi_cap_tokens: 20_000"):
        old = load_scenario(_write(tmp_path, BASE.replace("price: 2000", "price: 2000\n    params: {oi_cap: 20_000}")))
    assert old.market("ETH").params == new.market("ETH").params
    assert new.market("ETH").params.oi_cap == 20_000 * 10**6


def test_price_path_segments(tmp_path):
    s = load_scenario(_write(tmp_path, BASE))
    path = s.market("ETH").path
    assert [p.price // P for p in path] == [2000, 1900, 1800, 1700, 1600, 1440, 1404, 1368]
    assert [p.update for p in path] == [True] * 6 + [False, False]


def test_wick_bleed_points_and_csv(tmp_path):
    (tmp_path / "p.csv").write_text("t,px\n1,1999.5\n2,1000\n")
    s = load_scenario(_write(tmp_path, BASE.replace(
        "path: [", "path: [{wick: {down_steps: 2, depth_pct: 10, up_steps: 2}}, {bleed: {steps: 2, pct_per_step: 50}},"
                   " {points: [100, 200.5]}, {csv: {file: p.csv, column: px}}, ")))
    prices = [p.price / P for p in s.market("ETH").path][:10]
    assert prices == [1900, 1800, 1900, 2000, 1000, 500, 100, 200.5, 1999.5, 1000]


@pytest.mark.parametrize("edit, message", [
    (("price: 2000", "price: -1"), "markets.ETH.price: must be positive"),
    (("price: 2000", "price: 2000\n    params: {maintenance_margin_bps: 2000}"),
     "markets.ETH.params: the engine would refuse these parameters: params: maintenance margin out of bounds"),
    (("price: 2000", "price: 2000\n    params: {oi_capp: 1}"), "markets.ETH.params: unknown key 'oi_capp'"),
    (("{flat: 1}", "{crash: {steps: 4}}"), "markets.ETH.path[0].crash.drop_pct: missing"),
    (("{flat: 1}", "{plunge: 3}"), "markets.ETH.path[0]: unknown segment 'plunge'"),
    (("{flat: 1}", "{gap: {drop_pct: 100}}"), "markets.ETH.path[0].gap.drop_pct: must be in (0, 100)"),
    (("{flat: 1}", "{csv: {file: nope.csv}}"), "markets.ETH.path[0].csv.file:"),
    (("leverage: 5", "leverage: {uniform: [5, 2]}"), "traders.cohorts[0].leverage.uniform: low is above high"),
    (("count: 10,", "count: 10, markets: SOL,"), "traders.cohorts[0].markets: unknown market 'SOL'"),
    (("liquidity: {deposit: 1000}", "liquidity: {}"), "liquidity.deposit: missing"),
    (("liquidity:", "keepers: {count: 0}\nliquidity:"), "keepers.count: must be at least 1"),
    (("liquidity:", "checks: {isolation: sometimes}\nliquidity:"), "checks.isolation: expected one of tx, step"),
    (("liquidity:", "stepseconds: 3\nliquidity:"), "unknown key 'stepseconds'"),
])
def test_mistakes_are_reported_with_their_place(tmp_path, edit, message):
    with pytest.raises(ScenarioError) as err:
        load_scenario(_write(tmp_path, BASE.replace(*edit)))
    assert message in str(err.value)
    assert str(tmp_path / "s.yaml") in str(err.value)


def test_population_is_the_seeds_and_rescaling_keeps_shares(tmp_path):
    s = load_scenario(ROOT / "drills" / "cascade-1000.yaml")
    a, b = plan_population(s), plan_population(s)
    assert a == b
    assert plan_population(load_scenario(ROOT / "drills" / "cascade-1000.yaml", seed=2)) != a
    big = rescale(s, 10_000)
    assert big.population == 10_000 and [c.count for c in big.cohorts] == [6_000, 2_500, 1_500]
    assert big.lp_deposit == 10 * s.lp_deposit and big.insurance == 10 * s.insurance
    assert big.keepers.max_per_scan == 10 * s.keepers.max_per_scan
    assert big.name == "cascade-1000-10000"
    small = load_scenario(ROOT / "drills" / "cascade-1000.yaml", positions=100)
    assert [c.count for c in small.cohorts] == [60, 25, 15]
    assert small.lp_deposit == s.lp_deposit      # never shrinks what was sized for the full drill


def test_explicit_positions_come_first(tmp_path):
    s = load_scenario(_write(tmp_path, BASE.replace(
        "traders:\n", "traders:\n  positions: [{market: ETH, side: short, collateral: 250, leverage: 2.5}]\n")))
    first = plan_population(s)[0]
    assert (first.market, first.is_long, first.amount, first.leverage_tenths, first.size) == (
        "ETH", False, 250 * 10**6, 25, 625 * 10**6)
    assert len(plan_population(s)) == 11
    assert PriceStep(1, True) == PriceStep(1, True)


def test_a_market_without_a_path_holds_its_price(tmp_path):
    s = load_scenario(_write(tmp_path, BASE.replace("    price: 2000\n", "    price: 2000\n").replace(
        "liquidity:", "  BTC: {price: 60000}\nliquidity:")))
    assert [p.price for p in s.market("BTC").path] == [60_000 * P] * s.steps

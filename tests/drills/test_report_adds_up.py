"""The default drill's report adds up: its counts, its bad debt and the
terminal summary's lines, each whole the sum of its parts."""
import random
import re
from pathlib import Path

import pytest

from harness.chains.revm import RevmChain
from harness.drills.drill import run_drill
from harness.drills.report import figures
from harness.drills.scenario import load_scenario
from harness.drills.summary import cents_that_sum, summary_lines

DEFAULT = Path(__file__).resolve().parents[2] / "drills" / "default.yaml"


@pytest.fixture(scope="module")
def default():
    s = load_scenario(DEFAULT)
    r = run_drill(s, "revm", RevmChain(n_accounts=s.accounts_needed()), progress=False)
    assert r.status == "ok", r.failure
    return r, figures(r)


def test_position_counts_add_up(default):
    _, f = default
    p = f["positions"]
    assert p["planned"] == p["opened"] + p["rejected"]
    assert p["opened"] == p["closed_by_trader"] + p["liquidated"] + p["open_at_end"]
    assert p["liquidated_at_bankruptcy"] <= p["liquidated"]
    assert p["closed_by_trader_with_bad_debt"] <= p["closed_by_trader"]
    # The default drill has every kind, so the sums are not trivially zero.
    assert p["closed_by_trader"] > 0 and p["liquidated_at_bankruptcy"] > 0
    # By market, from the positions' records; the totals, from the events.
    for key in ("opened", "closed_by_trader", "closed_by_trader_with_bad_debt", "liquidated",
                "liquidated_at_bankruptcy", "open_at_end"):
        assert sum(m[key] for m in p["by_market"].values()) == p[key], key
    for m in p["by_market"].values():
        assert m["opened"] == m["closed_by_trader"] + m["liquidated"] + m["open_at_end"]


def test_bad_debt_adds_up(default):
    r, f = default
    b = f["bad_debt"]
    assert b["created"] == b["from_liquidations"] + b["from_trader_closes"]
    assert b["created"] == b["covered_by_insurance"] + b["absorbed_by_pool"]
    assert b["from_liquidations"] == sum(e.bad_debt for e in r.liquidations) > 0
    assert b["created"] == sum(p.bad_debt for p in r.positions)
    assert b["created"] == sum(m["bad_debt"] for m in f["positions"]["by_market"].values())


def _ints(text):
    return [int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*", text)]


def _cents(text):
    return [round(float(x.replace(",", "")) * 100) for x in re.findall(r"\d[\d,]*\.\d\d", text)]


def test_the_terminal_summary_lines_add_up(default, tmp_path):
    _, f = default
    lines = {line.split(":")[0].strip(): line for line in summary_lines(f, tmp_path)}
    planned, opened, rejected = _ints(lines["positions"])
    assert planned == opened + rejected == f["positions"]["planned"]
    whole, closed, closed_bad, liquidated, bankrupt, still_open = _ints(lines["opened"])
    assert whole == closed + liquidated + still_open == opened
    assert (closed, closed_bad, liquidated, bankrupt, still_open) == tuple(
        f["positions"][k] for k in ("closed_by_trader", "closed_by_trader_with_bad_debt", "liquidated",
                                    "liquidated_at_bankruptcy", "open_at_end"))
    total, from_liq, from_closes, insured, pooled = _cents(lines["bad debt"])
    assert total == from_liq + from_closes == insured + pooled
    assert abs(total * 10**4 - f["bad_debt"]["created"]) <= 5_000


def test_shown_cents_sum_where_rounding_each_part_would_not():
    # Half a cent each: rounded alone, 0.01 + 0.01 under a total of 0.01.
    assert cents_that_sum(10_000, [5_000, 5_000]) == (1, [1, 0])
    rng = random.Random(11)
    for _ in range(2_000):
        parts = [rng.randrange(0, 10**9) for _ in range(rng.randint(1, 4))]
        whole, shown = cents_that_sum(sum(parts), parts)
        assert sum(shown) == whole and abs(whole * 10**4 - sum(parts)) <= 5_000
        assert all(abs(c * 10**4 - x) < 10**4 for c, x in zip(shown, parts))


def test_the_table_is_the_series_first_min_and_last(default):
    _, f = default
    s = f["series"]
    assert s["phase"][0] == "start" and s["phase"][1] == "opened" and s["phase"][-1] == "closed"
    assert s["open_positions"][0] == 0 and s["open_positions"][1] == f["positions"]["opened"]
    assert (f["pool"]["start_assets"], f["pool"]["min_assets"], f["pool"]["end_assets"]) == (
        s["pool_assets"][0], min(s["pool_assets"]), s["pool_assets"][-1])
    i = f["insurance_fund"]
    assert (i["start"], i["min"], i["end"]) == (s["insurance"][0], min(s["insurance"]), s["insurance"][-1])
    # The opens' fees and the final closes move the pool: a series that
    # skipped either would not start or end where the table does.
    assert s["pool_assets"][1] > s["pool_assets"][0] and s["pool_assets"][-1] != s["pool_assets"][-2]
    assert all(b > a for a, b in zip(s["seconds"], s["seconds"][1:]))


def test_open_interest_ends_at_zero_once_every_position_closed(default):
    _, f = default
    s = f["series"]
    assert f["positions"]["open_at_end"] == 0 and s["open_positions"][-1] == 0
    for side in ("oi_long", "oi_short"):
        assert all(v[0] == 0 and max(v) > 0 and v[-1] == 0 for v in s[side].values()), side


def _drawn(ax):
    return [line.get_ydata() for line in ax.get_lines() if len(line.get_xdata())]


def test_the_plots_draw_the_table_s_series(default):
    import matplotlib.pyplot as plt
    from harness.drills.plots import funds_figure, open_interest_figure, time_axis
    r, f = default
    U = 10**6
    xs, label = time_axis(f["series"])
    assert "(minutes)" in label and xs == pytest.approx([x / 60 for x in f["series"]["seconds"]])
    funds = funds_figure(f)
    try:
        insurance, pool = (_drawn(ax)[0] for ax in funds.axes)
        assert (pool[0], min(pool), pool[-1]) == (f["pool"]["start_assets"] / U, f["pool"]["min_assets"] / U,
                                                  f["pool"]["end_assets"] / U)
        assert (insurance[0], min(insurance), insurance[-1]) == (
            f["insurance_fund"]["start"] / U, f["insurance_fund"]["min"] / U, f["insurance_fund"]["end"] / U)
        assert list(funds.axes[1].get_lines()[0].get_xdata()) == xs
    finally:
        plt.close(funds)
    oi = open_interest_figure(f)
    try:
        sides = _drawn(oi.axes[0])
        assert len(sides) == 2 * len(f["series"]["oi_long"]) and all(y[-1] == 0 for y in sides)
        assert max(max(y) for y in sides) > 0
    finally:
        plt.close(oi)

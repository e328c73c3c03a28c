"""A drill's report: report.json (every figure), report.md (for people),
CSV detail and PNG plots, in one folder per run.

Amounts are integers in token units (USDC has 6 decimals) and prices in
feed units (8 decimals), exactly as on chain, so figures can be checked
to the unit. Everything but `timing` depends only on the scenario and its
seed: two runs of the same scenario give the same report.json, and the
offline (model) backend gives the same keys, with null where only a chain
can say (gas, checks).
"""
import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional

from ..protocol.markets import PRICE, USDC
from .drill import DrillResult
from .outputs import clear
from .scenario import scenario_summary

FORMAT = "isomargin-drill-report/2"
LOSS_BINS_PCT = list(range(-100, 101, 10))


# ---------------------------------------------------------------- figures

def _stats(values: List[int]) -> dict:
    if not values:
        return {"count": 0, "total": 0, "mean": None, "median": None, "min": None, "max": None}
    v = sorted(values)
    n = len(v)
    median = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return {"count": n, "total": sum(v), "mean": round(sum(v) / n, 3), "median": median, "min": v[0], "max": v[-1]}


def _percentile(sorted_values: List[int], pct: int):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, (len(sorted_values) * pct) // 100)]


def _loss_histogram(records) -> dict:
    """Loss as a percentage of what the trader paid in: 100 is everything
    lost, negative is a gain; gains above 100% land in the first bin."""
    counts = [0] * (len(LOSS_BINS_PCT) - 1)
    for rec in records:
        pct = rec.loss * 100 / rec.plan.amount
        i = min(max(int((pct + 100) // 10), 0), len(counts) - 1)
        counts[i] += 1
    return {"edges_pct": LOSS_BINS_PCT, "counts": counts}


def _first(xs):
    return xs[0] if xs else None


def _last(xs):
    return xs[-1] if xs else None


def figures(r: DrillResult, *, wall_time: Optional[float] = None) -> dict:
    s = r.scenario
    opened = [p for p in r.positions if p.position_id is not None]
    rejected = [p for p in r.positions if p.position_id is None]
    liq = r.liquidations
    closes = [c for c in r.closes if c["ok"]]
    bad_debt_liquidated = sum(e.bad_debt for e in liq)
    bad_debt_closed = sum(c["bad_debt"] for c in closes)
    bad_debt = bad_debt_liquidated + bad_debt_closed
    covered = sum(e.insurance_cover for e in liq) + sum(c["insurance_cover"] for c in closes)
    gas = [e.gas_used for e in liq if e.gas_used is not None]
    gas_price = s.keepers.gas_price_wei
    cost_wei = sum(g * gas_price for g in gas)
    cost_usdc = sum(e.gas_used * gas_price * e.eth_usd * USDC // (10**18 * PRICE) for e in liq if e.gas_used)
    delays = [e.delay_steps for e in liq]
    losses = sorted(p.loss for p in opened)

    # Per market from the positions' own records, the totals below from the
    # liquidation and close events: two sources, so a test can hold one to the other.
    by_market = {}
    for m in s.markets:
        mine = [p for p in opened if p.plan.market == m.symbol]
        by_market[m.symbol] = {
            "opened": len(mine),
            "closed_by_trader": sum(1 for p in mine if p.status == "closed"),
            "closed_by_trader_with_bad_debt": sum(1 for p in mine if p.status == "closed" and p.bad_debt > 0),
            "liquidated": sum(1 for p in mine if p.status == "liquidated"),
            "liquidated_at_bankruptcy": sum(1 for p in mine if p.status == "liquidated" and p.bad_debt > 0),
            "open_at_end": sum(1 for p in mine if p.status == "open"),
            "bad_debt": sum(p.bad_debt for p in mine),
        }

    # The table's start / min / end below are this series' first / min /
    # last, and the plots draw it: one source, from before the opens to after the final closes.
    series = {
        "phase": [x.phase for x in r.steps],
        "step": [x.step for x in r.steps],
        "seconds": [x.seconds for x in r.steps],
        "price": {m.symbol: [x.prices[m.symbol] for x in r.steps] for m in s.markets},
        "market_price": {m.symbol: [x.market_prices[m.symbol] for x in r.steps] for m in s.markets},
        "oracle_ok": {m.symbol: [x.oracle_ok[m.symbol] for x in r.steps] for m in s.markets},
        "oi_long": {m.symbol: [x.oi_long[m.symbol] for x in r.steps] for m in s.markets},
        "oi_short": {m.symbol: [x.oi_short[m.symbol] for x in r.steps] for m in s.markets},
        "open_positions": [x.open_positions for x in r.steps],
        "insurance": [x.insurance for x in r.steps],
        "pool_assets": [x.pool_assets for x in r.steps],
        "liquidatable": [x.liquidatable for x in r.steps],
        "liquidations": [x.liquidations for x in r.steps],
    }

    gas_stats = _stats(gas)
    return {
        "format": FORMAT,
        "status": r.status,
        "failure": r.failure,
        "backend": r.backend,
        "scenario": scenario_summary(s),
        "units": {"amounts": "USDC base units (1e-6 USDC)", "prices": "feed units (1e-8 USD)",
                  "gas": "gas units", "delay": "price steps", "time": "seconds of chain time"},
        "positions": {
            "planned": len(r.positions),
            "opened": len(opened),
            "rejected": len(rejected),
            "rejected_reasons": dict(sorted(Counter(p.reject_reason for p in rejected).items())),
            # opened = closed_by_trader + liquidated + open_at_end; each
            # "with bad debt" / "at bankruptcy" is a part of the count before it.
            "closed_by_trader": len(closes),
            "closed_by_trader_with_bad_debt": sum(1 for c in closes if c["bad_debt"] > 0),
            "liquidated": len(liq),
            "liquidated_at_bankruptcy": sum(1 for e in liq if e.bad_debt > 0),
            "open_at_end": sum(1 for p in opened if p.status == "open"),
            "close_failures": len(r.closes) - len(closes),
            "by_market": by_market,
        },
        # created = from_liquidations + from_trader_closes = covered_by_insurance + absorbed_by_pool
        "bad_debt": {"created": bad_debt, "from_liquidations": bad_debt_liquidated,
                     "from_trader_closes": bad_debt_closed, "covered_by_insurance": covered,
                     "absorbed_by_pool": bad_debt - covered},
        "liquidator_rewards": {
            "total": sum(e.reward for e in liq),
            "by_keeper": {k: sum(e.reward for e in liq if e.keeper == k) for k in sorted(r.keepers)},
        },
        "insurance_fund": {
            "start": _first(series["insurance"]),
            "end": _last(series["insurance"]),
            "min": min(series["insurance"], default=None),
            "cuts_received": sum(e.insurance_cut for e in liq),
            "covers_paid": covered,
        },
        "pool": {
            "start_assets": _first(series["pool_assets"]),
            "end_assets": _last(series["pool_assets"]),
            "min_assets": min(series["pool_assets"], default=None),
        },
        "gas": {
            "measured": r.measures_gas,
            "source": r.gas_source,
            "per_liquidation": {k: gas_stats[k] for k in ("mean", "median", "min", "max")} if r.measures_gas
            else {"mean": None, "median": None, "min": None, "max": None},
            "liquidations_total": gas_stats["total"] if r.measures_gas else None,
            "liquidations_measured": gas_stats["count"] if r.measures_gas else None,
            "liquidations_unmeasured": (len(liq) - len(gas)) if r.measures_gas else None,
            "all_keeper_transactions": sum(k["gas_spent"] for k in r.keepers.values()) if r.measures_gas else None,
            "gas_price_wei": gas_price,
            "liquidation_cost_wei": cost_wei if r.measures_gas else None,
            "liquidation_cost_usdc": cost_usdc if r.measures_gas else None,
        },
        "delay_steps": {
            "max": max(delays, default=None),
            "mean": round(sum(delays) / len(delays), 4) if delays else None,
            "liquidations": len(delays),
            "missed_windows": r.missed_windows,
            "liquidatable_at_end": r.liquidatable_at_end,
        },
        "keepers": r.keepers,
        "orders": r.orders,
        "model_agreement": {
            "checked": r.checks_chain,
            "steps_checked": r.steps_checked,
            "disagreements": 1 if r.status == "disagreement" else 0,
            "isolation_mode": s.isolation if r.checks_chain else None,
            "isolation_checks": r.isolation_checks,
            "isolation_breaches": 1 if r.status == "isolation breach" else 0,
        },
        "losses": {
            "positions": len(losses),
            "total": sum(losses),
            "mean": round(sum(losses) / len(losses), 3) if losses else None,
            "median": _percentile(losses, 50),
            "p90": _percentile(losses, 90),
            "max": losses[-1] if losses else None,
            "histogram": _loss_histogram(opened),
        },
        "oracle": {
            "refreshes_while_opening": r.oracle_refreshes,
            "stale_steps": {m.symbol: sum(1 for ok in series["oracle_ok"][m.symbol] if not ok) for m in s.markets},
        },
        "faults": {"rpc_error_rate": s.rpc_error_rate, "injected": r.injected_faults},
        "series": series,
        "timing": {k: round(v, 3) for k, v in sorted({**r.timing, **({"wall_time_s": wall_time} if wall_time else {})}.items())},
    }


# ---------------------------------------------------------------- writing

def report_dir(root: Path, r: DrillResult) -> Path:
    backend = re.sub(r"[^A-Za-z0-9]+", "-", r.backend).strip("-")
    return Path(root) / f"{r.scenario.name}-{backend}-s{r.scenario.seed}"


def write_report(r: DrillResult, out: Path, *, plots: bool = True) -> Dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clear(out)
    fig = figures(r)
    paths = {"json": out / "report.json", "md": out / "report.md",
             "positions": out / "positions.csv", "liquidations": out / "liquidations.csv"}
    paths["json"].write_text(json.dumps(fig, indent=1, sort_keys=True) + "\n")
    _write_csvs(r, paths["positions"], paths["liquidations"])
    if plots:
        from .plots import write_plots
        paths.update(write_plots(fig, r, out))
    paths["md"].write_text(markdown(fig, [p.name for k, p in paths.items() if p.suffix == ".png"]))
    from .html import write_html
    paths["html"] = write_html(paths["md"], out / "report.html", f"{r.scenario.name} drill report")
    return paths


def _write_csvs(r: DrillResult, positions: Path, liquidations: Path) -> None:
    with positions.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["index", "position_id", "market", "side", "paid_in", "leverage", "size", "collateral",
                    "entry_price", "status", "exit_step", "keeper", "received", "loss", "bad_debt", "delay_steps",
                    "reject_reason"])
        for p in r.positions:
            w.writerow([p.plan.index, p.position_id, p.plan.market, "long" if p.plan.is_long else "short",
                        p.plan.amount, p.plan.leverage_tenths / 10, p.size, p.collateral, p.entry_price, p.status,
                        p.exit_step, p.keeper, p.received if p.position_id else "",
                        p.loss if p.position_id else "", p.bad_debt, p.delay_steps, p.reject_reason or ""])
    with liquidations.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "position_id", "market", "keeper", "price", "reward", "insurance_cut", "to_pool",
                    "bad_debt", "insurance_cover", "gas_used", "delay_steps", "adopted"])
        for e in r.liquidations:
            w.writerow([e.step, e.position_id, e.market, e.keeper, e.price, e.reward, e.insurance_cut, e.to_pool,
                        e.bad_debt, e.insurance_cover, "" if e.gas_used is None else e.gas_used, e.delay_steps,
                        int(e.adopted)])


# ---------------------------------------------------------------- markdown

def _usdc(x) -> str:
    return "n/a" if x is None else f"{x / USDC:,.2f}"


def _n(x) -> str:
    return "n/a" if x is None else f"{x:,}" if isinstance(x, int) else f"{x:,.2f}"


def markdown(fig: dict, plots: List[str]) -> str:
    sc, p, b, g, d, a = (fig["scenario"], fig["positions"], fig["bad_debt"], fig["gas"], fig["delay_steps"],
                         fig["model_agreement"])
    lines = [f"# Drill report: {sc['name']}", ""]
    if sc["description"]:
        lines += [sc["description"], ""]
    lines += [
        f"- backend: `{fig['backend']}`; scenario file `{sc['file']}`, seed {sc['seed']}",
        f"- {sc['steps']} price steps of {sc['step_seconds']} s; markets: "
        + ", ".join(f"{m} (from ${v['initial_price'] / PRICE:,.2f})" for m, v in sc["markets"].items()),
        f"- status: **{fig['status']}**; wall time {fig['timing'].get('wall_time_s', 0):.1f} s",
        "",
    ]
    if fig["failure"]:
        lines += ["## Stopped: chain and model disagree" if fig["failure"]["kind"] == "disagreement"
                  else f"## Stopped: {fig['failure']['kind']} broken", "", "```", fig["failure"]["message"], "```", ""]
    lines += [
        "## Figures", "",
        "| figure | value |", "|---|---|",
        f"| positions planned / rejected | {_n(p['planned'])} / {_n(p['rejected'])} |",
        f"| positions opened | {_n(p['opened'])} |",
        f"| ... closed by their traders | {_n(p['closed_by_trader'])} "
        f"(with bad debt: {_n(p['closed_by_trader_with_bad_debt'])}) |",
        f"| ... liquidated | {_n(p['liquidated'])} (at bankruptcy: {_n(p['liquidated_at_bankruptcy'])}) |",
        f"| ... still open at the end | {_n(p['open_at_end'])} |",
        f"| bad debt created | {_usdc(b['created'])} USDC (liquidations {_usdc(b['from_liquidations'])}, "
        f"trader closes {_usdc(b['from_trader_closes'])}) |",
        f"| covered by the insurance fund | {_usdc(b['covered_by_insurance'])} USDC |",
        f"| absorbed by the pool | {_usdc(b['absorbed_by_pool'])} USDC |",
        f"| liquidator rewards | {_usdc(fig['liquidator_rewards']['total'])} USDC |",
        f"| insurance fund start / min / end | {_usdc(fig['insurance_fund']['start'])} / "
        f"{_usdc(fig['insurance_fund']['min'])} / {_usdc(fig['insurance_fund']['end'])} USDC |",
        f"| pool assets start / min / end | {_usdc(fig['pool']['start_assets'])} / "
        f"{_usdc(fig['pool']['min_assets'])} / {_usdc(fig['pool']['end_assets'])} USDC |",
        f"| gas per liquidation mean / min / max | " + (
            f"{_n(g['per_liquidation']['mean'])} / {_n(g['per_liquidation']['min'])} / {_n(g['per_liquidation']['max'])}"
            if g["measured"] else "not measured (offline)") + " |",
        f"| gas, all liquidations | {_n(g['liquidations_total'])} |",
        f"| gas measured from | {g['source'] or 'n/a (offline)'} |",
        f"| liquidation gas cost at {g['gas_price_wei'] / 1e9:g} gwei | "
        + (f"{_usdc(g['liquidation_cost_usdc'])} USDC" if g["measured"] else "n/a") + " |",
        f"| delay liquidatable -> liquidated, max / mean | {_n(d['max'])} / {_n(d['mean'])} steps |",
        f"| liquidatable windows missed (healthy again first) | {_n(d['missed_windows'])} |",
        f"| liquidatable but not liquidated at the end | {_n(d['liquidatable_at_end'])} |",
        f"| model agreement | " + (f"{a['steps_checked']} steps checked, {a['disagreements']} disagreements; "
                                  f"isolation checked {a['isolation_checks']} times ({a['isolation_mode']} mode)"
                                  if a["checked"] else "offline run: model only, nothing to compare") + " |",
        f"| losses per position mean / median / p90 / max | {_usdc(fig['losses']['mean'])} / "
        f"{_usdc(fig['losses']['median'])} / {_usdc(fig['losses']['p90'])} / {_usdc(fig['losses']['max'])} USDC |",
        f"| wall time | {fig['timing'].get('wall_time_s', 0):.1f} s |",
        "",
        "## Keepers", "",
        "| keeper | liquidated | rewards (USDC) | lost races | healthy reverts | oracle reverts | RPC errors | gas |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, k in sorted(fig["keepers"].items()):
        lines.append(f"| {name} | {k['liquidated']} | {_usdc(k['rewards'])} | {k['lost_races']} | "
                     f"{k['healthy_reverts']} | {k['oracle_reverts']} | {k['rpc_errors']} | "
                     f"{_n(k['gas_spent']) if fig['gas']['measured'] else 'n/a'} |")
    lines += ["", "## By market", "",
              "| market | opened | closed by traders (with bad debt) | liquidated (at bankruptcy) | still open "
              "| bad debt (USDC) |", "|---|---|---|---|---|---|"]
    for sym, m in p["by_market"].items():
        lines.append(f"| {sym} | {m['opened']} | {m['closed_by_trader']} ({m['closed_by_trader_with_bad_debt']}) | "
                     f"{m['liquidated']} ({m['liquidated_at_bankruptcy']}) | {m['open_at_end']} | "
                     f"{_usdc(m['bad_debt'])} |")
    o = fig.get("orders") or {}
    if o:
        lines += ["", "## Orders", "",
                  f"{_n(o['requested'])} requested, {_n(o['executed'])} executed, {_n(o['cancelled'])} cancelled, "
                  f"{_n(o['pending_at_end'])} pending at the end."]
        if o["cancel_reasons"]:
            lines += ["", "| cancelled because | orders |", "|---|---|"]
            lines += [f"| `{reason}` | {n} |" for reason, n in o["cancel_reasons"].items()]
    if p["rejected_reasons"]:
        lines += ["", "Rejected openings: " + "; ".join(f"{n} x `{r}`" for r, n in p["rejected_reasons"].items())]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{name}]({name})" for name in plots]
    lines += ["", "Machine-readable figures: `report.json`; per position: `positions.csv`; per liquidation: "
              "`liquidations.csv`.", ""]
    return "\n".join(lines)

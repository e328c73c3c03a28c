"""The drill's terminal summary: a few lines from the report's figures,
written so that each line's parts visibly add up to its whole.

    40 opened = 16 closed by their traders (0 with bad debt) + 24 liquidated (11 at bankruptcy) + 0 still open

"At bankruptcy" and "with bad debt" are parts of the count they follow,
never counted beside it. Amounts shown in cents are rounded so that the
shown parts sum to the shown total (largest remainder): rounding each
part on its own can leave a reader a cent short.
"""
from pathlib import Path
from typing import List

from ..protocol.markets import USDC

CENT = USDC // 100


def cents_that_sum(total: int, parts: List[int]) -> tuple:
    """`total` and `parts` (token units, parts summing to total) in whole
    cents, the parts' rounding chosen so that they sum to the total's."""
    assert sum(parts) == total, (total, parts)
    whole = (total + CENT // 2) // CENT
    floors = [x // CENT for x in parts]
    order = sorted(range(len(parts)), key=lambda i: (-(parts[i] % CENT), i))
    for i in order[:whole - sum(floors)]:
        floors[i] += 1
    return whole, floors


def _usdc(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def summary_lines(f: dict, folder: Path) -> List[str]:
    p, b, d, a, g = f["positions"], f["bad_debt"], f["delay_steps"], f["model_agreement"], f["gas"]
    total, (liq, closed) = cents_that_sum(b["created"], [b["from_liquidations"], b["from_trader_closes"]])
    _, (insured, pooled) = cents_that_sum(b["created"], [b["covered_by_insurance"], b["absorbed_by_pool"]])
    lines = [
        "",
        f"{f['scenario']['name']} on {f['backend']}: {f['status']}",
        f"  positions: {p['planned']} planned = {p['opened']} opened + {p['rejected']} rejected",
        f"  opened: {p['opened']} = {p['closed_by_trader']} closed by their traders "
        f"({p['closed_by_trader_with_bad_debt']} with bad debt) + {p['liquidated']} liquidated "
        f"({p['liquidated_at_bankruptcy']} at bankruptcy) + {p['open_at_end']} still open",
        f"  bad debt: {_usdc(total)} USDC = {_usdc(liq)} from liquidations + {_usdc(closed)} from trader closes"
        f" = {_usdc(insured)} covered by insurance + {_usdc(pooled)} absorbed by the pool",
        f"  liquidator rewards: {f['liquidator_rewards']['total'] / USDC:,.2f} USDC; delay max "
        f"{d['max']} / mean {d['mean']} steps",
    ]
    if g["measured"]:
        lines.append(f"  gas per liquidation: mean {g['per_liquidation']['mean'] or 0:,.0f}, "
                     f"total {g['liquidations_total']:,} ({g['source']})")
    if a["checked"]:
        lines.append(f"  model agreement: {a['steps_checked']} steps checked, {a['disagreements']} disagreements, "
                     f"{a['isolation_checks']} isolation checks ({a['isolation_mode']})")
    o = f["orders"]
    if o:
        why = "; ".join(f"{n} x {reason!r}" for reason, n in o["cancel_reasons"].items())
        lines.append(f"  orders: {o['requested']} requested, {o['executed']} executed, {o['cancelled']} cancelled"
                     + (f" ({why})" if why else ""))
    lines += [f"  wall time: {f['timing']['wall_time_s']:.1f} s",
              f"  report: {folder}/report.md (one page: {folder}/report.html)"]
    return lines

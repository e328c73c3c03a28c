"""The report's PNG plots, drawn with matplotlib's Agg backend (no display).

Each plot reads the report's own figures (and the drill's per-liquidation
records), so what is drawn is what report.json says. PNGs carry no date:
the same drill draws the same bytes.
"""
from collections import Counter
from pathlib import Path
from typing import Dict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..protocol.markets import PRICE, USDC  # noqa: E402

META = {"Software": None}
# (seconds per unit, name, longest span shown in it)
TIME_UNITS = ((60, "minutes", 3 * 3_600), (3_600, "hours", 3 * 86_400), (86_400, "days", None))


def _save(fig, path: Path) -> Path:
    # Figures are built apart from saving, so a test can read what a plot draws.
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=META)
    plt.close(fig)
    return path


def write_plots(fig_data: dict, result, out: Path) -> Dict[str, Path]:
    out = Path(out)
    return {
        "price_png": _save(price_figure(fig_data, result), out / "price.png"),
        "open_interest_png": _save(open_interest_figure(fig_data), out / "open_interest.png"),
        "insurance_pool_png": _save(funds_figure(fig_data), out / "insurance_pool.png"),
        "backlog_png": _save(backlog_figure(fig_data), out / "backlog.png"),
        "losses_png": _save(_losses(fig_data, result), out / "losses.png"),
        "gas_png": _save(_gas(fig_data, result), out / "gas.png"),
    }


def time_axis(s: dict):
    """The series' chain time in a unit a reader can take in, and its label.
    Time, not steps: the points before and after the steps (the opens, the
    final closes) take chain time of their own, and so do big steps."""
    span = max(s["seconds"], default=0)
    unit, name = next((u, n) for u, n, up_to in TIME_UNITS if up_to is None or span <= up_to)
    return [x / unit for x in s["seconds"]], f"chain time since the drill's start, before the opens ({name})"


def price_figure(f: dict, result):
    s = f["series"]
    xs, xlabel = time_axis(s)
    at_step = {step: x for x, step, phase in zip(xs, s["step"], s["phase"]) if phase == "step"}
    markets = list(s["price"])
    fig, axes = plt.subplots(len(markets), 1, figsize=(10, 3.2 * len(markets)), squeeze=False, sharex=True)
    for ax, sym in zip(axes[:, 0], markets):
        ax.step(xs, [p / PRICE for p in s["price"][sym]], where="post", label="oracle", color="tab:blue")
        if s["market_price"][sym] != s["price"][sym]:
            ax.step(xs, [p / PRICE for p in s["market_price"][sym]], where="post", ls="--", color="grey",
                    label="market")
        # A refused point holds until the next one (the steps are drawn "post").
        for i, ok in enumerate(s["oracle_ok"][sym]):
            if not ok:
                ax.axvspan(xs[i], xs[i + 1] if i + 1 < len(xs) else xs[i], color="gold", alpha=0.3, lw=0)
        # All of a step's liquidations happen at that step's oracle price:
        # one marker per step and kind, sized by how many.
        groups = Counter((e.step, e.price, bool(e.bad_debt)) for e in result.liquidations if e.market == sym)
        for bad, color, marker, label in ((False, "tab:orange", "o", "liquidations"),
                                          (True, "tab:red", "x", "with bad debt")):
            pts = sorted((k, n) for k, n in groups.items() if k[2] == bad)
            if pts:
                total = sum(n for _, n in pts)
                ax.scatter([at_step[k[0]] for k, _ in pts], [k[1] / PRICE for k, _ in pts],
                           s=[12 + 6 * n ** 0.5 for _, n in pts], color=color, marker=marker, alpha=0.8,
                           label=f"{label} ({total}; size ~ count)", zorder=4 if bad else 3)
        if any(not ok for ok in s["oracle_ok"][sym]):
            ax.plot([], [], color="gold", alpha=0.5, lw=6, label="oracle refused (stale)")
        ax.set_ylabel(f"{sym} (USD)")
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(xlabel)
    axes[0, 0].set_title("Price path and liquidations")
    return fig


def open_interest_figure(f: dict):
    s = f["series"]
    xs, xlabel = time_axis(s)
    fig, ax = plt.subplots(figsize=(10, 4))
    for sym in s["oi_long"]:
        ax.step(xs, [x / USDC for x in s["oi_long"][sym]], where="post", label=f"{sym} long")
        ax.step(xs, [x / USDC for x in s["oi_short"][sym]], where="post", ls="--", label=f"{sym} short")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("open interest (USDC notional)")
    ax2 = ax.twinx()
    ax2.step(xs, s["open_positions"], where="post", color="black", alpha=0.4, label="open positions")
    ax2.set_ylabel("open positions")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    ax.set_title("Open interest")
    return fig


def funds_figure(f: dict):
    s = f["series"]
    xs, xlabel = time_axis(s)
    fig, (a, b) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True)
    a.step(xs, [x / USDC for x in s["insurance"]], where="post", color="tab:green")
    a.set_ylabel("insurance fund (USDC)")
    a.set_title("Insurance fund and pool assets")
    a.grid(alpha=0.3)
    b.step(xs, [x / USDC for x in s["pool_assets"]], where="post", color="tab:purple")
    b.set_ylabel("pool assets (USDC)")
    b.set_xlabel(xlabel)
    b.grid(alpha=0.3)
    return fig


def backlog_figure(f: dict):
    """The keepers' backlog: how many positions were liquidatable when the
    keepers scanned, against how many they liquidated, point by point."""
    s = f["series"]
    xs, xlabel = time_axis(s)
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.step(xs, s["liquidatable"], where="post", color="tab:red", label="liquidatable at the scan")
    ax.step(xs, s["liquidations"], where="post", color="tab:blue", ls="--", label="liquidated in the step")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("positions")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    d = f["delay_steps"]
    ax.set_title(f"Keeper backlog (delay max {d['max']} / mean {d['mean']} steps; "
                 f"{d['liquidatable_at_end']} liquidatable at the end)")
    return fig


def _losses(f: dict, result):
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    opened = [p for p in result.positions if p.position_id is not None]
    groups = [(st, [p.loss / USDC for p in opened if p.status == st]) for st in ("liquidated", "closed", "open")]
    groups = [(st, v) for st, v in groups if v]
    if groups:
        a.hist([v for _, v in groups], bins=30, stacked=True, label=[st for st, _ in groups])
        a.legend(fontsize=8)
    a.set_xlabel("loss per position (USDC; negative is a gain)")
    a.set_ylabel("positions")
    a.set_title("Losses per position")
    h = f["losses"]["histogram"]
    edges = h["edges_pct"]
    b.bar([(x + y) / 2 for x, y in zip(edges, edges[1:])], h["counts"], width=9, color="tab:red", alpha=0.7)
    b.set_xlabel("loss as % of what the trader paid in")
    b.set_title("Share of stake lost")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    return fig


def _gas(f: dict, result):
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    measured = [e for e in result.liquidations if e.gas_used is not None]
    if not f["gas"]["measured"] or not measured:
        for ax in (a, b):
            ax.text(0.5, 0.5, "gas not measured\n(offline run: no chain)" if not f["gas"]["measured"]
                    else "no liquidations", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
    else:
        xs = list(range(1, len(measured) + 1))
        colors = ["tab:red" if e.bad_debt else "tab:blue" for e in measured]
        a.scatter(xs, [e.gas_used for e in measured], s=8, c=colors)
        a.set_xlabel("liquidation #")
        a.set_ylabel("gas used")
        a.set_title("Gas per liquidation (red: with bad debt)")
        b.hist([e.gas_used for e in measured], bins=30, color="tab:blue")
        b.set_xlabel("gas used")
        b.set_ylabel("liquidations")
        b.set_title(f"total {f['gas']['liquidations_total']:,} gas")
        for ax in (a, b):
            ax.grid(alpha=0.3)
        fig.text(0.5, 0.005, f"measured from {f['gas']['source']}", ha="center", va="bottom", fontsize=8,
                 color="grey")
    return fig

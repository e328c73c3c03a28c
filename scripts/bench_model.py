"""How fast the pure-Python model simulates a market with many positions.

    python scripts/bench_model.py                      # 10,000 and 100,000 positions
    python scripts/bench_model.py --sizes 5000 --steps 20 --profile

For each size: open that many positions across the two devnet markets of
harness/protocol/markets.py (random side, collateral and leverage), then walk both
prices through `--steps` oracle updates; after each update a keeper finds
what is liquidatable and liquidates it. Each size runs twice (`--scan both`,
the default), on the same positions and price path: `full`, the keeper reads
every open position's health(); `index`, it asks model/liquidation_index.py,
which checks only the positions its bound cannot rule out. Prints both wall
times and rates; asserts nothing about time. It does check that both scans
liquidated the same positions at every step and that the books balance at
the end, so a fast but wrong model does not pass unnoticed. After the opens
the population is frozen out of the cyclic GC (`--no-gc-freeze`: not).

--profile then reruns each size under cProfile (open phase, one scan) and
times the model's O(n) views (open_position_ids, all_slots) per call.
"""
import argparse
import cProfile
import gc
import io
import pstats
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.protocol.markets import MARKETS, MAX_UINT256, PRICE, USDC  # noqa: E402
from model import Protocol, Revert  # noqa: E402
from model.liquidation_index import LiquidationIndex, views_at  # noqa: E402
from model.risk import _reserve  # noqa: E402

OWNER, GUARDIAN, LP, KEEPER = "owner", "guardian", "lp", "keeper"
STEP_SECONDS = 60
# Per-step volatility of each price (a random walk in bps), so that a 50-step
# path liquidates a fair share of high-leverage positions.
VOL_BPS = {"ETH": 200, "BTC": 150}


class Market:
    def __init__(self, n_traders: int, seed: int):
        # Separate streams: every size sees the same price path.
        self.rng = random.Random(seed)
        self.price_rng = random.Random(seed + 1)
        self.p = Protocol(deployer=OWNER, guardian=GUARDIAN, timestamp=1_700_000_000)
        self.e = self.p.engine
        self.feeds, self.ids, self.max_lev = {}, {}, {}
        self.liquidated = []        # per step, the ids liquidated
        for symbol, m in MARKETS.items():
            feed = self.p.add_feed(f"feed:{symbol}", m["decimals"], m["price"])
            # The devnet caps suit five traders; thousands need room.
            params = replace(m["params"], oi_cap=2**127)
            self.feeds[symbol] = feed
            self.ids[symbol] = self.e.list_market(feed.address, params, sender=OWNER)
            self.max_lev[symbol] = 10_000 / params.initial_margin_bps
        self.traders = [f"trader:{i}" for i in range(n_traders)]
        for who in [OWNER, LP] + self.traders:
            self.p.token.mint(who, 10**30, sender=OWNER)
            self.p.token.approve(self.e.address, MAX_UINT256, sender=who)
            self.p.token.approve(self.p.orders.address, MAX_UINT256, sender=who)
        self.p.token.approve(self.p.pool.address, MAX_UINT256, sender=LP)
        self.p.lp_deposit(LP, 10**28)
        self.e.fund_insurance(10**24, sender=OWNER)

    def wait(self, seconds: int) -> None:
        self.p.env.timestamp += seconds

    def open_many(self, n: int) -> int:
        """Open through the order book: each hundred requests, a new block
        with a price round on every feed (so opens accrue the index, and the
        orders can execute), then a keeper executes them."""
        rng, e, orders, symbols = self.rng, self.e, self.p.orders, sorted(self.ids)
        reverts, batch = 0, []
        for i in range(n):
            symbol = symbols[rng.random() < 0.5]
            collateral = rng.randint(50, 5_000) * USDC
            leverage = self.max_lev[symbol] * rng.uniform(0.1, 0.9)
            is_long = rng.random() < 0.5
            batch.append(orders.request_open(self.ids[symbol], is_long, int(collateral * leverage), collateral,
                                             2**128 - 1 if is_long else 0, sender=self.traders[i % len(self.traders)]))
            if len(batch) == 100 or i == n - 1:
                reverts += self._execute(batch)
                batch = []
        return reverts

    def _execute(self, order_ids) -> int:
        self.wait(1)
        self.p.refresh_feeds()
        cancelled = 0
        for oid in order_ids:
            if self.p.orders.execute_order(oid, sender=OWNER)[0] == "cancelled":
                cancelled += 1
        return cancelled

    def move_prices(self) -> None:
        self.wait(STEP_SECONDS)
        for symbol, feed in self.feeds.items():
            move = self.price_rng.gauss(0, VOL_BPS[symbol])
            feed.set_answer(max(1, int(feed.answer * (10_000 + move) // 10_000)), sender=OWNER)

    def scan_and_liquidate(self, scan: str = "full"):
        """One keeper pass: (positions checked, liquidations, seconds for ids, seconds for the pass,
        seconds of the pass spent in liquidate())."""
        if scan == "index":
            return self._indexed_pass()
        t0 = time.perf_counter()
        ids = self.e.open_position_ids()
        t1 = time.perf_counter()
        health, liquidate = self.e.health, self.e.liquidate
        liquidated, clock, in_liquidate = [], time.perf_counter, 0.0
        for pid in ids:
            if health(pid).liquidatable:
                t = clock()
                liquidate(pid, sender=KEEPER)
                in_liquidate += clock() - t
                liquidated.append(pid)
        self.liquidated.append(liquidated)
        return len(ids), len(liquidated), t1 - t0, time.perf_counter() - t1, in_liquidate

    liquidated: list
    index = None

    def _indexed_pass(self):
        # health() reads the engine at its own timestamp; so do these views.
        t0 = time.perf_counter()
        if self.index is None:
            self.index = LiquidationIndex(self.e)
        before = self.index.checked
        # By id, as the full scan goes: the same transactions in the same order.
        found = sorted(pid for pid, _ in self.index.liquidatable(views_at(self.e, self.p.env.timestamp)))
        liquidate = self.e.liquidate
        t1 = time.perf_counter()
        for pid in found:
            liquidate(pid, sender=KEEPER)
        self.liquidated.append(found)
        t2 = time.perf_counter()
        return self.index.checked - before, len(found), 0.0, t2 - t0, t2 - t1

    def check_books(self) -> None:
        """Not about speed: the run must also have been right."""
        p, e = self.p, self.e
        bal = p.token.balanceOf
        assert sum(bal.values()) == p.token.totalSupply, "tokens not conserved"
        reserved = open_count = 0
        for slot in range(1, e.vault_count + 1):
            pos = e.slots_[slot]
            held = bal[e.vaults(slot)]
            if pos.is_open:
                open_count += 1
                reserved += _reserve(pos.size, pos.max_profit_bps)
                assert held == pos.collateral, f"vault {slot}"
            else:
                assert held == 0, f"free vault {slot}"
        assert (open_count, reserved) == (e.open_positions, e.total_reserved)
        assert bal[p.pool.address] >= e.total_reserved


def per_call(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(n: int, steps: int, seed: int, scan: str = "full", freeze: bool = True) -> dict:
    print(f"\n== {n:,} positions, {steps} price steps (seed {seed}), {scan} scan")
    t = time.perf_counter()
    m = Market(n_traders=min(1_000, max(1, n // 10)), seed=seed)
    setup = time.perf_counter() - t

    t = time.perf_counter()
    reverts = m.open_many(n)
    open_wall = time.perf_counter() - t
    print(f"opened {m.e.open_positions:,} ({reverts} reverted) in {open_wall:.2f} s: "
          f"{n / open_wall:,.0f} positions/s   (setup {setup:.2f} s)")
    if freeze:
        # The opened world lives to the end: the cyclic GC need not walk it
        # again at every collection (at 100,000 positions that halved the
        # indexed path). Changes nothing but time.
        gc.collect()
        gc.freeze()
        print("gc.freeze() after the opens (--no-gc-freeze: without)")

    total_health = total_liq = 0
    ids_wall = scan_wall = liquidate_wall = 0.0
    what = ("health() of every open position" if scan == "full" else
            "the index's candidates by the exact rule, the index's upkeep")
    print(f"{'step':>5} {'ETH':>10} {'BTC':>10} {'open':>9} {'liquidated':>10} {'scan ms':>9} {'ids ms':>7}"
          f"   (liquidated: so far; scan: {what} + liquidations)")
    for step in range(1, steps + 1):
        m.move_prices()
        checked, liquidated, ids_s, scan_s, liquidate_s = m.scan_and_liquidate(scan)
        liquidate_wall += liquidate_s
        total_health += checked
        total_liq += liquidated
        ids_wall += ids_s
        scan_wall += scan_s
        if step == 1 or step % 10 == 0 or step == steps:
            print(f"{step:>5} {m.feeds['ETH'].answer / PRICE:>10,.2f} {m.feeds['BTC'].answer / PRICE:>10,.2f} "
                  f"{m.e.open_positions:>9,} {total_liq:>10,} {scan_s * 1e3:>9,.1f} {ids_s * 1e3:>7,.1f}")
    path_wall = ids_wall + scan_wall
    print(f"price path: {total_health:,} positions checked and {total_liq:,} liquidations in {path_wall:.2f} s: "
          f"{total_health / scan_wall:,.0f} positions checked/s (liquidations included); "
          f"open_position_ids() took {ids_wall:.2f} s of it, liquidate() {liquidate_wall:.2f} s")

    if freeze:
        gc.unfreeze()
    t = time.perf_counter()
    m.check_books()
    print(f"books balance (checked in {time.perf_counter() - t:.2f} s)")
    return dict(n=n, scan=scan, open_wall=open_wall, opens_per_s=n / open_wall, path_wall=path_wall,
                find_wall=path_wall - liquidate_wall,
                scans_per_s=total_health / scan_wall, liquidations=total_liq, health_calls=total_health,
                liquidated=m.liquidated, pool=m.p.token.balanceOf[m.p.pool.address],
                insurance=m.p.token.balanceOf[m.e.INSURANCE])


def profile(n: int, seed: int) -> None:
    """Where the time goes (a separate run: the profiler slows everything)."""
    print(f"\n== profile at {n:,} positions")
    m = Market(n_traders=min(1_000, max(1, n // 10)), seed=seed)
    prof = cProfile.Profile()
    prof.enable()
    m.open_many(n)
    prof.disable()
    _print_profile(prof, f"open phase ({n:,} open_position calls)")
    for _ in range(5):   # to where liquidations happen
        m.move_prices()
        m.scan_and_liquidate()
    m.move_prices()
    prof = cProfile.Profile()
    prof.enable()
    checked, liquidated, _, _, _ = m.scan_and_liquidate()
    prof.disable()
    _print_profile(prof, f"one keeper scan ({checked:,} health() calls, {liquidated:,} liquidations)")
    vaults, live = m.e.vault_count, m.e.open_positions
    ids_s = per_call(m.e.open_position_ids)
    slots_s = per_call(m.e.all_slots, repeat=2)
    health_s = per_call(lambda: [m.e.health(pid) for pid in m.e.open_position_ids()], repeat=2) - ids_s
    print(f"O(n) views at {vaults:,} vaults ({live:,} open), against one health() call "
          f"({health_s / live * 1e6:.1f} us):")
    for name, cost in (("open_position_ids()", ids_s), ("all_slots()", slots_s)):
        print(f"  {name:<20} {cost * 1e3:8.2f} ms/call = {cost / (health_s / live):,.0f} health() calls; "
              f"called once per open position: {cost * live:,.1f} s")


def _print_profile(prof: cProfile.Profile, title: str, top: int = 14) -> None:
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print(f"-- cProfile, {title}, by own time:")
    for line in lines[start:start + top + 1]:
        print("   " + line.replace(str(Path(__file__).resolve().parents[1]) + "/", ""))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scan", choices=["both", "full", "index"], default="both")
    ap.add_argument("--no-gc-freeze", dest="freeze", action="store_false")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    scans = ["full", "index"] if args.scan == "both" else [args.scan]
    results = [run(n, args.steps, args.seed, scan, args.freeze) for n in args.sizes for scan in scans]
    print("\n== summary")
    print(f"{'positions':>10} {'scan':>6} {'open s':>8} {'opens/s':>9} {'path s':>8} {'finding s':>9} "
          f"{'checked':>10} {'checked/s':>10} {'liquidated':>10}   (finding: the path less liquidate())")
    for r in results:
        print(f"{r['n']:>10,} {r['scan']:>6} {r['open_wall']:>8.2f} {r['opens_per_s']:>9,.0f} {r['path_wall']:>8.2f} "
              f"{r['find_wall']:>9.2f} {r['health_calls']:>10,} {r['scans_per_s']:>10,.0f} {r['liquidations']:>10,}")
    if len(scans) == 2:
        for full, index in zip(results[::2], results[1::2]):
            # Not a timing check: the index must have changed nothing but the time.
            same = full["liquidated"] == index["liquidated"] and (full["pool"], full["insurance"]) == (
                index["pool"], index["insurance"])
            print(f"{full['n']:,} positions: path {full['path_wall']:.2f} s full scan, {index['path_wall']:.2f} s "
                  f"indexed ({full['path_wall'] / index['path_wall']:.1f}x; finding {full['find_wall']:.2f} s vs "
                  f"{index['find_wall']:.2f} s); same liquidations at every step "
                  f"and same pool and insurance balances: {'yes' if same else 'NO'}")
            assert same, "the indexed scan liquidated differently from the full scan"
    print(f"total wall time {time.perf_counter() - t:.1f} s")
    if args.profile:
        for n in args.sizes:
            profile(n, args.seed)


if __name__ == "__main__":
    main()

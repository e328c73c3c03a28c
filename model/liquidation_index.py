"""Which positions are liquidatable, at a cost of about what is found.

Model-only (no contract twin): a keeper's index over the model engine's
open positions, so a price step checks the few positions that could be
liquidatable rather than all of them. The index only prunes; every
candidate is decided by the engine's own rule (`risk.shortfall`, i.e.
`equity < maintenance`), so its answer is the full scan's answer.

The bound. For a fixed borrow index, a long's equity only grows with the
price and a short's only falls (`_pnl` is monotone, rounding included, and
the cap is a min), so each position has one threshold: `_liquidation_bounds`
gives it exactly, the cap counted (a long is liquidatable below it, a short
above it; or at every price; or, a long, at none). The borrow fee only
grows with the index, so a threshold taken at a higher index `I_h` bounds
every index up to `I_h`: a long at or above it, or a short at or below it,
is not liquidatable at any index <= I_h. Each market keeps one `I_h` (its
index `horizon` seconds ahead at its borrow rate when it was last bounded)
and its maintenance margin; a scan whose view has a higher index, or
another margin, re-bounds that market first. Soundness rests on those two
monotonicities and on the comparison with the view, not on how the index
moves in time, so a changed borrow rate needs no notice.

Freshness. Every change of a position emits an engine event naming it
(opened, collateral added or removed, increased, decreased, closed,
liquidated) in the same call as the write, and a reverted call takes its
events with it. The index reads the event log from where it stopped and
re-reads the named slots. A market's new parameters need no event: the
comparison with the view above catches a new margin or a faster index. If
the log no longer holds what the index last read (a rolled-back what-if),
it rebuilds from the slots.

Per market side the thresholds sit in a heap keyed so that candidates are
exactly the entries with key < bound (long: key -threshold, bound -price;
short: key threshold, bound price). Walking the heap from its root and
pruning every subtree whose root fails visits at most twice as many nodes
as it yields. A changed position's old entry stays in the heap, dead (its
slot's live entry is another object), until the heap is compacted.
"""
import heapq
from itertools import count
from typing import Dict, List, Optional, Tuple

from .markets import exit_price, index_at
from .positions import GEN_BITS, position_id_of
from .risk import _liquidation_bounds, shortfall

# Always a candidate: liquidatable at every price at the bound's index.
ALWAYS = float("-inf")
DEFAULT_HORIZON = 6 * 3600


class MarketBound:
    """One market's bound: the index its thresholds assume, and its margin."""
    __slots__ = ("index_hi", "maintenance_bps", "sides", "entries")

    def __init__(self, index_hi: int, maintenance_bps: int):
        self.index_hi = index_hi
        self.maintenance_bps = maintenance_bps
        self.sides = {True: [], False: []}      # is_long -> heap of entries
        self.entries: Dict[int, tuple] = {}     # slot -> live entry


class LiquidationIndex:
    """The model engine's open positions, indexed by liquidation price per
    market side. `liquidatable(markets)` answers what `harness.keeper.health.
    liquidatable(open_positions(engine), markets)` answers, in its order."""

    def __init__(self, engine, horizon: int = DEFAULT_HORIZON):
        if engine._journal.events is None:
            # Without the log there is no way to hear of a changed position.
            raise ValueError("LiquidationIndex needs an engine whose journal records events")
        self.engine = engine
        self.horizon = horizon
        self._seq = count()
        self._markets: Dict[int, MarketBound] = {}
        self._mark = None           # (length of the log read, its last entry)
        self.checked = 0            # exact checks made, for the curious

    # ------------------------------------------------------------ bounds

    def _bound_market(self, market_id: int, index_now: int, maintenance_bps: int) -> MarketBound:
        rate = self.engine.market_params(market_id).borrow_rate
        b = MarketBound(index_now + rate * self.horizon, maintenance_bps)
        old = self._markets.get(market_id)
        self._markets[market_id] = b
        if old is not None:
            for slot, entry in old.entries.items():
                self._put(b, slot, entry[3], heap=False)
            for side in b.sides.values():
                heapq.heapify(side)
        return b

    def _put(self, b: MarketBound, slot: int, pos, heap: bool = True) -> None:
        price, at_any, at_none = _liquidation_bounds(pos, b.index_hi, pos.maintenance_margin_bps)
        if at_any:
            key = ALWAYS
        elif at_none:
            key = None              # a long that holds down to price 0
        else:
            key = -price if pos.is_long else price
        entry = (key, next(self._seq), slot, pos)
        b.entries[slot] = entry
        if key is not None:
            side = b.sides[pos.is_long]
            if heap:
                heapq.heappush(side, entry)
            else:
                side.append(entry)

    def _market_of(self, market_id: int) -> MarketBound:
        b = self._markets.get(market_id)
        if b is None:
            st = self.engine.market_state(market_id)
            p = self.engine.market_params(market_id)
            b = self._bound_market(market_id, index_at(st.borrow_index, st.last_accrual, p.borrow_rate,
                                                       self.engine.env.timestamp), p.maintenance_margin_bps)
        return b

    def _refresh(self, slot: int) -> None:
        for b in self._markets.values():
            if b.entries.pop(slot, None) is not None:
                break
        pos = self.engine.slots_[slot]
        if pos.is_open:
            self._put(self._market_of(pos.market_id), slot, pos)

    # ------------------------------------------------------------ sync

    def rebuild(self) -> None:
        """From the engine's slots, forgetting everything (O(positions))."""
        self._markets = {}
        for slot, pos in self.engine.slots_.items():
            if pos.is_open:
                self._put(self._market_of(pos.market_id), slot, pos, heap=False)
        for b in self._markets.values():
            for side in b.sides.values():
                heapq.heapify(side)
        events = self.engine._journal.events
        self._mark = (len(events), events[-1] if events else None)

    def sync(self) -> None:
        """Catch up with the engine's event log."""
        events = self.engine._journal.events
        if self._mark is None:
            self.rebuild()
            return
        n, last = self._mark
        if len(events) < n or (n and events[n - 1] is not last):
            self.rebuild()
            return
        engine_address = self.engine.address
        slots = set()
        for address, ev in events[n:]:
            if address == engine_address:
                pid = getattr(ev, "position_id", None)
                if pid is not None:
                    slots.add(pid >> GEN_BITS)
        self._mark = (len(events), events[-1] if events else None)
        for slot in slots:
            self._refresh(slot)

    def positions(self) -> Dict[int, object]:
        """position id -> the Position object each live entry was bounded
        from: after sync(), the engine's open positions, object for object."""
        return {position_id_of(slot, e[3].generation): e[3]
                for b in self._markets.values() for slot, e in b.entries.items()}

    # ------------------------------------------------------------ scan

    def candidates(self, market_id: int, is_long: bool, price: int, index: int, maintenance_bps: int):
        """(position id, position) of every open position of the side that
        the bound cannot rule out at `price` and any index up to `index`."""
        b = self._markets.get(market_id)
        if b is None:
            return []
        if index > b.index_hi or maintenance_bps != b.maintenance_bps:
            b = self._bound_market(market_id, index, maintenance_bps)
        heap, entries = b.sides[is_long], b.entries
        if len(heap) > 2 * len(entries) + 1_000:
            heap[:] = [e for e in heap if entries.get(e[2]) is e]
            heapq.heapify(heap)
        bound = -price if is_long else price
        # Every entry the bound cannot rule out comes off the heap, the dead
        # with the rest, and the live go back: the work is what the scan
        # yields plus the dead it meets, and liquidated positions (small keys,
        # at the top) do not stay in the way of the next scan.
        out, keep = [], []
        while heap and heap[0][0] < bound:
            entry = heapq.heappop(heap)
            slot = entry[2]
            if entries.get(slot) is entry:
                keep.append(entry)
                pos = entry[3]
                out.append((position_id_of(slot, pos.generation), pos))
        for entry in keep:
            heapq.heappush(heap, entry)
        return out

    def liquidatable(self, markets) -> List[Tuple[int, int]]:
        """(position id, shortfall below maintenance) of every liquidatable
        position, deepest first, then by id. `markets`: market id -> a view
        with `price` (None: the oracle is refused, nothing liquidatable),
        `index` and `maintenance_bps`, as harness.keeper.health.MarketView."""
        self.sync()
        out = []
        for market_id, m in markets.items():
            if m.price is None or market_id not in self._markets:
                continue
            for is_long in (True, False):
                found = self.candidates(market_id, is_long, m.price, m.index, m.maintenance_bps)
                self.checked += len(found)
                for pid, pos in found:
                    below = shortfall(pos, m.price, m.index)
                    if below > 0:
                        out.append((pid, below))
        out.sort(key=lambda x: (-x[1], x[0]))
        return out


class View:
    """A market as the engine would see it in a block at a timestamp."""
    __slots__ = ("price", "index", "maintenance_bps")

    def __init__(self, price: Optional[int], index: int, maintenance_bps: int):
        self.price, self.index, self.maintenance_bps = price, index, maintenance_bps


def views_at(engine, timestamp: int) -> Dict[int, View]:
    """Every listed market as the engine would price and index it at
    `timestamp` for a liquidation (markets.index_at, exit_price: the
    engine's rules, a dead feed's last good price included)."""
    out = {}
    for market_id in range(1, engine.market_count + 1):
        st = engine.market_state(market_id)
        p = engine.market_params(market_id)
        answered, answer, updated_at = engine.rules.feed_round(st.feed)
        out[market_id] = View(exit_price(answered, answer, updated_at, engine.market_last_price[market_id],
                                         p.staleness, timestamp),
                              index_at(st.borrow_index, st.last_accrual, p.borrow_rate, timestamp),
                              p.maintenance_margin_bps)
    return out

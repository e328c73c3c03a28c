"""The protocol's whole state off a chain, in one batch of calls.

Every slot (Lens.slots, a page of PAGE a call), the token balance of
every holder and every vault (Lens.balances, LENS_PAGE a call; vault
addresses are CREATE addresses, so they are known before the slots are
read), LP shares, Lens.totals, every market's state and parameters,
owner and guardian. The twin reads it after every step, the audit at one
block, the keeper pages slots with the same reads.
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence

from .layout import LENS_PAGE, slot_pages, vault_address

Call = tuple   # (address, contract, fn, args)
# Engine.market_state's fields, in order; model_market_state is the model's side.
MARKET_STATE_FIELDS = ("feed", "oi_long", "oi_short", "borrow_index", "last_accrual")


def model_market_state(st) -> tuple:
    """A model MarketState as Engine.market_state returns it."""
    return tuple(getattr(st, f) for f in MARKET_STATE_FIELDS)


@dataclass
class ChainState:
    """What one snapshot saw: enough to check invariants on chain data alone."""
    slots: list            # Engine.PositionView tuples, slot 1..vault_count
    balances: Dict[str, int]
    shares: Dict[str, int]
    totals: tuple
    total_supply: int
    vault_count: int = 0
    market_states: list = None
    market_params: list = None
    guardian: str = ""
    owner: str = ""
    exposures: list = None         # per market: (long Side tuple, short Side tuple)
    pool_cash: int = 0
    pending_deposits: int = 0
    request_count: int = 0


def slot_calls(lens, engine: str, windows) -> List[Call]:
    """Lens.slots pages; without a Lens, one Engine.slot call per slot
    (the same views, batched the same way, only more calls)."""
    if lens is None:
        return [(engine, "Engine", "slot", [s]) for first, count in windows for s in range(first, first + count)]
    return [(lens, "Lens", "slots", [engine, first, count]) for first, count in windows]


def read_slots(call_many: Callable[[List[Call]], list], lens, engine: str, windows) -> list:
    """Engine.PositionView tuples of the slots in `windows` ((first, count)
    pairs within 1..vault_count)."""
    results = call_many(slot_calls(lens, engine, windows))
    if lens is None:
        return list(results)
    return [view for page in results for view in page]


class Snapshot:
    """The calls of one ChainState, and how to decode their results.

    `d` names the engine, token, pool and lens; `holders` are read for
    token balances (with every vault of slots 1..slot_count after them),
    `share_holders` for LP shares."""

    def __init__(self, d, holders: Sequence[str], share_holders: Sequence[str], slot_count: int,
                 market_count: int):
        self.d, self.slot_count, self.market_count = d, slot_count, market_count
        self.share_holders = list(share_holders)
        self.holders = list(holders) + [vault_address(d.engine, s) for s in range(1, slot_count + 1)]
        self.balance_pages = [self.holders[i:i + LENS_PAGE] for i in range(0, len(self.holders), LENS_PAGE)]

    @property
    def shape(self) -> tuple:
        return (self.slot_count, self.market_count, len(self.balance_pages), len(self.share_holders))

    def calls(self) -> List[Call]:
        d, markets = self.d, range(1, self.market_count + 1)
        calls = [(d.engine, "Engine", "vault_count", []),
                 (d.lens, "Lens", "totals", [d.engine]),
                 (d.token, "MockUSDC", "totalSupply", []),
                 (d.lens, "Lens", "balances", [d.pool, self.share_holders]),
                 (d.engine, "Engine", "guardian", []),
                 (d.engine, "Engine", "owner", [])]
        calls += [(d.engine, "Engine", "market_state", [m]) for m in markets]
        calls += [(d.engine, "Engine", "market_params", [m]) for m in markets]
        calls += [(d.engine, "Engine", "exposure", [m, side]) for m in markets for side in (True, False)]
        calls += [(d.pool, "LiquidityPool", "cash", []), (d.pool, "LiquidityPool", "pending_deposits", []),
                  (d.pool, "LiquidityPool", "request_count", [])]
        calls += [(d.lens, "Lens", "balances", [d.token, page]) for page in self.balance_pages]
        return calls + slot_calls(d.lens, d.engine, slot_pages(self.slot_count))

    def decode(self, r: list) -> ChainState:
        markets, pages = self.market_count, len(self.balance_pages)
        count, totals, supply, shares, guardian, owner = r[:6]
        at = 6 + 2 * markets
        ex = [tuple(x) for x in r[at:at + 2 * markets]]
        cash, pending, requests = r[at + 2 * markets:at + 2 * markets + 3]
        params_end, at = at, at + 2 * markets + 3
        balances = [b for page in r[at:at + pages] for b in page]
        return ChainState(
            slots=[s for page in r[at + pages:] for s in page],
            balances=dict(zip(self.holders, balances)),
            shares=dict(zip(self.share_holders, shares)),
            totals=totals,
            total_supply=supply,
            vault_count=count,
            market_states=[tuple(x) for x in r[6:6 + markets]],
            market_params=[tuple(x) for x in r[6 + markets:params_end]],
            guardian=guardian,
            owner=owner,
            exposures=[(ex[2 * i], ex[2 * i + 1]) for i in range(markets)],
            pool_cash=cash,
            pending_deposits=pending,
            request_count=requests,
        )

    def read(self, call_many: Callable[[List[Call]], list]) -> ChainState:
        return self.decode(call_many(self.calls()))

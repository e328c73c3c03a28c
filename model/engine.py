"""Twin of contracts/Engine.vy: the same rules, names, checks and rounding.

Read the two side by side: every external function, every internal rule
(_fee, _pnl, _settle, _take_slot, ...) and every revert reason is here under
the same name and in the same order. Positions are stored as whole records
rather than packed words; the 128-bit bounds of the packing are still
checked in _store, as on chain.
"""
from dataclasses import dataclass, replace
from typing import Callable, Optional

from .env import ZERO_ADDRESS, Env
from .errors import Revert, checked, require
from .journal import Contract, Journal, external
from .token import Token

BPS = 10_000
INDEX_ONE = 10**18
MAX_U128 = 2**128 - 1
FREE_END = 2**256 - 1
GEN_BITS = 32
GEN_MASK = 2**32 - 1

MAX_MARKETS = 65_535
MIN_INITIAL_MARGIN_BPS = 10
MAX_FEE_BPS = 500
MAX_LIQUIDATION_FEE_BPS = 1_000
MAX_MAX_PROFIT_BPS = 100_000
MAX_BORROW_RATE = 317_097_919_837
MAX_STALENESS = 7 * 86_400


@dataclass(frozen=True)
class MarketParams:
    initial_margin_bps: int
    maintenance_margin_bps: int
    open_fee_bps: int
    close_fee_bps: int
    liquidation_fee_bps: int
    insurance_share_bps: int
    max_profit_bps: int
    borrow_rate: int
    staleness: int
    min_collateral: int
    oi_cap: int

    def as_tuple(self) -> tuple:
        return tuple(self.__dict__[f] for f in self.__dataclass_fields__)


@dataclass(frozen=True)
class MarketState:
    feed: str = ZERO_ADDRESS
    oi_long: int = 0
    oi_short: int = 0
    borrow_index: int = 0
    last_accrual: int = 0


@dataclass(frozen=True)
class Position:
    owner: str = ZERO_ADDRESS
    market_id: int = 0
    is_long: bool = False
    max_profit_bps: int = 0
    generation: int = 0
    is_open: bool = False
    size: int = 0
    collateral: int = 0
    entry_price: int = 0
    entry_index: int = 0


@dataclass(frozen=True)
class PositionView:
    position_id: int
    slot: int
    vault: str
    is_open: bool
    owner: str
    market_id: int
    is_long: bool
    size: int
    collateral: int
    entry_price: int
    entry_index: int
    max_profit_bps: int
    reserve: int


@dataclass(frozen=True)
class Health:
    price: int
    pnl: int
    borrow_fee: int
    equity: int
    maintenance_margin: int
    liquidation_price: int
    liquidatable: bool


@dataclass(frozen=True)
class Totals:
    pool_assets: int
    pool_shares: int
    total_reserved: int
    insurance_assets: int
    open_positions: int
    vault_count: int
    market_count: int
    paused: bool


@dataclass
class Settlement:
    pnl: int = 0
    borrow_fee: int = 0
    trading_fee: int = 0
    to_trader: int = 0
    to_pool: int = 0
    from_pool: int = 0
    bad_debt: int = 0


# ---------------------------------------------------------------- math (pure)

def _fee(amount: int, bps: int) -> int:
    return (amount * bps + BPS - 1) // BPS


def _reserve(size: int, max_profit_bps: int) -> int:
    return size * max_profit_bps // BPS


def _pnl(is_long: bool, size: int, entry_price: int, price: int) -> int:
    if is_long == (price >= entry_price):
        move = price - entry_price if is_long else entry_price - price
        return size * move // entry_price
    move = entry_price - price if is_long else price - entry_price
    return -((size * move + entry_price - 1) // entry_price)


def _capped_pnl(pos: Position, price: int) -> int:
    return min(_pnl(pos.is_long, pos.size, pos.entry_price, price), _reserve(pos.size, pos.max_profit_bps))


def _borrow_fee(size: int, entry_index: int, index: int) -> int:
    return (size * (index - entry_index) + INDEX_ONE - 1) // INDEX_ONE


def _equity(pos: Position, price: int, index: int) -> int:
    return pos.collateral + _capped_pnl(pos, price) - _borrow_fee(pos.size, pos.entry_index, index)


def _average_entry(is_long: bool, size: int, entry_price: int, size_delta: int, price: int) -> int:
    num = (size + size_delta) * entry_price * price
    den = size * price + size_delta * entry_price
    if is_long:
        return (num + den - 1) // den
    return num // den


def _liquidation_price(pos: Position, index: int, maintenance_bps: int) -> int:
    slack = pos.collateral - (_borrow_fee(pos.size, pos.entry_index, index) + _fee(pos.size, maintenance_bps))
    if slack >= 0:
        move = pos.entry_price * slack // pos.size
        if pos.is_long:
            return 0 if move >= pos.entry_price else pos.entry_price - move
        return pos.entry_price + move
    move_up = (pos.entry_price * -slack + pos.size - 1) // pos.size
    if pos.is_long:
        return pos.entry_price + move_up
    return 0 if move_up >= pos.entry_price else pos.entry_price - move_up


def position_id_of(slot: int, generation: int) -> int:
    return (slot << GEN_BITS) | generation


class Engine(Contract):
    def __init__(self, journal: Journal, env: Env, address: str, token: Token, owner: str, guardian: str,
                 pool_address: str, insurance: str, vault_address: Optional[Callable[[int], str]] = None):
        super().__init__(journal)
        self.env = env
        self.address = address
        self.token = token
        self.POOL = pool_address
        self.INSURANCE = insurance
        # Vault addresses are CREATE addresses on chain; the harness passes
        # how to name them so model and chain balances share keys.
        self.vault_address = vault_address or (lambda slot: f"vault:{slot}")
        # Feed contracts by address; journaled, so one deployed inside a
        # what-if is gone afterwards, as on chain.
        self.feeds = self.mapping(None)
        self.owner = owner
        self.pending_owner = ZERO_ADDRESS
        self.guardian = guardian
        self.paused = False
        self.total_reserved = 0
        self.open_positions = 0
        self.market_count = 0
        self.vault_count = 0
        self.market_params = self.mapping(None)
        self.market_state = self.mapping(MarketState())
        self.vaults = self.mapping(ZERO_ADDRESS)
        self.slots_ = self.mapping(Position())
        self.free_next = self.mapping()
        self.free_head = FREE_END

    # ---------------------------------------------------------------- storage

    def _store(self, slot: int, pos: Position) -> None:
        require(pos.size <= MAX_U128, "engine: size too large")
        require(pos.collateral <= MAX_U128, "engine: collateral too large")
        self.slots_[slot] = pos

    def _load(self, position_id: int):
        slot = position_id >> GEN_BITS
        pos = self.slots_[slot]
        require(pos.is_open and pos.generation == position_id & GEN_MASK, "engine: position not open")
        return slot, pos

    def _take_slot(self) -> int:
        slot = self.free_head
        if slot != FREE_END:
            self.free_head = self.free_next[slot]
            return slot
        slot = self.vault_count + 1
        self.vault_count = slot
        self.vaults[slot] = self.vault_address(slot)
        return slot

    def _release_slot(self, slot: int, pos: Position) -> None:
        self.slots_[slot] = replace(self.slots_[slot], is_open=False)
        self.free_next[slot] = self.free_head
        self.free_head = slot
        self.open_positions -= 1
        self._add_open_interest(pos.market_id, pos.is_long, pos.size, False)
        self.total_reserved -= _reserve(pos.size, pos.max_profit_bps)

    def _add_open_interest(self, market_id: int, is_long: bool, amount: int, increase: bool) -> None:
        st = self.market_state[market_id]
        delta = amount if increase else -amount
        if is_long:
            self.market_state[market_id] = replace(st, oi_long=checked(st.oi_long + delta))
        else:
            self.market_state[market_id] = replace(st, oi_short=checked(st.oi_short + delta))

    # ---------------------------------------------------------------- oracle and fees

    def _accrue(self, market_id: int) -> int:
        st = self.market_state[market_id]
        index = st.borrow_index
        now = self.env.timestamp
        if now > st.last_accrual:
            index += self.market_params[market_id].borrow_rate * (now - st.last_accrual)
            require(index <= MAX_U128, "engine: borrow index overflow")
            self.market_state[market_id] = replace(st, borrow_index=index, last_accrual=now)
        return index

    def _current_index(self, market_id: int) -> int:
        st = self.market_state[market_id]
        if self.env.timestamp > st.last_accrual:
            return st.borrow_index + self.market_params[market_id].borrow_rate * (self.env.timestamp - st.last_accrual)
        return st.borrow_index

    def _price(self, market_id: int) -> int:
        feed = self.market_state[market_id].feed
        require(feed != ZERO_ADDRESS, "engine: unknown market")
        aggregator = self.feeds[feed]
        if aggregator is None:
            raise Revert(None)      # no contract there: the call reverts without a reason
        _, answer, _, updated_at, _ = aggregator.latestRoundData()
        require(answer > 0, "oracle: price not positive")
        require(updated_at + self.market_params[market_id].staleness >= self.env.timestamp, "oracle: price is stale")
        require(answer <= MAX_U128, "oracle: price out of range")
        return answer

    # ---------------------------------------------------------------- token movements

    def _pull(self, src: str, vault: str, amount: int) -> None:
        self.token.transferFrom(src, vault, amount, sender=self.address)

    def _pay_from_vault(self, vault: str, to: str, amount: int) -> None:
        if amount != 0:
            self.token.transfer(to, amount, sender=vault)

    def _pay_from_pool(self, to: str, amount: int) -> None:
        if amount != 0:
            self.token.transferFrom(self.POOL, to, amount, sender=self.address)

    def _cover_bad_debt(self, bad_debt: int) -> int:
        if bad_debt == 0:
            return 0
        cover = min(bad_debt, self.token.balanceOf[self.INSURANCE])
        self._pay_from_vault(self.INSURANCE, self.POOL, cover)
        return cover

    def _settle(self, pos: Position, price: int, index: int, fee_bps: int) -> Settlement:
        s = Settlement()
        s.pnl = _capped_pnl(pos, price)
        s.borrow_fee = _borrow_fee(pos.size, pos.entry_index, index)
        s.trading_fee = _fee(pos.size, fee_bps)
        value = pos.collateral + s.pnl - (s.borrow_fee + s.trading_fee)
        if value >= pos.collateral:
            s.to_trader = pos.collateral
            s.from_pool = value - pos.collateral
        elif value > 0:
            s.to_trader = value
            s.to_pool = pos.collateral - value
        else:
            s.to_pool = pos.collateral
            s.bad_debt = -value
        return s

    # ---------------------------------------------------------------- positions

    @external
    def open_position(self, market_id: int, is_long: bool, size: int, amount: int, *, sender: str) -> int:
        require(not self.paused, "engine: paused")
        require(self.market_state[market_id].feed != ZERO_ADDRESS, "engine: unknown market")
        require(size != 0, "engine: zero size")
        require(size <= MAX_U128, "engine: size too large")
        require(amount <= MAX_U128, "engine: amount too large")
        index = self._accrue(market_id)
        price = self._price(market_id)
        p = self.market_params[market_id]
        open_fee = _fee(size, p.open_fee_bps)
        require(amount > open_fee, "engine: amount does not cover the open fee")
        collateral = amount - open_fee
        require(collateral >= p.min_collateral, "engine: collateral below minimum")
        require(collateral >= _fee(size, p.initial_margin_bps), "engine: leverage above maximum")
        st = self.market_state[market_id]
        oi = st.oi_long if is_long else st.oi_short
        require(oi + size <= p.oi_cap, "engine: open interest cap reached")
        max_profit_bps = p.max_profit_bps
        reserved = self.total_reserved + _reserve(size, max_profit_bps)
        require(reserved <= self.token.balanceOf[self.POOL], "engine: pool liquidity too low")

        slot = self._take_slot()
        generation = self.slots_[slot].generation + 1
        require(generation <= GEN_MASK, "engine: slot generations exhausted")
        self._store(slot, Position(owner=sender, market_id=market_id, is_long=is_long,
                                   max_profit_bps=max_profit_bps, generation=generation, is_open=True,
                                   size=size, collateral=collateral, entry_price=price, entry_index=index))
        self.total_reserved = reserved
        self.open_positions += 1
        self._add_open_interest(market_id, is_long, size, True)

        position_id = position_id_of(slot, generation)
        self._pull(sender, self.vaults[slot], collateral)
        if open_fee != 0:
            self.token.transferFrom(sender, self.POOL, open_fee, sender=self.address)
        return position_id

    @external
    def add_collateral(self, position_id: int, amount: int, *, sender: str) -> None:
        slot, pos = self._load(position_id)
        require(pos.owner == sender, "engine: caller is not the position owner")
        require(amount != 0, "engine: zero amount")
        require(amount <= MAX_U128, "engine: amount too large")
        pos = replace(pos, collateral=pos.collateral + amount)
        self._store(slot, pos)
        self._pull(sender, self.vaults[slot], amount)

    @external
    def remove_collateral(self, position_id: int, amount: int, *, sender: str) -> None:
        require(not self.paused, "engine: paused")
        slot, pos = self._load(position_id)
        require(pos.owner == sender, "engine: caller is not the position owner")
        require(amount != 0, "engine: zero amount")
        require(amount < pos.collateral, "engine: amount exceeds collateral")
        pos = replace(pos, collateral=pos.collateral - amount)
        require(pos.collateral >= self.market_params[pos.market_id].min_collateral, "engine: collateral below minimum")
        index = self._accrue(pos.market_id)
        price = self._price(pos.market_id)
        margin = _fee(pos.size, self.market_params[pos.market_id].initial_margin_bps)
        require(_equity(pos, price, index) >= margin, "engine: margin too low")
        self._store(slot, pos)
        self._pay_from_vault(self.vaults[slot], sender, amount)

    @external
    def increase_position(self, position_id: int, size_delta: int, collateral_delta: int, *, sender: str) -> None:
        require(not self.paused, "engine: paused")
        slot, pos = self._load(position_id)
        require(pos.owner == sender, "engine: caller is not the position owner")
        require(size_delta != 0, "engine: zero size")
        require(size_delta <= MAX_U128, "engine: size too large")
        require(collateral_delta <= MAX_U128, "engine: amount too large")
        market_id = pos.market_id
        index = self._accrue(market_id)
        price = self._price(market_id)
        p = self.market_params[market_id]
        borrow_fee = _borrow_fee(pos.size, pos.entry_index, index)
        open_fee = _fee(size_delta, p.open_fee_bps)
        funds = pos.collateral + collateral_delta
        require(funds > borrow_fee + open_fee, "engine: collateral does not cover fees")
        old_reserve = _reserve(pos.size, pos.max_profit_bps)
        pos = replace(pos,
                      entry_price=_average_entry(pos.is_long, pos.size, pos.entry_price, size_delta, price),
                      size=pos.size + size_delta,
                      collateral=funds - borrow_fee - open_fee,
                      entry_index=index,
                      max_profit_bps=p.max_profit_bps)
        require(pos.collateral >= p.min_collateral, "engine: collateral below minimum")
        margin = _fee(pos.size, p.initial_margin_bps)
        require(_equity(pos, price, index) >= margin, "engine: leverage above maximum")
        st = self.market_state[market_id]
        oi = st.oi_long if pos.is_long else st.oi_short
        require(oi + size_delta <= p.oi_cap, "engine: open interest cap reached")
        new_reserve = _reserve(pos.size, pos.max_profit_bps)
        reserved = self.total_reserved - old_reserve + new_reserve
        if new_reserve > old_reserve:
            require(reserved <= self.token.balanceOf[self.POOL], "engine: pool liquidity too low")
        self._store(slot, pos)
        self.total_reserved = reserved
        self._add_open_interest(market_id, pos.is_long, size_delta, True)
        vault = self.vaults[slot]
        if collateral_delta != 0:
            self._pull(sender, vault, collateral_delta)
        self._pay_from_vault(vault, self.POOL, borrow_fee + open_fee)

    @external
    def decrease_position(self, position_id: int, size_delta: int, *, sender: str) -> None:
        slot, pos = self._load(position_id)
        require(pos.owner == sender, "engine: caller is not the position owner")
        require(size_delta != 0, "engine: zero size")
        require(size_delta < pos.size, "engine: decrease covers the whole position, close it")
        market_id = pos.market_id
        index = self._accrue(market_id)
        price = self._price(market_id)
        old_reserve = _reserve(pos.size, pos.max_profit_bps)
        new_reserve = _reserve(pos.size - size_delta, pos.max_profit_bps)
        pnl = min(_pnl(pos.is_long, size_delta, pos.entry_price, price), old_reserve - new_reserve)
        borrow_fee = _borrow_fee(pos.size, pos.entry_index, index)
        close_fee = _fee(size_delta, self.market_params[market_id].close_fee_bps)
        net = pnl - (borrow_fee + close_fee)
        to_trader = to_pool = 0
        if net >= 0:
            to_trader = net
        else:
            to_pool = -net
            require(to_pool < pos.collateral, "engine: loss exceeds collateral, close it")
        pos = replace(pos, size=pos.size - size_delta, collateral=pos.collateral - to_pool, entry_index=index)
        require(pos.collateral >= self.market_params[market_id].min_collateral, "engine: collateral below minimum")
        maintenance = _fee(pos.size, self.market_params[market_id].maintenance_margin_bps)
        require(_equity(pos, price, index) >= maintenance, "engine: position would be liquidatable")
        self._store(slot, pos)
        self.total_reserved -= old_reserve - new_reserve
        self._add_open_interest(market_id, pos.is_long, size_delta, False)
        self._pay_from_pool(sender, to_trader)
        self._pay_from_vault(self.vaults[slot], self.POOL, to_pool)

    @external
    def close_position(self, position_id: int, *, sender: str) -> Settlement:
        slot, pos = self._load(position_id)
        require(pos.owner == sender, "engine: caller is not the position owner")
        index = self._accrue(pos.market_id)
        price = self._price(pos.market_id)
        s = self._settle(pos, price, index, self.market_params[pos.market_id].close_fee_bps)
        self._release_slot(slot, pos)
        vault = self.vaults[slot]
        self._pay_from_vault(vault, sender, s.to_trader)
        self._pay_from_vault(vault, self.POOL, s.to_pool)
        self._pay_from_pool(sender, s.from_pool)
        self._cover_bad_debt(s.bad_debt)
        return s

    @external
    def liquidate(self, position_id: int, *, sender: str) -> dict:
        slot, pos = self._load(position_id)
        market_id = pos.market_id
        index = self._accrue(market_id)
        price = self._price(market_id)
        p = self.market_params[market_id]
        pnl = _capped_pnl(pos, price)
        borrow_fee = _borrow_fee(pos.size, pos.entry_index, index)
        equity = pos.collateral + pnl - borrow_fee
        maintenance = _fee(pos.size, p.maintenance_margin_bps)
        require(equity < maintenance, "engine: position is healthy")
        reward = min(_fee(pos.size, p.liquidation_fee_bps), pos.collateral)
        rest = equity - reward
        remainder = bad_debt = 0
        if rest > 0:
            remainder = min(rest, pos.collateral - reward)
        else:
            bad_debt = -rest
        insurance_cut = remainder * p.insurance_share_bps // BPS
        to_pool = pos.collateral - reward - insurance_cut
        self._release_slot(slot, pos)
        vault = self.vaults[slot]
        self._pay_from_vault(vault, sender, reward)
        self._pay_from_vault(vault, self.INSURANCE, insurance_cut)
        self._pay_from_vault(vault, self.POOL, to_pool)
        cover = self._cover_bad_debt(bad_debt)
        return dict(price=price, pnl=pnl, borrow_fee=borrow_fee, reward=reward, insurance_cut=insurance_cut,
                    to_pool=to_pool, bad_debt=bad_debt, insurance_cover=cover)

    @external
    def fund_insurance(self, amount: int, *, sender: str) -> None:
        require(amount != 0, "engine: zero amount")
        self._pull(sender, self.INSURANCE, amount)

    # ---------------------------------------------------------------- governance

    def _check_owner(self, sender: str) -> None:
        require(sender == self.owner, "ownable: caller is not the owner")

    @staticmethod
    def _check_params(p: MarketParams) -> None:
        require(MIN_INITIAL_MARGIN_BPS <= p.initial_margin_bps <= BPS, "params: initial margin out of bounds")
        require(p.maintenance_margin_bps != 0 and p.maintenance_margin_bps < p.initial_margin_bps,
                "params: maintenance margin out of bounds")
        require(p.open_fee_bps <= MAX_FEE_BPS, "params: open fee out of bounds")
        require(p.close_fee_bps <= MAX_FEE_BPS, "params: close fee out of bounds")
        require(p.liquidation_fee_bps <= MAX_LIQUIDATION_FEE_BPS and p.liquidation_fee_bps <= p.maintenance_margin_bps,
                "params: liquidation fee out of bounds")
        require(p.insurance_share_bps <= BPS, "params: insurance share out of bounds")
        require(p.max_profit_bps != 0 and p.max_profit_bps <= MAX_MAX_PROFIT_BPS, "params: max profit out of bounds")
        require(p.borrow_rate <= MAX_BORROW_RATE, "params: borrow rate out of bounds")
        require(p.staleness != 0 and p.staleness <= MAX_STALENESS, "params: staleness out of bounds")
        require(p.min_collateral != 0 and p.min_collateral <= MAX_U128, "params: min collateral out of bounds")
        require(p.oi_cap != 0 and p.oi_cap <= MAX_U128, "params: open interest cap out of bounds")

    @external
    def list_market(self, feed: str, params: MarketParams, *, sender: str) -> int:
        self._check_owner(sender)
        require(feed != ZERO_ADDRESS, "params: zero feed")
        self._check_params(params)
        market_id = self.market_count + 1
        require(market_id <= MAX_MARKETS, "params: too many markets")
        self.market_count = market_id
        self.market_state[market_id] = MarketState(feed=feed, last_accrual=self.env.timestamp)
        self.market_params[market_id] = params
        return market_id

    @external
    def set_market_params(self, market_id: int, params: MarketParams, *, sender: str) -> None:
        self._check_owner(sender)
        require(self.market_state[market_id].feed != ZERO_ADDRESS, "engine: unknown market")
        self._check_params(params)
        self._accrue(market_id)
        self.market_params[market_id] = params

    @external
    def set_market_feed(self, market_id: int, feed: str, *, sender: str) -> None:
        self._check_owner(sender)
        require(self.market_state[market_id].feed != ZERO_ADDRESS, "engine: unknown market")
        require(feed != ZERO_ADDRESS, "params: zero feed")
        self.market_state[market_id] = replace(self.market_state[market_id], feed=feed)

    @external
    def set_guardian(self, guardian: str, *, sender: str) -> None:
        self._check_owner(sender)
        self.guardian = guardian

    @external
    def pause(self, *, sender: str) -> None:
        require(sender == self.guardian or sender == self.owner, "engine: caller is not the guardian")
        require(not self.paused, "engine: paused")
        self.paused = True

    @external
    def unpause(self, *, sender: str) -> None:
        self._check_owner(sender)
        require(self.paused, "engine: not paused")
        self.paused = False

    @external
    def transfer_ownership(self, new_owner: str, *, sender: str) -> None:
        self._check_owner(sender)
        self.pending_owner = new_owner

    @external
    def accept_ownership(self, *, sender: str) -> None:
        require(self.pending_owner == sender, "ownable_2step: caller is not the new owner")
        self.pending_owner = ZERO_ADDRESS
        self.owner = sender

    # ---------------------------------------------------------------- views

    def _view(self, slot: int) -> PositionView:
        pos = self.slots_[slot]
        vault = self.vaults[slot]
        if not pos.is_open:
            return PositionView(0, slot, vault, False, ZERO_ADDRESS, 0, False, 0, 0, 0, 0, 0, 0)
        return PositionView(position_id_of(slot, pos.generation), slot, vault, True, pos.owner, pos.market_id,
                            pos.is_long, pos.size, pos.collateral, pos.entry_price, pos.entry_index,
                            pos.max_profit_bps, _reserve(pos.size, pos.max_profit_bps))

    def position(self, position_id: int) -> PositionView:
        v = self._view(position_id >> GEN_BITS)
        if v.position_id != position_id:
            return PositionView(0, 0, ZERO_ADDRESS, False, ZERO_ADDRESS, 0, False, 0, 0, 0, 0, 0, 0)
        return v

    def slots(self, first: int, count: int) -> list:
        if first > self.vault_count:
            return []
        last = min(first + min(count, 100), self.vault_count + 1)
        return [self._view(slot) for slot in range(first, last)]

    def all_slots(self) -> list:
        return [self._view(slot) for slot in range(1, self.vault_count + 1)]

    def open_position_ids(self) -> list:
        return [position_id_of(s, p.generation) for s, p in self.slots_.items() if p.is_open]

    def health(self, position_id: int) -> Health:
        slot, pos = self._load(position_id)
        index = self._current_index(pos.market_id)
        mm_bps = self.market_params[pos.market_id].maintenance_margin_bps
        price = self._price(pos.market_id)
        pnl = _capped_pnl(pos, price)
        borrow_fee = _borrow_fee(pos.size, pos.entry_index, index)
        equity = pos.collateral + pnl - borrow_fee
        mm = _fee(pos.size, mm_bps)
        return Health(price, pnl, borrow_fee, equity, mm, _liquidation_price(pos, index, mm_bps), equity < mm)

    def totals(self, pool_shares: int) -> Totals:
        return Totals(self.token.balanceOf[self.POOL], pool_shares, self.total_reserved,
                      self.token.balanceOf[self.INSURANCE], self.open_positions, self.vault_count,
                      self.market_count, self.paused)

"""Twin of contracts/Engine.vy: the externals, in the contract's order,
composed from the twins of its modules as the contract is.

    risk.py       pure arithmetic (_fee, _pnl, _settle, ...)
    positions.py  slots, vaults, the recycled-vault stack  (Positions)
    markets.py    parameters, borrow index, oracle, OI     (Markets)
    transfers.py  token movements                          (Transfers)
    guardian.py   pause and its guardian                   (Guardian)
    exposure.py   per-market, per-side sums of positions   (Exposure)
    ownable.py    snekmate ownable + ownable_2step         (Ownable2Step)

Trades come only from the order book (orders.py), which the constructor
creates; liquidate asks it for the sequencer check (sequencer.py).

Every external calls the same internals, checks the same things in the
same order and logs the same events (engine_events.py) as its Vyper twin.
"""
from dataclasses import dataclass, replace
from typing import Callable, Optional

from .engine_events import (CollateralAdded, CollateralRemoved, InsuranceFunded, MarketFeedSet, MarketListed,
                            MarketParamsSet, PositionClosed, PositionDecreased, PositionIncreased,
                            PositionLiquidated, PositionOpened)
from .env import ZERO_ADDRESS, Env
from .exposure import Exposure, Side
from .errors import require
from .guardian import Guardian
from .journal import Contract, Journal, external
from .lens import Health, Totals, health_of, slots_of, totals_of
from .market_rules import MarketRules
from .markets import MarketParams, Markets, MarketState, index_at
from .orders import OrderBook
from .ownable import Ownable2Step
from .positions import EMPTY_VIEW, GEN_BITS, GEN_MASK, MAX_PAGE, Positions, PositionView, position_id_of
from .risk import (BPS, MAX_U128, Position, Settlement, _average_entry, _borrow_fee, _capped_pnl, _equity, _fee,
                   _liquidation_price, _pnl, _reserve, _settle)
from .token import Token
from .transfers import DonationSwept, Transfers, VaultFrozen


class Engine(Ownable2Step, Guardian, Markets, Positions, Exposure, Transfers, Contract):
    """Twin of Engine.vy: positions, liquidation, governance and views, one method per
    external of the same name and arguments, plus model-only views.

    Every external takes `sender=` (msg.sender) and runs as a transaction: a refusal raises
    model.Revert with the contract's reason and changes nothing. open, increase, decrease
    and close come only from the order book (`self.orders`, OrderBook.request_* then
    execute_order); add and remove collateral, liquidate and fund_insurance are called
    directly. Amounts are token base units, prices the feed's raw answer.
    """

    def __init__(self, journal: Journal, env: Env, address: str, token: Token, owner: str, guardian: str,
                 pool_address: str, insurance: str, vault_address: Optional[Callable[[int], str]] = None, *,
                 make_pool: Optional[Callable[["Engine"], object]] = None,
                 vault_implementation: str = "vault:implementation", orders_address: str = "orders",
                 rules_address: str = "rules",
                 sequencer_feed: str = ZERO_ADDRESS, sequencer_grace: int = 0, execution_fee: int = 0):
        """`owner` is the deployer. `make_pool(engine)` builds the pool's twin
        where the constructor creates the pool, so constructor events come
        in the chain's order; without it the caller builds the pool after.
        The order book's twin is built here, after the pool, as on chain."""
        Contract.__init__(self, journal)
        self.env = env
        self.address = address
        self.token = token
        # Vault addresses are CREATE addresses on chain; the harness passes
        # how to name them so model and chain balances share keys.
        self.vault_address = vault_address or (lambda slot: f"vault:{slot}")
        # Feed contracts by address; journaled, so one deployed inside a
        # what-if is gone afterwards, as on chain.
        self.feeds = self.mapping(None)
        Ownable2Step.__init__(self, owner)
        Markets.__init__(self)
        Positions.__init__(self)
        Exposure.__init__(self)
        Transfers.__init__(self)
        self.TOKEN = token.address
        self.VAULT_IMPLEMENTATION = vault_implementation
        self.INSURANCE = insurance
        self.POOL = pool_address
        self.ORDERS = orders_address
        self.SEQUENCER = sequencer_feed
        self.SEQUENCER_GRACE = sequencer_grace
        self.total_reserved = 0
        self.frozen_total = 0
        self.pool = make_pool(self) if make_pool is not None else None
        self.orders = OrderBook(journal, orders_address, token, self, sequencer_feed, sequencer_grace, execution_fee)
        self.RULES = rules_address
        self.rules = MarketRules(journal, rules_address, self.feeds)
        # Last, as on chain: guard.__init__ logs GuardianSet after the pool exists.
        Guardian.__init__(self, guardian)

    # ---------------------------------------------------------------- shared steps

    def _only_orders(self, *, sender: str) -> None:
        require(sender == self.ORDERS, "engine: only the order book")

    def _market_at(self, market_id: int, requested_at: int, acceptable_price: int, buying: bool, is_exit: bool):
        """(params, index accrued to now, oracle price), in that order: an
        index overflow outranks a bad price. The round must be newer than
        the request, the price no worse than the trader accepted: buying,
        at most acceptable_price; selling, at least. An exit (close,
        liquidation) may take the last good price of a dead feed (_trade_price)."""
        p = self._params(market_id)
        index = self._accrue(market_id, p.borrow_rate)
        price = self._trade_price(self.rules, market_id, p.staleness, requested_at, is_exit)
        require(price == acceptable_price or (price < acceptable_price) == buying,
                "engine: price beyond the acceptable price")
        return p, index, price

    def _check_liquidity(self, reserved: int) -> None:
        """The pool's cash (escrowed deposits aside) must cover every reserve."""
        require(reserved <= self.pool.cash(), "engine: pool liquidity too low")

    def _store_position(self, slot: int, old: Position, pos: Position) -> None:
        """Twin of Engine._store_position: writes the position, then moves its
        side's exposure sums from `old` (empty for an open) to it."""
        self._store(slot, pos)
        self._update(old, pos)

    def _release(self, slot: int, pos: Position) -> None:
        """Closes a whole position: frees its slot, then its open interest and reserve."""
        self._release_slot(slot)
        self._update(pos, Position())
        self._add_open_interest(pos.market_id, pos.is_long, pos.size, False)
        self.total_reserved -= _reserve(pos.size, pos.max_profit_bps)

    def _pay_exit(self, position_id: int, slot: int, a: str, a_amount: int, b: str, b_amount: int, c: str,
                  c_amount: int) -> bool:
        """An exit's payments out of its vault and the sweep of what is
        left to the pool (DonationSwept); a vault the token refuses alone
        pays nothing, its tokens counted in frozen_total and its slot
        retired (VaultFrozen). False when frozen."""
        vault = self._vault(slot)
        paid, left = Transfers._pay_exit(self, vault, self.POOL, self.INSURANCE, a, a_amount, b, b_amount, c,
                                         c_amount)
        if paid:
            if left != 0:
                self._emit(DonationSwept(position_id, vault, left))
            return True
        self.frozen_total += left
        self._retire(slot, vault)
        self._emit(VaultFrozen(position_id, vault, left))
        return False

    # ---------------------------------------------------------------- positions

    @external
    def open_position(self, trader: str, market_id: int, is_long: bool, size: int, amount: int,
                      acceptable_price: int, requested_at: int, *, sender: str) -> int:
        """Opens a position for `trader` (the order book's call, filling an open order).

        `amount` is what the order escrowed: the open fee `_fee(size, open_fee_bps)` goes to
        the pool, the rest is the collateral, moved into the position's own vault. Refused
        while paused, for a market not listed, at a round not newer than `requested_at` or a
        price beyond `acceptable_price` (a long buys: price <= it), below min collateral or
        initial margin, past the side's OI cap, or when the pool's cash cannot hold every
        reserve with this one's. Returns the new position id (`slot << 32 | generation`)."""
        self._only_orders(sender=sender)
        self._not_paused()
        self._listed(market_id)
        require(size != 0, "engine: zero size")
        require(size <= MAX_U128, "engine: size too large")
        require(amount <= MAX_U128, "engine: amount too large")
        p, index, price = self._market_at(market_id, requested_at, acceptable_price, is_long, False)
        open_fee = _fee(size, p.open_fee_bps)
        require(amount > open_fee, "engine: amount does not cover the open fee")
        collateral = amount - open_fee
        self._min_collateral(collateral, p)
        require(collateral >= _fee(size, p.initial_margin_bps), "engine: leverage above maximum")
        require(self._side_open_interest(market_id, is_long) + size <= p.oi_cap, "engine: open interest cap reached")
        max_profit_bps = p.max_profit_bps
        reserved = self.total_reserved + _reserve(size, max_profit_bps)
        self._check_liquidity(reserved)

        slot = self._take_slot(self.VAULT_IMPLEMENTATION, self.INSURANCE)
        generation = self._read(slot).generation + 1
        require(generation <= GEN_MASK, "engine: slot generations exhausted")
        self._store_position(slot, Position(), Position(owner=trader, market_id=market_id, is_long=is_long,
                                   max_profit_bps=max_profit_bps,
                                   maintenance_margin_bps=p.maintenance_margin_bps,
                                   liquidation_fee_bps=p.liquidation_fee_bps, generation=generation, is_open=True,
                                   size=size, collateral=collateral, entry_price=price, entry_index=index))
        self.total_reserved = reserved
        self.open_positions += 1
        self._add_open_interest(market_id, is_long, size, True)

        position_id = position_id_of(slot, generation)
        vault = self._vault(slot)
        self._pull(self.token, sender, vault, collateral)
        self._transfer_from(self.token, sender, self.POOL, open_fee)
        self._emit(PositionOpened(position_id, trader, market_id, is_long, size, collateral, price, index,
                                  max_profit_bps, open_fee, vault))
        return position_id

    @external
    def add_collateral(self, position_id: int, amount: int, *, sender: str) -> None:
        """The owner moves `amount` more into the position's vault. Needs no price and
        works while paused (a way out of liquidation when trades wait)."""
        slot, pos = self._load_owned(position_id, sender)
        old = pos
        require(amount != 0, "engine: zero amount")
        # Bounded before any arithmetic, so oversized input gets a reason.
        require(amount <= MAX_U128, "engine: amount too large")
        pos = replace(pos, collateral=pos.collateral + amount)
        self._store_collateral(slot, pos)
        self._update(old, pos)
        self._pull(self.token, sender, self._vault(slot), amount)
        self._emit(CollateralAdded(position_id, amount, pos.collateral))

    @external
    def remove_collateral(self, position_id: int, amount: int, *, sender: str) -> None:
        """The owner takes `amount` back from the vault: at least min collateral must
        stay, and equity at the current price must still meet initial margin. Refused while
        paused and on a stale or non-positive price."""
        self._not_paused()
        slot, pos = self._load_owned(position_id, sender)
        old = pos
        require(amount != 0, "engine: zero amount")
        require(amount < pos.collateral, "engine: amount exceeds collateral")
        pos = replace(pos, collateral=pos.collateral - amount)
        p = self._params(pos.market_id)
        self._min_collateral(pos.collateral, p)
        index = self._accrue(pos.market_id, p.borrow_rate)
        price = self._price(pos.market_id, p.staleness)
        margin = _fee(pos.size, p.initial_margin_bps)
        require(_equity(pos, price, index) >= margin, "engine: margin too low")
        self._store_position(slot, old, pos)
        self._pay_from_vault(self._vault(slot), sender, amount)
        self._emit(CollateralRemoved(position_id, amount, pos.collateral, price))

    @external
    def increase_position(self, trader: str, position_id: int, size_delta: int, collateral_delta: int,
                          acceptable_price: int, requested_at: int, *, sender: str) -> None:
        """Adds `size_delta` to `trader`'s position (the order book's call), with
        `collateral_delta` more collateral. Pays the borrow fee so far and the open fee on the
        delta from collateral, averages the entry price (a long's rounds up, a short's down),
        restarts the borrow index, and takes the market's current `max_profit_bps`. The checks
        of open_position apply to the result (the pool's liquidity only when the reserve grows)."""
        self._only_orders(sender=sender)
        self._not_paused()
        slot, pos = self._load_owned(position_id, trader)
        old = pos
        require(size_delta != 0, "engine: zero size")
        require(size_delta <= MAX_U128, "engine: size too large")
        require(collateral_delta <= MAX_U128, "engine: amount too large")
        market_id = pos.market_id
        p, index, price = self._market_at(market_id, requested_at, acceptable_price, pos.is_long, False)
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
                      # A resize takes the market's parameters now, for the whole position.
                      max_profit_bps=p.max_profit_bps,
                      maintenance_margin_bps=p.maintenance_margin_bps,
                      liquidation_fee_bps=p.liquidation_fee_bps)
        self._min_collateral(pos.collateral, p)
        margin = _fee(pos.size, p.initial_margin_bps)
        require(_equity(pos, price, index) >= margin, "engine: leverage above maximum")
        require(self._side_open_interest(market_id, pos.is_long) + size_delta <= p.oi_cap,
                "engine: open interest cap reached")
        new_reserve = _reserve(pos.size, pos.max_profit_bps)
        reserved = self.total_reserved - old_reserve + new_reserve
        if new_reserve > old_reserve:
            self._check_liquidity(reserved)
        self._store_position(slot, old, pos)
        self.total_reserved = reserved
        self._add_open_interest(market_id, pos.is_long, size_delta, True)
        vault = self._vault(slot)
        if collateral_delta != 0:
            self._pull(self.token, sender, vault, collateral_delta)
        self._pay_from_vault(vault, self.POOL, borrow_fee + open_fee)
        self._emit(PositionIncreased(position_id, size_delta, collateral_delta, pos.size, pos.collateral,
                                     pos.entry_price, index, pos.max_profit_bps, borrow_fee, open_fee, price))

    @external
    def decrease_position(self, trader: str, position_id: int, size_delta: int, acceptable_price: int,
                          requested_at: int, *, sender: str) -> PositionDecreased:
        """Returns the PositionDecreased event it logs: what happened."""
        self._only_orders(sender=sender)
        slot, pos = self._load_owned(position_id, trader)
        old = pos
        require(size_delta != 0, "engine: zero size")
        require(size_delta < pos.size, "engine: decrease covers the whole position, close it")
        market_id = pos.market_id
        p, index, price = self._market_at(market_id, requested_at, acceptable_price, not pos.is_long, False)
        old_reserve = _reserve(pos.size, pos.max_profit_bps)
        new_reserve = _reserve(pos.size - size_delta, pos.max_profit_bps)
        pnl = min(_pnl(pos.is_long, size_delta, pos.entry_price, price), old_reserve - new_reserve)
        borrow_fee = _borrow_fee(pos.size, pos.entry_index, index)
        close_fee = _fee(size_delta, p.close_fee_bps)
        net = pnl - (borrow_fee + close_fee)
        to_trader = to_pool = 0
        if net >= 0:
            to_trader = net
        else:
            to_pool = -net
            require(to_pool < pos.collateral, "engine: loss exceeds collateral, close it")
        # A resize takes the market's margin and fee now (the max profit stays).
        pos = replace(pos, size=pos.size - size_delta, collateral=pos.collateral - to_pool, entry_index=index,
                      maintenance_margin_bps=p.maintenance_margin_bps, liquidation_fee_bps=p.liquidation_fee_bps)
        self._min_collateral(pos.collateral, p)
        maintenance = _fee(pos.size, pos.maintenance_margin_bps)
        require(_equity(pos, price, index) >= maintenance, "engine: position would be liquidatable")
        self._store_position(slot, old, pos)
        self.total_reserved -= old_reserve - new_reserve
        self._add_open_interest(market_id, pos.is_long, size_delta, False)
        # To the order book (the caller), which pays the trader's receiver or holds it.
        self._pay_from_pool(self.token, self.POOL, sender, to_trader)
        self._pay_from_vault(self._vault(slot), self.POOL, to_pool)
        event = PositionDecreased(position_id, size_delta, pos.size, pos.collateral, index, price, pnl, borrow_fee,
                                  close_fee, to_trader, to_pool)
        self._emit(event)
        return event

    @external
    def close_position(self, trader: str, position_id: int, acceptable_price: int, requested_at: int, *,
                       sender: str) -> Settlement:
        """Closes `trader`'s whole position (the order book's call) at a round newer than
        `requested_at`, no worse than `acceptable_price` (a long sells: price >= it).

        Pays `collateral + capped PnL - borrow fee - close fee` to the order book for the
        trader (the pool pays the profit; the book pays the receiver), the rest of the vault
        to the pool; a shortfall is bad debt, covered by the
        insurance fund as far as it goes, the pool absorbing the rest. Works while paused.
        Returns the Settlement (`to_trader + from_pool` is what the book got for the
        trader: the contract's uint256 return; `to_trader` is 0 when the vault was
        frozen, PositionClosed keeping the settlement's)."""
        self._only_orders(sender=sender)
        slot, pos = self._load_owned(position_id, trader)
        p, index, price = self._market_at(pos.market_id, requested_at, acceptable_price, not pos.is_long, True)
        s = _settle(pos, price, index, p.close_fee_bps)
        self._release(slot, pos)
        frozen = not self._pay_exit(position_id, slot, sender, s.to_trader, self.POOL, s.to_pool, ZERO_ADDRESS, 0)
        if frozen:
            # What the frozen vault owed the pool is bad debt, covered as any.
            s = replace(s, bad_debt=s.bad_debt + s.to_pool)
        self._pay_from_pool(self.token, self.POOL, sender, s.from_pool)
        cover = self._cover_bad_debt(self.token, self.INSURANCE, self.POOL, s.bad_debt)
        self._emit(PositionClosed(position_id, price, s.pnl, s.borrow_fee, s.trading_fee, s.to_trader + s.from_pool,
                                  s.to_pool, s.bad_debt, cover))
        # What the book got, the contract's return: a frozen vault paid it nothing.
        return replace(s, to_trader=0) if frozen else s

    @external
    def liquidate(self, position_id: int, *, sender: str) -> PositionLiquidated:
        """Anyone liquidates a position whose equity (collateral + capped PnL - borrow fee)
        is below maintenance margin, at the feed's latest fresh round; works while paused,
        waits while an L2 sequencer is down or in its grace period.

        The caller gets `min(max(liquidation fee, min_liquidation_reward), collateral)` (the
        position's own fee, from its open or last resize), the insurance fund
        `insurance_share_bps` of what equity remains, the pool the rest of the vault; bad debt
        as in close_position. Returns the PositionLiquidated event it logged (as decrease
        returns PositionDecreased): `.price`, `.pnl`, `.borrow_fee`, `.reward`,
        `.insurance_cut`, `.to_pool`, `.bad_debt`, `.insurance_cover`."""
        # The order book runs the sequencer check for the engine (one copy, outside its 24 KiB).
        self.orders.check_sequencer()
        slot, pos = self._load(position_id)
        market_id = pos.market_id
        # Any fresh round, any price: requested at 0, selling at no less than 0.
        p, index, price = self._market_at(market_id, 0, 0, False, True)
        pnl = _capped_pnl(pos, price)
        borrow_fee = _borrow_fee(pos.size, pos.entry_index, index)
        equity = pos.collateral + pnl - borrow_fee
        # The position's own margin and fee, from its last resize.
        maintenance = _fee(pos.size, pos.maintenance_margin_bps)
        require(equity < maintenance, "engine: position is healthy")
        # The floor lifts the bps fee; the cap keeps the reward payable from
        # this vault. A reward above the equity is bad debt (rest < 0).
        reward = min(max(_fee(pos.size, pos.liquidation_fee_bps), p.min_liquidation_reward), pos.collateral)
        rest = equity - reward
        remainder = bad_debt = 0
        if rest > 0:
            remainder = min(rest, pos.collateral - reward)
        else:
            bad_debt = -rest
        insurance_cut = remainder * p.insurance_share_bps // BPS
        to_pool = pos.collateral - reward - insurance_cut
        self._release(slot, pos)
        if not self._pay_exit(position_id, slot, sender, reward, self.INSURANCE, insurance_cut, self.POOL, to_pool):
            # The pool advances the reward; that and the vault's debt to the pool are bad debt.
            bad_debt += to_pool + reward
            self._pay_from_pool(self.token, self.POOL, sender, reward)
        cover = self._cover_bad_debt(self.token, self.INSURANCE, self.POOL, bad_debt)
        event = PositionLiquidated(position_id, sender, price, pnl, borrow_fee, reward, insurance_cut, to_pool,
                                   bad_debt, cover)
        self._emit(event)
        return event

    @external
    def fund_insurance(self, amount: int, *, sender: str) -> None:
        """Anyone adds `amount` to the insurance fund, which covers bad debt before the pool."""
        require(amount != 0, "engine: zero amount")
        self._pull(self.token, sender, self.INSURANCE, amount)
        self._emit(InsuranceFunded(sender, amount))

    # ---------------------------------------------------------------- governance

    @external
    def list_market(self, feed: str, params: MarketParams, *, sender: str) -> int:
        """The owner lists a market on `feed` with `params`, as MarketRules
        accepts them (the feed answers decimals(), the bounds). Returns its
        id, 1 for the first."""
        self._check_owner(sender=sender)
        self.rules.check_listing(feed, params)
        market_id = self._list(feed, params)
        self._emit(MarketListed(market_id, feed, self.env.timestamp))
        self._emit(MarketParamsSet(market_id, params, 0))
        return market_id

    @external
    def set_market_params(self, market_id: int, params: MarketParams, *, sender: str) -> None:
        """New parameters apply from now: fees accrued so far keep the old rate."""
        self._check_owner(sender=sender)
        self._listed(market_id)
        self.rules.check_params(params)
        index = self._accrue(market_id, self._params(market_id).borrow_rate)
        self._store_params(market_id, params)
        self._emit(MarketParamsSet(market_id, params, index))

    @external
    def set_market_feed(self, market_id: int, feed: str, *, sender: str) -> None:
        """The owner moves a listed market to another price feed, as
        MarketRules accepts it: same decimals, an answer within 5% of the old
        feed's."""
        self._check_owner(sender=sender)
        self._listed(market_id)
        self.rules.check_feed_change(self._market_state[market_id].feed, feed)
        self._market_state[market_id] = replace(self._market_state[market_id], feed=feed)
        self._emit(MarketFeedSet(market_id, feed))

    @external
    def set_guardian(self, guardian: str, *, sender: str) -> None:
        """The owner names the guardian, who may pause (only the owner unpauses)."""
        self._check_owner(sender=sender)
        self._set_guardian(guardian)

    @external
    def pause(self, *, sender: str) -> None:
        """The guardian or the owner pauses: opens, increases and collateral removal are
        refused, LP executions wait; closes, decreases, added collateral and liquidations
        stay open."""
        self._pause(self.owner, sender=sender)

    @external
    def unpause(self, *, sender: str) -> None:
        """The owner lifts the pause."""
        self._check_owner(sender=sender)
        self._unpause(sender=sender)

    # ---------------------------------------------------------------- views

    def position(self, position_id: int) -> PositionView:
        """A position's whole state; is_open is False once it is gone."""
        v = self._view(position_id >> GEN_BITS)
        if v.position_id != position_id:
            return EMPTY_VIEW
        return v

    def owner_of(self, position_id: int) -> str:
        """Who owns an open position (the zero address when the id is not open)."""
        return self._owner_of(position_id)

    def slot(self, slot: int) -> PositionView:
        """The position stored in vault slot `slot` (1 to vault_count), open or not."""
        require(slot != 0 and slot <= self.vault_count, "engine: no such slot")
        return self._view(slot)

    def slots(self, first: int, count: int) -> list:
        """Model-only: what Lens.slots(engine, first, count) returns."""
        return slots_of(self, first, count)

    def health(self, position_id: int) -> Health:
        """Model-only: what Lens.health(engine, position_id) returns."""
        return health_of(self, position_id)

    def vaults(self, slot: int) -> str:
        """The vault of a slot that exists (the empty address otherwise)."""
        return self._existing_vault(slot)

    def market_params(self, market_id: int) -> MarketParams:
        """A market's parameters (all zero for a market never listed)."""
        return self._params(market_id)

    def market_state(self, market_id: int) -> MarketState:
        """A market's feed, open interest and stored borrow index."""
        return self._state(market_id)

    def exposure(self, market_id: int, is_long: bool) -> Side:
        """One market side's raw sums, its open interest included."""
        return self._side(market_id, is_long, self._side_open_interest(market_id, is_long))

    def totals(self, pool_shares: Optional[int] = None) -> Totals:
        """Model-only: what Lens.totals(engine) returns. `pool_shares`
        defaults to the pool twin's supply (needs make_pool)."""
        if pool_shares is None:
            pool_shares = self.pool.totalSupply()
        return totals_of(self, pool_shares)

    # ---------------------------------------------------------------- model-only views

    def all_slots(self) -> list:
        """Model-only: every slot's view, from slot 1."""
        return [self._view(slot) for slot in range(1, self.vault_count + 1)]

    def open_position_ids(self) -> list:
        """Model-only: the ids of every open position."""
        return [position_id_of(s, p.generation) for s, p in self.slots_.items() if p.is_open]

    def close_settlement(self, position_id: int, timestamp: Optional[int] = None) -> Settlement:
        """What close_position would settle in a block at `timestamp` (default:
        now), at the feed's last answer even if the engine would refuse it."""
        _, pos = self._load(position_id)
        st = self._market_state[pos.market_id]
        p = self._params(pos.market_id)
        at = self.env.timestamp if timestamp is None else timestamp
        index = index_at(st.borrow_index, st.last_accrual, p.borrow_rate, at)
        return _settle(pos, self.feeds[st.feed].answer, index, p.close_fee_bps)

    def mark_to_market(self, position_id: int, timestamp: Optional[int] = None) -> int:
        """What closing in a block at `timestamp` would pay the trader, at the
        feed's last answer even if stale: the best estimate of where an open
        position stands (harness/drill.py's _mark_to_market)."""
        s = self.close_settlement(position_id, timestamp)
        return s.to_trader + s.from_pool

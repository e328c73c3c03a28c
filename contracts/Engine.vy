# pragma version ~=0.4.3
"""
@title isomargin engine: isolated-margin positions, one vault per position
@custom:contract-name Engine
@notice Every position's collateral sits in its own vault (a minimal proxy
        of Vault.vy that only this engine can move funds out of). Settling
        one position moves tokens out of that position's vault and never
        any other's. The liquidity pool (LiquidityPool.vy) is the traders'
        counterparty; the insurance fund is one more vault.
        The Python twin of every rule here is model/engine.py, function for
        function, with the same integer rounding: always against the trader.
        The rules live in modules (contracts/modules/): risk (pure math),
        positions (slots and vaults), markets (parameters, borrow index,
        oracle), transfers (token movements) and guardian (pause). This
        contract composes them and keeps the external functions and the
        pool-wide total_reserved, which positions and markets both move.
        Every change of a position also goes through exposure._update, so
        the pool (LiquidityPool.vy) can value itself at market: its cash
        less what the sums say traders could claim.
        Trades come only through the order book (OrderBook.vy): a trader
        requests, a keeper executes at a price round published after the
        request, so nobody trades at a price already known to be stale.
"""
from ethereum.ercs import IERC20
from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from modules import risk
from modules import positions
from modules import markets
from modules import transfers
# Aliased: the engine's `exposure` view keeps the spec's name.
from modules import exposure as expo


# @dev The order book runs the L2 sequencer check (modules/sequencer.vy)
# for liquidations too: one copy of it, outside the engine's 24 KiB.
interface IOrderBook:
    def check_sequencer() -> bool: view
# @dev The checks on every governance write of a market (MarketRules.vy,
# which the constructor creates): outside the engine's 24 KiB.
interface IMarketRules:
    def check_listing(feed: address, params: markets.MarketParams) -> bool: view
    def check_params(params: markets.MarketParams) -> bool: view
    def check_feed_change(old_feed: address, new_feed: address) -> bool: view

# Aliased: `guardian` is also the name of the constructor's and
# set_guardian's argument, which the ABI keeps.
from modules import guardian as guard

# The owner lists markets, sets their parameters and the guardian, unpauses.
initializes: ownable
# Two-step ownership transfer on top of `ownable` (it writes `ownable.owner`).
initializes: ownable_2step[ownable := ownable]
# The guardian and the pause flag (snekmate's `pausable`, which `guard`
# initialises itself: see modules/guardian.vy).
initializes: guard
# Position slots, the recycled-vault stack and the open-position count.
initializes: positions
# Market parameters, open interest, borrow indices, feeds.
initializes: markets
# The per-market, per-side sums the pool values itself with.
initializes: expo
# `risk` and `transfers` hold no state: nothing to initialise.

exports: (
    # Ownership: who owns the engine, and the two-step handover.
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    # The getters the engine has always had, now kept by the modules.
    guard.guardian,
    guard.paused,
    positions.open_positions,
    positions.vault_count,
    markets.market_count,
    # The last round a trade took, per market (price | seen << 128): what
    # closes and liquidations settle at once the feed is dead.
    markets.market_last_price,
)


# @dev The pool's side of the reserve check: cash excludes deposits still
# waiting in escrow, which must never back a reserve.
interface Pool:
    def cash() -> uint256: view

event MarketListed:
    market_id: indexed(uint256)
    feed: indexed(address)
    timestamp: uint256

event MarketParamsSet:
    market_id: indexed(uint256)
    params: markets.MarketParams
    borrow_index: uint256

event MarketFeedSet:
    market_id: indexed(uint256)
    feed: indexed(address)

event PositionOpened:
    position_id: indexed(uint256)
    owner: indexed(address)
    market_id: indexed(uint256)
    is_long: bool
    size: uint256
    collateral: uint256
    entry_price: uint256
    entry_index: uint256
    max_profit_bps: uint256
    open_fee: uint256
    vault: address

event CollateralAdded:
    position_id: indexed(uint256)
    amount: uint256
    collateral: uint256

event CollateralRemoved:
    position_id: indexed(uint256)
    amount: uint256
    collateral: uint256
    price: uint256

event PositionIncreased:
    position_id: indexed(uint256)
    size_delta: uint256
    collateral_delta: uint256
    size: uint256
    collateral: uint256
    entry_price: uint256
    entry_index: uint256
    max_profit_bps: uint256
    borrow_fee: uint256
    open_fee: uint256
    price: uint256

event PositionDecreased:
    position_id: indexed(uint256)
    size_delta: uint256
    size: uint256
    collateral: uint256
    entry_index: uint256
    price: uint256
    pnl: int256
    borrow_fee: uint256
    close_fee: uint256
    to_trader: uint256
    to_pool: uint256

event PositionClosed:
    position_id: indexed(uint256)
    price: uint256
    pnl: int256
    borrow_fee: uint256
    close_fee: uint256
    to_trader: uint256
    to_pool: uint256
    bad_debt: uint256
    insurance_cover: uint256

event PositionLiquidated:
    position_id: indexed(uint256)
    liquidator: indexed(address)
    price: uint256
    pnl: int256
    borrow_fee: uint256
    reward: uint256
    insurance_cut: uint256
    to_pool: uint256
    bad_debt: uint256
    insurance_cover: uint256

event InsuranceFunded:
    funder: indexed(address)
    amount: uint256


TOKEN: public(immutable(IERC20))
POOL: public(immutable(address))
INSURANCE: public(immutable(address))
VAULT_IMPLEMENTATION: public(immutable(address))
# The immutables stay here, not in the modules: the audit and the
# deployment checks find them in the engine's code layout by these names.
# The order book: the only caller of the trade functions.
ORDERS: public(immutable(address))
# The market rules: list_market, set_market_params and set_market_feed
# write only what they accept.
RULES: public(immutable(address))
# The L2 sequencer-uptime feed and its grace period are the order book's
# immutables only (OrderBook.SEQUENCER, SEQUENCER_GRACE): it runs the check
# for liquidate too, and two more immutables would cost the engine 64 of
# its EIP-170 bytes.


# @dev Sum of open positions' reserves (capped maximum profit): pool
# assets LPs cannot withdraw. Kept here because opening, resizing and
# closing move it together with both positions' and markets' state.
total_reserved: public(uint256)


# @dev Tokens in vaults an exit found frozen by the token (a blacklisted
# vault): settled in the accounting, left in their vaults, nobody's.
frozen_total: public(uint256)


@deploy
def __init__(
    token: IERC20,
    vault_blueprint: address,
    pool_blueprint: address,
    orders_blueprint: address,
    rules_blueprint: address,
    guardian: address,
    sequencer_feed: address,
    sequencer_grace: uint256,
    execution_fee: uint256,
    redeem_fee_bps: uint256,
):
    """
    @dev Creates the vault implementation (nonce 1), the insurance vault
         (nonce 2), the pool (nonce 3), the order book (nonce 4) and the
         market rules (nonce 5); every
         later CREATE is a position vault, which is what lets _vault
         compute vault addresses.
    @param token The collateral token (exact transfers only).
    @param vault_blueprint EIP-5202 blueprint of Vault.vy.
    @param pool_blueprint EIP-5202 blueprint of LiquidityPool.vy.
    @param orders_blueprint EIP-5202 blueprint of OrderBook.vy.
    @param rules_blueprint EIP-5202 blueprint of MarketRules.vy.
    @param guardian The first guardian.
    @param sequencer_feed Chainlink's L2 sequencer-uptime feed; the empty
           address on an L1 (no check).
    @param sequencer_grace Seconds after an outage during which
           liquidations and order executions still wait.
    @param execution_fee Tokens each order escrows for its keeper.
    @param redeem_fee_bps The pool's redemption fee (at most 100 bps; the pool checks).
    """
    ownable.__init__()
    ownable_2step.__init__()
    positions.__init__()
    TOKEN = token
    impl: address = create_from_blueprint(vault_blueprint, self, token)
    VAULT_IMPLEMENTATION = impl
    INSURANCE = create_minimal_proxy_to(impl)
    POOL = create_from_blueprint(pool_blueprint, token, self, redeem_fee_bps)
    ORDERS = create_from_blueprint(orders_blueprint, token, self, sequencer_feed, sequencer_grace, execution_fee)
    RULES = create_from_blueprint(rules_blueprint)
    # Vault addresses are computed from nonces (see _vault): check the rule.
    assert impl == positions._created_address(1) and RULES == positions._created_address(
        positions.NONCE_BEFORE_VAULTS
    ), "engine: nonce rule"
    guard.__init__(guardian)


# ---------------------------------------------------------------- shared steps

@internal
@view
def _only_orders():
    """
    @dev Trades fill only through the order book, which holds them until a
         price round published after the request exists.
    """
    assert msg.sender == ORDERS, "engine: only the order book"


@internal
def _market_at(
    market_id: uint256, requested_at: uint256, acceptable_price: uint256, buying: bool, is_exit: bool
) -> (markets.MarketParams, uint256, uint256):
    """
    @dev The step every trade takes once its own checks pass: the market's
         parameters, its borrow index accrued to now, and the oracle price,
         in that order (an index overflow outranks a bad price). For an
         order, the price must come from a round
         published after the order was requested (a trader who saw the
         round coming cannot trade at the one before it), and must not be
         worse for the trader than the price they accepted.
    @param market_id The market id.
    @param requested_at When the order was requested.
    @param acceptable_price The worst price the trader accepts.
    @param buying True when the trade buys (opens or grows a long, shrinks
           or closes a short): then the price may not exceed
           acceptable_price; selling, it may not be below it.
    @param is_exit True for a close or a liquidation, which settle at the
           market's last price once its feed has been dead long enough
           (markets._trade_price).
    @return MarketParams The market's parameters.
    @return uint256 The current borrow index.
    @return uint256 The oracle price.
    """
    p: markets.MarketParams = markets._params(market_id)
    index: uint256 = markets._accrue(market_id, p.borrow_rate)
    price: uint256 = markets._trade_price(RULES, market_id, p.staleness, requested_at, is_exit)
    assert price == acceptable_price or (price < acceptable_price) == buying, "engine: price beyond the acceptable price"
    return p, index, price


@internal
@view
def _check_liquidity(reserved: uint256):
    """
    @dev The pool's cash (escrowed deposits aside) must cover every reserve.
    @param reserved The total reserved after the trade.
    """
    assert reserved <= staticcall Pool(POOL).cash(), "engine: pool liquidity too low"


@internal
def _release(slot: uint256, pos: risk.Position):
    """
    @dev Closes a whole position: frees its slot, then removes its open
         interest and its reserve.
    @param slot The position's vault slot.
    @param pos The position as it was open.
    """
    positions._release_slot(slot)
    expo._update(pos, empty(risk.Position))
    markets._add_open_interest(pos.market_id, pos.is_long, pos.size, False)
    self.total_reserved -= risk._reserve(pos.size, pos.max_profit_bps)


@internal
def _pay_exit(position_id: uint256, slot: uint256, a: address, a_amount: uint256, b: address, b_amount: uint256,
              c: address, c_amount: uint256) -> bool:
    """
    @dev Pays an exit out of its vault (a position _release has closed),
         then sweeps to the pool what is left in it (a donation: the
         payments are the whole collateral). A vault the token refuses to
         move from while it lets the insurance vault move (Vault.frozen: a
         blacklisted vault, not a paused token) pays nothing: its tokens
         stay, counted in frozen_total, and its slot is retired; the
         caller counts what it owed the pool as bad debt.
    @param position_id The position.
    @param slot Its vault slot.
    @param a The first recipient.
    @param a_amount What it gets.
    @param b The second recipient.
    @param b_amount What it gets.
    @param c The third recipient.
    @param c_amount What it gets.
    @return bool False when the vault is frozen.
    """
    vault: address = positions._vault(slot)
    paid: bool = False
    left: uint256 = 0
    paid, left = transfers._pay_exit(vault, POOL, INSURANCE, a, a_amount, b, b_amount, c, c_amount)
    if paid:
        if left != 0:
            log transfers.DonationSwept(position_id=position_id, vault=vault, amount=left)
        return True
    self.frozen_total += left
    positions._retire(slot, vault)
    log transfers.VaultFrozen(position_id=position_id, vault=vault, amount=left)
    return False


# ---------------------------------------------------------------- positions

@external
@nonreentrant
def open_position(
    trader: address,
    market_id: uint256,
    is_long: bool,
    size: uint256,
    amount: uint256,
    acceptable_price: uint256,
    requested_at: uint256,
) -> uint256:
    """
    @notice Open a position with `amount` tokens: the open fee goes to the
            pool and the rest becomes the position's collateral in its vault.
            Only the order book calls it, with the tokens it escrowed.
    @param trader Who requested the order and owns the position.
    @param market_id The market.
    @param is_long True for a long, False for a short.
    @param size The notional, in token units.
    @param amount The tokens paid in: open fee plus collateral.
    @param acceptable_price The worst price the trader accepts.
    @param requested_at When the order was requested.
    @return uint256 The new position's id.
    """
    self._only_orders()
    guard._not_paused()
    markets._listed(market_id)
    assert size != 0, "engine: zero size"
    assert size <= risk.MAX_U128, "engine: size too large"
    assert amount <= risk.MAX_U128, "engine: amount too large"
    p: markets.MarketParams = empty(markets.MarketParams)
    index: uint256 = 0
    price: uint256 = 0
    p, index, price = self._market_at(market_id, requested_at, acceptable_price, is_long, False)
    open_fee: uint256 = risk._fee(size, p.open_fee_bps)
    assert amount > open_fee, "engine: amount does not cover the open fee"
    collateral: uint256 = amount - open_fee
    markets._min_collateral(collateral, p)
    assert collateral >= risk._fee(size, p.initial_margin_bps), "engine: leverage above maximum"
    assert markets._side_open_interest(market_id, is_long) + size <= p.oi_cap, "engine: open interest cap reached"
    max_profit_bps: uint256 = p.max_profit_bps
    reserved: uint256 = self.total_reserved + risk._reserve(size, max_profit_bps)
    self._check_liquidity(reserved)

    slot: uint256 = positions._take_slot(VAULT_IMPLEMENTATION, INSURANCE)
    generation: uint256 = (positions.pos_word0[slot] >> positions.GEN_SHIFT) + 1
    assert generation <= positions.GEN_MASK, "engine: slot generations exhausted"
    pos: risk.Position = risk.Position(
        owner=trader,
        market_id=market_id,
        is_long=is_long,
        max_profit_bps=max_profit_bps,
        maintenance_margin_bps=p.maintenance_margin_bps,
        liquidation_fee_bps=p.liquidation_fee_bps,
        generation=generation,
        is_open=True,
        size=size,
        collateral=collateral,
        entry_price=price,
        entry_index=index,
    )
    positions._store(slot, pos)
    expo._update(empty(risk.Position), pos)
    self.total_reserved = reserved
    positions.open_positions += 1
    markets._add_open_interest(market_id, is_long, size, True)

    position_id: uint256 = (slot << positions.GEN_BITS) | generation
    vault: address = positions._vault(slot)
    # msg.sender is the order book, which holds the escrowed tokens.
    transfers._pull(TOKEN, msg.sender, vault, collateral)
    transfers._transfer_from(TOKEN, msg.sender, POOL, open_fee)
    log PositionOpened(
        position_id=position_id,
        owner=trader,
        market_id=market_id,
        is_long=is_long,
        size=size,
        collateral=collateral,
        entry_price=price,
        entry_index=index,
        max_profit_bps=max_profit_bps,
        open_fee=open_fee,
        vault=vault,
    )
    return position_id


@external
@nonreentrant
def add_collateral(position_id: uint256, amount: uint256):
    """
    @notice Add collateral to your position's vault. Works while paused, so
            a trader can always save a position from liquidation.
    @param position_id Your open position.
    @param amount The tokens to add.
    """
    slot: uint256 = 0
    pos: risk.Position = empty(risk.Position)
    slot, pos = positions._load_owned(position_id, msg.sender)
    old: risk.Position = pos
    assert amount != 0, "engine: zero amount"
    # Bounded before any arithmetic, so oversized input gets a reason.
    assert amount <= risk.MAX_U128, "engine: amount too large"
    pos.collateral += amount
    positions._store_collateral(slot, pos)
    expo._update(old, pos)
    transfers._pull(TOKEN, msg.sender, positions._vault(slot), amount)
    log CollateralAdded(position_id=position_id, amount=amount, collateral=pos.collateral)


@external
@nonreentrant
def remove_collateral(position_id: uint256, amount: uint256):
    """
    @notice Withdraw collateral while initial margin still holds.
    @param position_id Your open position.
    @param amount The tokens to withdraw.
    """
    guard._not_paused()
    slot: uint256 = 0
    pos: risk.Position = empty(risk.Position)
    slot, pos = positions._load_owned(position_id, msg.sender)
    old: risk.Position = pos
    assert amount != 0, "engine: zero amount"
    assert amount < pos.collateral, "engine: amount exceeds collateral"
    pos.collateral -= amount
    # Not _market_now: the minimum-collateral check comes before accrual
    # and the oracle here, and its reason must keep winning.
    p: markets.MarketParams = markets._params(pos.market_id)
    markets._min_collateral(pos.collateral, p)
    index: uint256 = markets._accrue(pos.market_id, p.borrow_rate)
    price: uint256 = markets._price(pos.market_id, p.staleness)
    margin: uint256 = risk._fee(pos.size, p.initial_margin_bps)
    assert risk._equity(pos, price, index) >= convert(margin, int256), "engine: margin too low"
    positions._store(slot, pos)
    expo._update(old, pos)
    transfers._pay_from_vault(positions._vault(slot), msg.sender, amount)
    log CollateralRemoved(position_id=position_id, amount=amount, collateral=pos.collateral, price=price)


@external
@nonreentrant
def increase_position(
    trader: address,
    position_id: uint256,
    size_delta: uint256,
    collateral_delta: uint256,
    acceptable_price: uint256,
    requested_at: uint256,
):
    """
    @notice Grow a position at the oracle price, optionally adding collateral.
            The borrow fee so far and the open fee on the added size are paid
            from collateral; initial margin must hold afterwards. The whole
            position takes the market's maintenance margin, liquidation fee
            and max profit now. Only the order book calls it, with the
            tokens it escrowed.
    @param trader Who requested the order: the position's owner.
    @param position_id The trader's open position.
    @param size_delta The notional to add.
    @param collateral_delta The tokens to add to the vault (may be zero).
    @param acceptable_price The worst price the trader accepts.
    @param requested_at When the order was requested.
    """
    self._only_orders()
    guard._not_paused()
    slot: uint256 = 0
    pos: risk.Position = empty(risk.Position)
    slot, pos = positions._load_owned(position_id, trader)
    old: risk.Position = pos
    assert size_delta != 0, "engine: zero size"
    assert size_delta <= risk.MAX_U128, "engine: size too large"
    assert collateral_delta <= risk.MAX_U128, "engine: amount too large"
    market_id: uint256 = pos.market_id
    p: markets.MarketParams = empty(markets.MarketParams)
    index: uint256 = 0
    price: uint256 = 0
    p, index, price = self._market_at(market_id, requested_at, acceptable_price, pos.is_long, False)
    borrow_fee: uint256 = risk._borrow_fee(pos.size, pos.entry_index, index)
    open_fee: uint256 = risk._fee(size_delta, p.open_fee_bps)
    funds: uint256 = pos.collateral + collateral_delta
    assert funds > borrow_fee + open_fee, "engine: collateral does not cover fees"
    old_reserve: uint256 = risk._reserve(pos.size, pos.max_profit_bps)
    pos.entry_price = risk._average_entry(pos.is_long, pos.size, pos.entry_price, size_delta, price)
    pos.size += size_delta
    pos.collateral = funds - borrow_fee - open_fee
    pos.entry_index = index
    # A resize takes the market's parameters now, for the whole position.
    pos.max_profit_bps = p.max_profit_bps
    pos.maintenance_margin_bps = p.maintenance_margin_bps
    pos.liquidation_fee_bps = p.liquidation_fee_bps
    markets._min_collateral(pos.collateral, p)
    margin: uint256 = risk._fee(pos.size, p.initial_margin_bps)
    assert risk._equity(pos, price, index) >= convert(margin, int256), "engine: leverage above maximum"
    assert markets._side_open_interest(market_id, pos.is_long) + size_delta <= p.oi_cap, "engine: open interest cap reached"
    new_reserve: uint256 = risk._reserve(pos.size, pos.max_profit_bps)
    reserved: uint256 = self.total_reserved - old_reserve + new_reserve
    if new_reserve > old_reserve:
        self._check_liquidity(reserved)
    positions._store(slot, pos)
    expo._update(old, pos)
    self.total_reserved = reserved
    markets._add_open_interest(market_id, pos.is_long, size_delta, True)
    vault: address = positions._vault(slot)
    if collateral_delta != 0:
        transfers._pull(TOKEN, msg.sender, vault, collateral_delta)
    transfers._pay_from_vault(vault, POOL, borrow_fee + open_fee)
    log PositionIncreased(
        position_id=position_id,
        size_delta=size_delta,
        collateral_delta=collateral_delta,
        size=pos.size,
        collateral=pos.collateral,
        entry_price=pos.entry_price,
        entry_index=index,
        max_profit_bps=pos.max_profit_bps,
        borrow_fee=borrow_fee,
        open_fee=open_fee,
        price=price,
    )


@external
@nonreentrant
def decrease_position(
    trader: address, position_id: uint256, size_delta: uint256, acceptable_price: uint256, requested_at: uint256
) -> uint256:
    """
    @notice Close part of a position. PnL on the closed part (capped by the
            reserve it releases) less the whole borrow fee so far and the
            close fee is paid to the order book for the trader (the book
            pays the receiver the trader named), or taken from collateral. The
            rest of the position takes the market's maintenance margin and
            liquidation fee now and must not be liquidatable by them. Only
            the order book calls it.
    @param trader Who requested the order: the position's owner.
    @param position_id The trader's open position.
    @param size_delta The notional to close (less than the whole size).
    @param acceptable_price The worst price the trader accepts.
    @param requested_at When the order was requested.
    @return uint256 What was paid to the order book for the trader.
    """
    self._only_orders()
    slot: uint256 = 0
    pos: risk.Position = empty(risk.Position)
    slot, pos = positions._load_owned(position_id, trader)
    old: risk.Position = pos
    assert size_delta != 0, "engine: zero size"
    assert size_delta < pos.size, "engine: decrease covers the whole position, close it"
    market_id: uint256 = pos.market_id
    p: markets.MarketParams = empty(markets.MarketParams)
    index: uint256 = 0
    price: uint256 = 0
    p, index, price = self._market_at(market_id, requested_at, acceptable_price, not pos.is_long, False)
    old_reserve: uint256 = risk._reserve(pos.size, pos.max_profit_bps)
    new_reserve: uint256 = risk._reserve(pos.size - size_delta, pos.max_profit_bps)
    pnl: int256 = min(
        risk._pnl(pos.is_long, size_delta, pos.entry_price, price), convert(old_reserve - new_reserve, int256)
    )
    borrow_fee: uint256 = risk._borrow_fee(pos.size, pos.entry_index, index)
    close_fee: uint256 = risk._fee(size_delta, p.close_fee_bps)
    net: int256 = pnl - convert(borrow_fee + close_fee, int256)
    to_trader: uint256 = 0
    to_pool: uint256 = 0
    if net >= 0:
        to_trader = convert(net, uint256)
    else:
        to_pool = convert(-net, uint256)
        assert to_pool < pos.collateral, "engine: loss exceeds collateral, close it"
    pos.size -= size_delta
    pos.collateral -= to_pool
    pos.entry_index = index
    # A resize takes the market's margin and fee now (the reserve keeps
    # its max profit: the part closed released its share of it).
    pos.maintenance_margin_bps = p.maintenance_margin_bps
    pos.liquidation_fee_bps = p.liquidation_fee_bps
    markets._min_collateral(pos.collateral, p)
    maintenance: uint256 = risk._fee(pos.size, pos.maintenance_margin_bps)
    assert risk._equity(pos, price, index) >= convert(maintenance, int256), "engine: position would be liquidatable"
    positions._store(slot, pos)
    expo._update(old, pos)
    self.total_reserved -= old_reserve - new_reserve
    markets._add_open_interest(market_id, pos.is_long, size_delta, False)
    # To the order book (msg.sender), which pays the trader's receiver or
    # holds the payout when the token refuses it: an exit never reverts
    # for a blacklisted receiver.
    transfers._pay_from_pool(TOKEN, POOL, msg.sender, to_trader)
    transfers._pay_from_vault(positions._vault(slot), POOL, to_pool)
    log PositionDecreased(
        position_id=position_id,
        size_delta=size_delta,
        size=pos.size,
        collateral=pos.collateral,
        entry_index=index,
        price=price,
        pnl=pnl,
        borrow_fee=borrow_fee,
        close_fee=close_fee,
        to_trader=to_trader,
        to_pool=to_pool,
    )
    return to_trader


@external
@nonreentrant
def close_position(trader: address, position_id: uint256, acceptable_price: uint256, requested_at: uint256) -> uint256:
    """
    @notice Close a whole position at the oracle price, paused or not; a
            bankrupt position pays the pool all it holds and the insurance
            fund covers the rest it can. The trader's proceeds go to the
            order book, which pays the receiver the trader named (or holds
            them, when the token refuses). A vault the token refuses to
            move from (blacklisted) still closes: its tokens stay frozen in
            it (VaultFrozen), the pool pays any profit, what the vault owed
            the pool is bad debt. Only the order book calls it.
    @param trader Who requested the order: the position's owner.
    @param position_id The trader's open position.
    @param acceptable_price The worst price the trader accepts.
    @param requested_at When the order was requested.
    @return uint256 What was paid to the order book for the trader.
    """
    self._only_orders()
    slot: uint256 = 0
    pos: risk.Position = empty(risk.Position)
    slot, pos = positions._load_owned(position_id, trader)
    p: markets.MarketParams = empty(markets.MarketParams)
    index: uint256 = 0
    price: uint256 = 0
    p, index, price = self._market_at(pos.market_id, requested_at, acceptable_price, not pos.is_long, True)
    s: risk.Settlement = risk._settle(pos, price, index, p.close_fee_bps)
    self._release(slot, pos)
    paid: uint256 = s.from_pool
    if self._pay_exit(position_id, slot, msg.sender, s.to_trader, POOL, s.to_pool, empty(address), 0):
        paid += s.to_trader
    else:
        # What the frozen vault owed the pool is bad debt, covered as any.
        s.bad_debt += s.to_pool
    transfers._pay_from_pool(TOKEN, POOL, msg.sender, s.from_pool)
    cover: uint256 = transfers._cover_bad_debt(TOKEN, INSURANCE, POOL, s.bad_debt)
    log PositionClosed(
        position_id=position_id,
        price=price,
        pnl=s.pnl,
        borrow_fee=s.borrow_fee,
        close_fee=s.trading_fee,
        to_trader=s.to_trader + s.from_pool,
        to_pool=s.to_pool,
        bad_debt=s.bad_debt,
        insurance_cover=cover,
    )
    return paid


@external
@nonreentrant
def liquidate(position_id: uint256):
    """
    @notice Liquidate a position whose equity is below its own maintenance
            margin (the market's at its open or last resize: a later
            parameter change does not reach it). It is closed whole at the
            oracle price; the caller earns the position's own liquidation
            fee (at least the market's min_liquidation_reward, at most the
            collateral), the insurance fund its share of what
            is left, the pool the rest. Only this position's vault is touched.
            A frozen vault (blacklisted by the token) is liquidated all the
            same: its tokens stay in it (VaultFrozen), the pool advances the
            liquidator's reward, and that and what the vault owed the pool
            are bad debt.
    @dev The reward is paid from the collateral whatever the equity: a
         reward above the equity becomes bad debt (rest < 0), covered as for
         close. reward <= collateral, remainder <= collateral - reward and
         insurance_cut <= remainder, so to_pool >= 0 and the vault pays out
         exactly its collateral. Waits while an L2 sequencer is down and
         for the grace period after: traders could not save their
         positions meanwhile.
    @param position_id Any open position.
    """
    # Reverts with the sequencer's reason; the order book checks with the
    # same feed and grace, which this constructor gave it.
    assert staticcall IOrderBook(ORDERS).check_sequencer()
    slot: uint256 = 0
    pos: risk.Position = empty(risk.Position)
    slot, pos = positions._load(position_id)
    market_id: uint256 = pos.market_id
    p: markets.MarketParams = empty(markets.MarketParams)
    index: uint256 = 0
    price: uint256 = 0
    # No order here: any round fresh enough will do, and any price
    # (requested at 0, selling at no less than 0).
    p, index, price = self._market_at(market_id, 0, 0, False, True)
    pnl: int256 = risk._capped_pnl(pos, price)
    borrow_fee: uint256 = risk._borrow_fee(pos.size, pos.entry_index, index)
    equity: int256 = convert(pos.collateral, int256) + pnl - convert(borrow_fee, int256)
    # The position's own margin and fee, from its last resize: a later
    # parameter change cannot make it liquidatable or raise its cut.
    maintenance: uint256 = risk._fee(pos.size, pos.maintenance_margin_bps)
    assert equity < convert(maintenance, int256), "engine: position is healthy"
    reward: uint256 = min(max(risk._fee(pos.size, pos.liquidation_fee_bps), p.min_liquidation_reward), pos.collateral)
    rest: int256 = equity - convert(reward, int256)
    remainder: uint256 = 0
    bad_debt: uint256 = 0
    if rest > 0:
        remainder = min(convert(rest, uint256), pos.collateral - reward)
    else:
        bad_debt = convert(-rest, uint256)
    insurance_cut: uint256 = remainder * p.insurance_share_bps // risk.BPS
    to_pool: uint256 = pos.collateral - reward - insurance_cut
    self._release(slot, pos)
    if not self._pay_exit(position_id, slot, msg.sender, reward, INSURANCE, insurance_cut, POOL, to_pool):
        # The pool advances the liquidator's reward (no keeper would
        # otherwise end a frozen position, and its reserve stays locked);
        # that and what the vault owed the pool are bad debt, covered as any.
        bad_debt = unsafe_add(bad_debt, unsafe_add(to_pool, reward))   # bad debt < 2**129, the rest <= collateral
        transfers._pay_from_pool(TOKEN, POOL, msg.sender, reward)
    cover: uint256 = transfers._cover_bad_debt(TOKEN, INSURANCE, POOL, bad_debt)
    log PositionLiquidated(
        position_id=position_id,
        liquidator=msg.sender,
        price=price,
        pnl=pnl,
        borrow_fee=borrow_fee,
        reward=reward,
        insurance_cut=insurance_cut,
        to_pool=to_pool,
        bad_debt=bad_debt,
        insurance_cover=cover,
    )


@external
@nonreentrant
def fund_insurance(amount: uint256):
    """
    @notice Anyone may top up the insurance fund.
    @param amount The tokens to add.
    """
    assert amount != 0, "engine: zero amount"
    transfers._pull(TOKEN, msg.sender, INSURANCE, amount)
    log InsuranceFunded(funder=msg.sender, amount=amount)


# ---------------------------------------------------------------- governance

@external
def list_market(feed: address, params: markets.MarketParams) -> uint256:
    """
    @notice List a market (owner only).
    @param feed The market's Chainlink-style price feed (MarketRules:
           answers decimals(), at most 18).
    @param params The market's parameters, within MarketRules' bounds.
    @return uint256 The new market's id.
    """
    ownable._check_owner()
    assert staticcall IMarketRules(RULES).check_listing(feed, params)
    market_id: uint256 = markets._list(feed, params)
    log MarketListed(market_id=market_id, feed=feed, timestamp=block.timestamp)
    log MarketParamsSet(market_id=market_id, params=params, borrow_index=0)
    return market_id


@external
@nonreentrant
def set_market_params(market_id: uint256, params: markets.MarketParams):
    """
    @notice New parameters apply from now: fees accrued so far keep the old
            rate (owner only).
    @param market_id A listed market.
    @param params The new parameters, within the bounds.
    """
    ownable._check_owner()
    markets._listed(market_id)
    assert staticcall IMarketRules(RULES).check_params(params)
    index: uint256 = markets._accrue(market_id, markets._params(market_id).borrow_rate)
    markets._store_params(market_id, params)
    log MarketParamsSet(market_id=market_id, params=params, borrow_index=index)


@external
def set_market_feed(market_id: uint256, feed: address):
    """
    @notice Replace a market's price feed (owner only): MarketRules
            demands the same decimals and an answer within 5% of the old
            feed's.
    @param market_id A listed market.
    @param feed The new feed.
    """
    ownable._check_owner()
    markets._listed(market_id)
    assert staticcall IMarketRules(RULES).check_feed_change(markets.market_feed[market_id], feed)
    markets.market_feed[market_id] = feed
    log MarketFeedSet(market_id=market_id, feed=feed)


@external
def set_guardian(guardian: address):
    """
    @notice Name the guardian, who may pause (owner only).
    @param guardian The new guardian; the empty address leaves only the owner.
    """
    ownable._check_owner()
    guard._set_guardian(guardian)


@external
def pause():
    """
    @notice Stops opening, increasing and collateral removal only (guardian
            or owner).
    """
    guard._pause(ownable.owner)


@external
def unpause():
    """
    @notice Lift the pause (owner only).
    """
    ownable._check_owner()
    guard._unpause()


# ---------------------------------------------------------------- views

@external
@view
def position(position_id: uint256) -> positions.PositionView:
    """
    @notice A position's whole state; is_open is False once it is gone.
    @param position_id The position id.
    @return PositionView The position (all zero if the id is not current).
    """
    v: positions.PositionView = positions._view(position_id >> positions.GEN_BITS)
    if v.position_id != position_id:
        return empty(positions.PositionView)
    return v


@external
@view
def owner_of(position_id: uint256) -> address:
    """
    @notice Who owns an open position (the empty address when the id is not
            open): what the order book asks before it takes a close request.
    @param position_id The position id.
    @return address The owner.
    """
    return positions._owner_of(position_id)


@external
@view
def slot(slot: uint256) -> positions.PositionView:
    """
    @notice A vault slot and its current position, for Lens.slots (which
            pages them: the page loop would cost the engine 360 of its
            EIP-170 bytes).
    @param slot A slot, 1..vault_count.
    @return PositionView The slot's view.
    """
    assert slot != 0 and slot <= positions.vault_count, "engine: no such slot"
    return positions._view(slot)


@external
@view
def vaults(slot: uint256) -> address:
    """
    @notice The vault of a slot that exists (empty address otherwise).
    @param slot The vault slot.
    @return address The slot's vault.
    """
    return positions._existing_vault(slot)


@external
@view
def market_params(market_id: uint256) -> markets.MarketParams:
    """
    @notice A market's parameters (all zero if it is not listed).
    @param market_id The market id.
    @return MarketParams The parameters.
    """
    return markets._params(market_id)


@external
@view
def market_state(market_id: uint256) -> markets.MarketState:
    """
    @notice A market's feed, open interest and stored borrow index.
    @param market_id The market id.
    @return MarketState The market's state.
    """
    return markets._state(market_id)



@external
@view
def exposure(market_id: uint256, is_long: bool) -> expo.Side:
    """
    @notice One market side's raw sums, for keepers and audits.
    @param market_id The market id.
    @param is_long The side: True for longs.
    @return Side Open interest, units, weight, collateral and reserve sums.
    """
    return expo._side(market_id, is_long, markets._side_open_interest(market_id, is_long))
